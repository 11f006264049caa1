"""`lossdoctor worker` as a real process on the real Redis: it trains queued reproductions (tiny CPU scenarios),
the API reads back their runs and verdicts, nothing in Redis is pickled, refused specs fail with a reason, and
a job whose work horse or whole worker is killed is retried and finally failed, never silently lost."""

from __future__ import annotations

import base64
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from rq import Retry
from rq.registry import StartedJobRegistry

from lossdoctor.app import create_app
from lossdoctor.config import Config
from lossdoctor.jobs import queue as jobs
from lossdoctor.jobs.scenarios import METRICS

pytestmark = pytest.mark.slow
WORKER = [sys.executable, "-m", "lossdoctor.cli", "worker"]


@pytest.fixture
def worker_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "LOSSDOCTOR_WORKER_DEVICE": "cpu", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _app(redis_url: str, **settings: Any) -> Flask:
    return create_app(Config(redis_url=redis_url, **settings))


def burst(env: dict[str, str], log: Path) -> None:
    """Run `lossdoctor worker --burst` to the end: it drains the queue, then exits 0."""
    with log.open("ab") as out:
        done = subprocess.run([*WORKER, "--burst"], env=env, stdout=out, stderr=subprocess.STDOUT, timeout=240)
    assert done.returncode == 0, log.read_text()[-3000:]


def _get(client: FlaskClient, job_id: str) -> dict[str, Any]:
    r = client.get(f"/v1/reproductions/{job_id}")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    document: dict[str, Any] = r.get_json()
    return document


def _post(client: FlaskClient, body: dict[str, Any]) -> str:
    r = client.post("/v1/reproductions", json=body)
    assert r.status_code == 202, r.get_data(as_text=True)[:500]
    job_id: str = r.get_json()["id"]
    return job_id


def _not_pickle(raw: bytes, where: str) -> None:
    """Neither the value nor what RQ wraps in it (zlib, base64) is a pickle (protocol 2+ starts with 0x80)."""
    candidates = [raw]
    for unwrap in (zlib.decompress, base64.b64decode, lambda b: zlib.decompress(base64.b64decode(b))):
        try:
            candidates.append(unwrap(raw))
        except Exception:  # noqa: S112 - not wrapped that way
            continue
    for value in candidates:
        assert not value.startswith(b"\x80"), f"{where} holds a pickle"
        with pytest.raises(Exception):  # noqa: B017 - any unpickling error will do
            pickle.loads(value)  # noqa: S301 - proving it is NOT a pickle


def assert_no_pickle_anywhere(r: redis.Redis) -> int:
    """Every value of every key RQ wrote; returns how many values were checked."""
    checked = 0
    for key in r.scan_iter("*"):
        kind = r.type(key).decode()
        values: list[bytes] = []
        if kind == "hash":
            values = list(r.hgetall(key).values())
        elif kind == "string":
            values = [r.get(key) or b""]
        elif kind == "list":
            values = r.lrange(key, 0, -1)
        elif kind == "set":
            values = list(r.smembers(key))
        elif kind == "zset":
            values = r.zrange(key, 0, -1)
        elif kind == "stream":
            values = [v for _id, fields in r.xrange(key) for v in fields.values()]
        for value in values:
            _not_pickle(value, key.decode())
            checked += 1
    return checked


def test_a_worker_trains_queued_reproductions_and_refuses_what_is_not_catalogued(
        redis_url: str, redis_client: redis.Redis, worker_env: dict[str, str], tmp_path: Path) -> None:
    client = _app(redis_url).test_client()
    good = _post(client, {"pathology": "plateau", "epochs": 6, "seed": 1})
    too_slow = _post(_app(redis_url, job_retries=0).test_client(), {"scenario": "bn_lstm_momentum_one",
                                                                     "timeout_seconds": 1})
    queue = jobs.reproductions_queue(redis_client)
    refused = {  # what a tampered queue could hold: the worker validates every spec itself
        queue.enqueue(jobs.JOB_FUNCTION, spec, retry=Retry(max=2)).id: hint for spec, hint in [
            ({"scenario": "nope", "knobs": {}}, "unknown scenario 'nope'"),
            ({"scenario": "lr_too_low_adam", "knobs": {"epochs": 10**6}}, "knob epochs"),
            ({"scenario": "lr_too_low_adam", "knobs": {"code": "import os"}}, "knob code"),
            ({"scenario": "lr_too_low_adam", "code": "import os"}, "unknown spec keys ['code']"),
        ]}
    assert _get(client, good)["status"] == "queued"

    started = time.monotonic()
    burst(worker_env, tmp_path / "worker.log")
    wall = time.monotonic() - started

    job = _get(client, good)
    assert job["status"] == "finished", job
    assert job["device"] == "cpu" and job["scenario"] == "lr_too_low_adam" and job["pathology"] == "plateau"
    assert job["started_at"] and job["ended_at"] and "error" not in job
    assert [run["name"] for run in job["runs"]] == ["baseline", "sane_lr"]
    for run in job["runs"]:
        assert run["config"]["epochs"] == 6 and run["config"]["seed"] == 1 and run["x_axis"] == "epoch"
        assert set(run["curves"]) == set(METRICS)
        assert all(curve["steps"] == [1, 2, 3, 4, 5, 6] for curve in run["curves"].values())
        assert all({"code", "severity", "onset", "summary", "evidence"} <= set(f) for f in run["findings"])
    baseline, fixed = job["runs"]
    assert baseline["config"]["learning_rate"] == 1e-6 and fixed["config"]["learning_rate"] == 1e-3
    assert "plateau" in [f["code"] for f in baseline["findings"]] and baseline["shows_pathology"]
    assert "plateau" not in [f["code"] for f in fixed["findings"]] and not fixed["shows_pathology"]
    assert job["verdict"] == {"pathology": "plateau", "reproduced": True, "fixed_by": ["sane_lr"],
                              "not_fixed_by": []}
    assert 0 < job["seconds"] < wall

    for job_id, hint in refused.items():
        failed = _get(client, job_id)
        assert failed["status"] == "failed" and "RefusedSpec" in failed["error"] and hint in failed["error"], failed
        assert "runs" not in failed and failed["retries_left"] == 0
        assert len(queue.fetch_job(job_id).results()) == 1  # refused once, not retried  # type: ignore[union-attr]

    timed_out = _get(client, too_slow)  # the wall-time bound: the horse is killed, the job fails and says why
    assert timed_out["status"] == "failed" and "JobTimeoutException" in timed_out["error"], timed_out
    assert "1 seconds" in timed_out["error"] and timed_out["device"] == "cpu"

    assert assert_no_pickle_anywhere(redis_client) > 20
    stored = redis_client.hgetall(f"rq:job:{good}")
    assert json.loads(zlib.decompress(stored[b"data"]))[2] == [{"scenario": "lr_too_low_adam",
                                                                   "knobs": {"epochs": 6, "seed": 1}}]
    assert json.loads(stored[b"meta"]) == {"device": "cpu"}
    [(_id, result)] = redis_client.xrange(f"rq:results:{good}")
    assert json.loads(base64.b64decode(result[b"return_value"]))["verdict"]["reproduced"] is True


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start long-running workers; whatever is still alive at the end is killed (our own processes only)."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker{len(started)}.log").open("ab") as log:  # the child keeps its own descriptor
            started.append(subprocess.Popen(WORKER, env=worker_env, stdout=log, stderr=subprocess.STDOUT))
        return started[-1]

    yield start
    for process in started:
        for pid in [*_children(process.pid), process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)


def _wait(client: FlaskClient, job_id: str, ok: Callable[[dict[str, Any]], bool], seconds: float = 120
          ) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job = _get(client, job_id)
        if ok(job):
            return job
        assert time.monotonic() < deadline, f"gave up waiting; last: {job}"
        time.sleep(0.2)


def _horse(worker: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 30
    while not (horses := _children(worker.pid)):
        assert time.monotonic() < deadline, "the worker forked no work horse"
        time.sleep(0.1)
    return horses[0]


def _heartbeat_expires(r: redis.Redis) -> None:
    """Fast-forward: RQ gives a started job a heartbeat of at least 60 s; make the lost worker's run overdue."""
    key = StartedJobRegistry(jobs.QUEUE_NAME, connection=r).key
    for member in r.zrange(key, 0, -1):
        r.zadd(key, {member: time.time() - 1})


def test_a_job_whose_worker_dies_is_retried_then_failed_never_lost(
        redis_url: str, redis_client: redis.Redis, workers: Callable[[], subprocess.Popen[bytes]],
        worker_env: dict[str, str], tmp_path: Path) -> None:
    client = _app(redis_url, job_retries=2).test_client()
    job_id = _post(client, {"scenario": "bn_lstm_momentum_one"})  # LSTM, 3 x 25 epochs: long enough to kill
    worker = workers()
    first = _wait(client, job_id, lambda j: j["status"] == "started" and j["device"] is not None)
    assert first["retries_left"] == 2 and first["device"] == "cpu"

    # 1. the work horse dies (OOM killer, segfault): the worker sees it, retries the job and runs it again
    os.kill(_horse(worker), signal.SIGKILL)
    again = _wait(client, job_id, lambda j: j["retries_left"] == 1 and j["status"] == "started")
    assert worker.poll() is None

    # 2. the whole worker dies with its horse: the job stays `started` until its heartbeat expires, then the
    #    maintenance pass (run here by the API when it reads a started job) retries it
    horse = _horse(worker)
    os.kill(worker.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    worker.wait(timeout=30)
    assert _get(client, job_id)["status"] == "started"
    _heartbeat_expires(redis_client)
    retried = _get(client, job_id)
    assert (retried["status"], retried["retries_left"]) == ("queued", 0), retried
    assert redis_client.lrange("rq:queue:reproductions", 0, -1) == [job_id.encode()]

    # 3. no retry left: a new worker takes it, dies; a fresh worker's maintenance pass fails the job
    worker = workers()
    _wait(client, job_id, lambda j: j["status"] == "started")
    horse = _horse(worker)
    os.kill(worker.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    worker.wait(timeout=30)
    _heartbeat_expires(redis_client)
    burst(worker_env, tmp_path / "reaper.log")
    failed = _get(client, job_id)
    assert failed["status"] == "failed" and failed["error"] == jobs.ABANDONED, failed
    assert "runs" not in failed and again["started_at"]
    assert job_id.encode() in redis_client.zrange("rq:failed:reproductions", 0, -1)
