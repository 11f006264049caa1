"""Gunicorn, embedded: `lossdoctor serve` runs the production server, not Flask's development one."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from lossdoctor.app import create_app
from lossdoctor.config import Config

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app()


def serve(host: str, port: int, workers: int) -> None:
    """Without Redis each worker process would hold its own cache, so GET /v1/diagnoses/<id> could miss:
    then one process serves, with threads."""
    threads = 1
    if not Config.from_env().redis_url and workers > 1:
        log.warning("REDIS_URL is not set: serving with 1 worker x %d threads so the embedded cache is shared",
                    workers * 2)
        workers, threads = 1, workers * 2
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": "-", "timeout": 60}
    _Gunicorn(options).run()
