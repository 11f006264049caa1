"""POST/GET /v1/reproductions, web side: what is enqueued (JSON, on the `reproductions` queue), which scenario
a request or a stored diagnosis chooses, and every bad request answered with a problem that says what to fix.
No worker runs here (tests/jobs/test_worker.py trains the jobs): a job stays `queued`."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue
from rq.serializers import JSONSerializer

from lossdoctor.app import create_app
from lossdoctor.config import Config
from lossdoctor.jobs import queue as jobs
from lossdoctor.jobs.reproduce import MAX_EPOCHS
from lossdoctor.jobs.scenarios.catalog import CATALOG
from tests.conftest import DATA


def _post(client: FlaskClient, body: Any) -> Any:
    return client.post("/v1/reproductions", data=json.dumps(body), content_type="application/json")


def _accepted(client: FlaskClient, body: Any) -> dict[str, Any]:
    r = _post(client, body)
    assert r.status_code == 202, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/json"
    answer: dict[str, Any] = r.get_json()
    assert r.headers["Location"] == f"/v1/reproductions/{answer['id']}" == answer["links"]["self"]
    assert answer["status"] == "queued"
    return answer


def _problem(r: Any, status: int, hint: str) -> dict[str, Any]:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/problem+json"
    problem: dict[str, Any] = r.get_json()
    assert problem["status"] == status and hint in problem["detail"], problem
    return problem


def test_an_explicit_pathology_is_queued_as_json_on_the_reproductions_queue(
        client: FlaskClient, redis_client: redis.Redis) -> None:
    answer = _accepted(client, {"pathology": "overfitting", "model": "cnn", "epochs": 12, "seed": 3,
                                "learning_rate": 0.01, "batch_size": 16, "optimizer": "adamw"})
    assert (answer["scenario"], answer["pathology"]) == ("overfit_cnn_small_data", "overfitting")
    assert answer["knobs"] == {"optimizer": "adamw", "learning_rate": 0.01, "batch_size": 16, "epochs": 12, "seed": 3}
    assert redis_client.lrange("rq:queue:reproductions", 0, -1) == [answer["id"].encode()]
    stored = redis_client.hgetall(f"rq:job:{answer['id']}")
    func, _instance, args, kwargs = json.loads(zlib.decompress(stored[b"data"]))  # JSON, never pickle
    assert func == jobs.JOB_FUNCTION and kwargs == {}
    assert args == [{"scenario": "overfit_cnn_small_data", "knobs": answer["knobs"]}]
    assert int(stored[b"timeout"]) == Config().job_timeout_seconds and int(stored[b"retries_left"]) == 2

    r = client.get(answer["links"]["self"])
    assert r.status_code == 200 and r.mimetype == "application/json"
    job = r.get_json()
    assert {k: job[k] for k in ("id", "status", "scenario", "knobs", "device", "retries_left")} == {
        "id": answer["id"], "status": "queued", "scenario": "overfit_cnn_small_data", "knobs": answer["knobs"],
        "device": None, "retries_left": 2}
    assert job["enqueued_at"] and job["started_at"] is None and "runs" not in job and "verdict" not in job


def test_a_named_scenario_and_a_shorter_wall_time_are_accepted(client: FlaskClient,
                                                                redis_client: redis.Redis) -> None:
    answer = _accepted(client, {"scenario": "bn_lstm_momentum_one", "timeout_seconds": 30})
    assert answer["pathology"] == "val_spike" and answer["knobs"] == {}
    assert int(redis_client.hget(f"rq:job:{answer['id']}", "timeout") or 0) == 30


def test_every_catalogued_pathology_can_be_asked_for(client: FlaskClient) -> None:
    for pathology in jobs.pathologies():
        assert _accepted(client, {"pathology": pathology})["pathology"] == pathology


BAD_REQUESTS: list[tuple[Any, int, str]] = [
    ({"pathology": "cancer"}, 422, "no catalogued scenario for pathology 'cancer'"),
    ({"pathology": "overfitting", "model": "resnet"}, 422, "unknown model 'resnet'"),
    ({"pathology": "val_spike", "model": "transformer"}, 422, "models for it"),
    ({"scenario": "rm_rf"}, 422, "no catalogued scenario 'rm_rf'"),
    ({"pathology": "overfitting", "epochs": 0}, 422, "epochs"),
    ({"pathology": "overfitting", "epochs": 10**6}, 422, f"less than or equal to {MAX_EPOCHS}"),
    ({"pathology": "overfitting", "learning_rate": -1}, 422, "learning_rate"),
    ({"pathology": "overfitting", "learning_rate": "NaN"}, 422, "learning_rate"),
    ({"pathology": "overfitting", "batch_size": 10**9}, 422, "batch_size"),
    ({"pathology": "overfitting", "seed": -1}, 422, "seed"),
    ({"pathology": "overfitting", "optimizer": "lbfgs"}, 422, "optimizer"),
    ({"pathology": "overfitting", "timeout_seconds": 10**6}, 422, "timeout_seconds must be at most 600"),
    ({"pathology": "overfitting", "timeout_seconds": 0}, 422, "timeout_seconds"),
    ({"pathology": "overfitting", "code": "import os; os.system('id')"}, 422, "Extra inputs are not permitted"),
    ({"pathology": "overfitting", "hidden": 10**6}, 422, "the fields a reproduction accepts are"),
    ({"pathology": "overfitting", "diagnosis_id": "abc"}, 422, "exactly one of"),
    ({"scenario": "lr_zero", "pathology": "plateau"}, 422, "exactly one of"),
    ({}, 422, "exactly one of"),
    ({"epochs": 5}, 422, "got none"),
    ({"scenario": "lr_zero", "model": "mlp"}, 422, '"model" goes with "pathology"'),
    ({"diagnosis_id": "0123456789abcdef"}, 422, "no diagnosis '0123456789abcdef'"),
    ({"diagnosis_id": "../../etc"}, 422, "diagnosis_id"),
    ([1, 2], 422, "body"),
    ("overfitting", 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "hint"), BAD_REQUESTS)
def test_bad_requests_get_a_problem_that_says_what_to_fix_and_enqueue_nothing(
        client: FlaskClient, redis_client: redis.Redis, body: Any, status: int, hint: str) -> None:
    _problem(_post(client, body), status, hint)
    assert redis_client.llen("rq:queue:reproductions") == 0


def test_a_corpus_only_scenario_is_never_trained_as_a_reproducer(client: FlaskClient) -> None:
    corpus_only = [s for s in CATALOG.values() if not s.reproducer]
    assert corpus_only  # the catalog keeps scenarios whose fault does not show on every seed, for the corpus
    for scenario in corpus_only:
        _problem(_post(client, {"scenario": scenario.name}), 422, "not offered as a reproducer")
        assert jobs.scenario_for(scenario.pathology).reproducer
        assert scenario.name not in [s.name for s in jobs.epoch_scenarios()]


def test_unknown_pathology_problem_lists_what_exists(client: FlaskClient) -> None:
    problem = _problem(_post(client, {"pathology": "cancer"}), 422, "known")
    assert "overfitting" in problem["pathologies"] and problem["models"] == ["mlp", "cnn", "lstm", "transformer"]


def test_unreadable_and_oversized_bodies(client: FlaskClient) -> None:
    _problem(client.post("/v1/reproductions", data=b"{", content_type="application/json"), 400, "malformed JSON")
    _problem(client.post("/v1/reproductions", data=b"", content_type="application/json"), 400, "empty")
    big = json.dumps({"pathology": "overfitting", "pad": "x" * 100_000})
    _problem(client.post("/v1/reproductions", data=big, content_type="application/json"), 413, "limit")


def test_unknown_job_ids_are_404_problems(client: FlaskClient, redis_client: redis.Redis) -> None:
    _problem(client.get("/v1/reproductions/0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f"), 404, "no reproduction")
    _problem(client.get("/v1/reproductions/not_an_id;DROP"), 404, "no reproduction")
    _problem(client.get("/v1/reproductions/" + "a" * 65), 404, "no reproduction")
    _problem(client.get("/v1/reproductions/%C3%80"), 404, "no reproduction")  # a letter RQ refuses as an id
    # a job of another queue is not a reproduction
    other = Queue("default", connection=redis_client, serializer=JSONSerializer)
    foreign = other.enqueue("lossdoctor.jobs.reproduce.run_reproduction", {"scenario": "lr_zero"})
    _problem(client.get(f"/v1/reproductions/{foreign.id}"), 404, "no reproduction")


def test_a_stored_diagnosis_chooses_the_scenario_of_its_finding(client: FlaskClient) -> None:
    payload = json.loads((DATA / "payloads" / "003_overfitting.json").read_text())
    diagnosis = client.post("/v1/diagnoses", json=payload).get_json()
    assert [f["code"] for f in diagnosis["findings"]] == ["overfitting"]
    answer = _accepted(client, {"diagnosis_id": diagnosis["id"], "seed": 1, "epochs": 20})
    assert answer["pathology"] == "overfitting" and answer["scenario"] == jobs.scenario_for("overfitting").name
    assert answer["knobs"] == {"seed": 1, "epochs": 20}


def test_a_pasted_post_whose_code_has_the_bug_chooses_the_scenario_with_that_bug(client: FlaskClient) -> None:
    """000: an LSTM whose last output goes through BatchNorm1d; the code finding names the scenario."""
    text = next((DATA / "examples").glob("000_*.txt")).read_bytes()
    diagnosis = client.post("/v1/diagnoses/text", data=text, content_type="text/plain").get_json()
    assert diagnosis["findings"][0]["code"] == "val_spike"
    assert "batchnorm_after_recurrent" in {c["rule"] for c in diagnosis["code_findings"]}
    answer = _accepted(client, {"diagnosis_id": diagnosis["id"]})
    assert answer["scenario"] == jobs.RULE_SCENARIOS["batchnorm_after_recurrent"]
    assert answer["pathology"] == "val_spike"


def test_a_diagnosis_without_a_reproducible_finding_says_so(client: FlaskClient) -> None:
    healthy = {"metrics": {"loss": [2.3, 1.2, 0.8, 0.6, 0.5, 0.45, 0.42, 0.4],
                           "val_loss": [2.3, 1.3, 0.9, 0.7, 0.6, 0.55, 0.52, 0.5]}}
    diagnosis = client.post("/v1/diagnoses", json=healthy).get_json()
    assert diagnosis["findings"] == []
    _problem(_post(client, {"diagnosis_id": diagnosis["id"]}), 422, "no finding")


def test_scenario_from_diagnosis_prefers_a_reproducible_finding_and_the_model_the_code_shows() -> None:
    document = {"findings": [{"code": "overconfidence"}, {"code": "overfitting"}],
                "code_findings": [{"rule": "lstm_dropout_single_layer"}]}
    assert jobs.scenario_from_diagnosis(document).name == "overfit_lstm_small_data"
    assert jobs.scenario_from_diagnosis({"findings": [{"code": "plateau"}]}).name == "lr_too_low_adam"
    # where the catalog's first scenario of a pathology is not reproduced on every seed, a reliable one is chosen
    assert jobs.scenario_for("val_spike").name == jobs.scenario_for("val_spike", "lstm").name == jobs.PREFERRED[
        "val_spike"] == "bn_after_lstm_last_output"
    assert jobs.scenario_for("val_spike", "mlp").name == "bn_mlp_tiny_last_batch"
    assert jobs.scenario_for("oscillation").name == "cyclic_lr_too_high_blobs"
    with pytest.raises(jobs.Unreproducible, match="overconfidence"):
        jobs.scenario_from_diagnosis({"findings": [{"code": "overconfidence"}]})


def test_the_optimizer_in_the_diagnosed_runs_meta_chooses_among_a_pathologys_scenarios() -> None:
    def chosen(optimizer: object) -> str:
        return jobs.scenario_from_diagnosis({"findings": [{"code": "loss_spike"}]}, {"optimizer": optimizer}).name

    assert chosen("torch.optim.SGD") == chosen("sgd") == "corrupt_shard_sgd"
    assert chosen("Adam") == chosen("lion") == chosen(3) == "corrupt_shard_adam"  # no sgd: the usual choice
    plateau: dict[str, Any] = {"findings": [{"code": "plateau"}]}
    assert jobs.scenario_from_diagnosis(plateau, {"optimizer": "SGD"}).name == "lr_too_low_sgd"
    # the model family the code shows still comes first: there is no SGD LSTM plateau, so the LSTM one is chosen
    plateau["code_findings"] = [{"rule": "hidden_state_not_detached"}]
    assert jobs.scenario_from_diagnosis(plateau, {"optimizer": "SGD"}).name == "lr_too_low_lstm"


def test_a_stored_diagnosis_with_meta_is_reproduced_with_its_optimizer(client: FlaskClient) -> None:
    loss = [2.3, 1.2, 0.8, 0.6, 0.5, 0.45, 0.42, 0.4, 3.9, 0.41, 0.39, 0.37, 0.36, 0.35, 0.34]
    run = {"metrics": {"loss": loss}, "meta": {"optimizer": "SGD", "num_classes": 10}}
    diagnosis = client.post("/v1/diagnoses", json=run).get_json()
    assert "loss_spike" in [f["code"] for f in diagnosis["findings"]]
    assert _accepted(client, {"diagnosis_id": diagnosis["id"]})["scenario"] == "corrupt_shard_sgd"


def test_without_redis_reproductions_answer_503(embedded_client: FlaskClient) -> None:
    _problem(_post(embedded_client, {"pathology": "overfitting"}), 503, "REDIS_URL")
    _problem(embedded_client.get("/v1/reproductions/0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f"), 503, "REDIS_URL")


def test_an_unreachable_redis_answers_503_not_500(redis_client: redis.Redis) -> None:
    app = create_app(Config(redis_url="redis://127.0.0.1:1/0", redis_timeout_seconds=0.2))
    client = app.test_client()
    _problem(_post(client, {"pathology": "plateau"}), 503, "cannot be reached")
    _problem(client.get("/v1/reproductions/0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f"), 503, "cannot be reached")


def test_the_api_side_never_imports_torch() -> None:
    code = ("import sys\nfrom lossdoctor.app import create_app\nfrom lossdoctor.config import Config\n"
            "import lossdoctor.api.reproductions, lossdoctor.jobs.queue, lossdoctor.jobs.reproduce\n"
            "create_app(Config())\nprint('torch' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]
