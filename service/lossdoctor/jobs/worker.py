"""`lossdoctor worker [--burst]`: an RQ worker on the `reproductions` queue that trains on CUDA when it can.

Each job runs in a forked work-horse (RQ's default), so a job that hangs past its timeout is killed without
taking the worker down. CUDA is probed in a short-lived child process: `torch.cuda.is_available()` would
initialise the CUDA driver here, and a forked horse cannot use CUDA once its parent has. A worker killed
mid-job leaves its job in the StartedJobRegistry; once the job's heartbeat expires, any worker's maintenance
pass (every MAINTENANCE_SECONDS) or the API reading the job retries it (`LOSSDOCTOR_JOB_RETRIES`) or fails it
with `AbandonedJobError`, so a job is never silently lost.
"""

from __future__ import annotations

import logging
import subprocess
import sys

from rq import Worker
from rq.serializers import JSONSerializer

from lossdoctor.config import Config
from lossdoctor.jobs import queue as jobs
from lossdoctor.jobs.reproduce import use_device

log = logging.getLogger("lossdoctor.worker")
MAINTENANCE_SECONDS = 60  # how often abandoned jobs are looked for (RQ's default is 10 minutes)


PROBE = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"


def cuda_devices() -> int:
    """How many CUDA devices this process could use, found without touching CUDA in this process (a CPU
    build of torch has none; a CUDA build is asked in a child process, so forked horses stay usable)."""
    import torch

    if not torch.backends.cuda.is_built():  # type: ignore[no-untyped-call]
        return 0
    try:
        probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the CUDA probe failed (%s): training on the CPU", exc)
        return 0
    if probe.returncode != 0:
        log.warning("the CUDA probe failed: %s", probe.stderr.strip()[-500:])
        return 0
    return int(probe.stdout.strip() or 0)


def choose_device(wanted: str) -> str:
    """`auto`: the first GPU when CUDA is usable, else the CPU; `cpu` or `cuda[:n]`: as asked."""
    import torch

    if wanted != "cpu" and not (wanted == "auto" or wanted == "cuda" or wanted.removeprefix("cuda:").isdigit()):
        raise RuntimeError(f"worker_device={wanted!r}: use auto, cpu, cuda or cuda:N")
    devices = 0 if wanted == "cpu" else cuda_devices()
    log.info("torch %s; CUDA devices: %d", torch.__version__, devices)
    if wanted == "auto":
        return "cuda:0" if devices else "cpu"
    if wanted.startswith("cuda"):
        index = int(wanted.removeprefix("cuda").removeprefix(":") or 0)
        if index >= devices:
            raise RuntimeError(f"worker_device={wanted!r} but this process sees {devices} CUDA device(s)")
        return f"cuda:{index}"
    return "cpu"


def main(burst: bool = False) -> int:
    """Run the worker until stopped (or, with `burst`, until the queue is empty). The exit status."""
    config = Config.from_env()
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not config.redis_url:
        log.error("the worker needs the service's Redis: set REDIS_URL")
        return 2
    try:
        device = choose_device(config.worker_device)
    except RuntimeError as exc:
        log.error("%s", exc)
        return 2
    use_device(device)
    log.info("reproductions will train on %s", device)
    connection = jobs.connect(config.redis_url, max(config.redis_timeout_seconds, 5.0))
    worker = Worker(
        [jobs.reproductions_queue(connection)], connection=connection, serializer=JSONSerializer,
        maintenance_interval=MAINTENANCE_SECONDS,
        default_result_ttl=config.job_result_ttl_seconds,
    )
    worker.work(burst=burst, logging_level=config.log_level)
    return 0
