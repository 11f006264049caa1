"""`lossdoctor worker [--burst]`: an RQ worker on the `reproductions` queue that trains on CUDA when it can.

Each job runs in a forked work-horse (RQ's default), so a job that hangs past its timeout is killed without
taking the worker down. CUDA is only probed here (`torch.cuda.is_available()` does not initialise it), so
the forked horses can still use it. A worker killed mid-job leaves its job in the StartedJobRegistry; once
the job's heartbeat expires, any worker's maintenance pass retries it (`Retry(max=2)`) or fails it with
`AbandonedJobError`, so a job is never silently lost.
"""

from __future__ import annotations

import logging

from rq import Worker
from rq.serializers import JSONSerializer

from lossdoctor.config import Config
from lossdoctor.jobs import queue as jobs
from lossdoctor.jobs.reproduce import use_device

log = logging.getLogger("lossdoctor.worker")
MAINTENANCE_SECONDS = 60  # how often abandoned jobs are looked for (RQ's default is 10 minutes)


def choose_device(wanted: str) -> str:
    """`auto`: the first GPU when CUDA is usable, else the CPU; `cpu` or `cuda[:n]`: as asked."""
    import torch

    cuda = torch.cuda.is_available()
    log.info("torch %s; CUDA available: %s%s", torch.__version__, cuda,
             f" ({torch.cuda.device_count()} device(s))" if cuda else "")
    if wanted == "auto":
        return "cuda:0" if cuda else "cpu"
    if wanted.startswith("cuda") and not cuda:
        raise RuntimeError(f"worker_device={wanted!r} but CUDA is not available to this process")
    return wanted if wanted != "cuda" else "cuda:0"


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
