"""Settings from environment variables. No module-level instance: each app and test builds its own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Config:
    redis_url: str | None = None  # None -> the embedded in-process cache
    cache_ttl_seconds: int = 7 * 24 * 3600
    cache_max_entries: int = 1024  # embedded cache only
    max_body_bytes: int = 16 * 1024 * 1024  # JSON bodies, after gzip decompression
    max_file_bytes: int = 64 * 1024 * 1024  # uploads to /v1/diagnoses/file (TensorBoard files run large)
    max_text_bytes: int = 2 * 1024 * 1024  # pasted posts and logs to /v1/diagnoses/text
    mlflow_timeout_seconds: float = 10.0
    mlflow_allowed_hosts: str = ""  # comma-separated host[:port] the service may fetch from; empty: any
    max_series_points: int = 1_000_000
    max_series: int = 256
    redis_timeout_seconds: float = 0.5
    job_timeout_seconds: int = 600  # a reproduction job is killed after this (and retried or failed)
    job_result_ttl_seconds: int = 24 * 3600  # how long a finished or failed reproduction is readable
    job_retries: int = 2  # a job whose worker died or timed out is run again this many times
    worker_device: str = "auto"  # `lossdoctor worker`: auto (CUDA when usable), cpu, cuda, cuda:N
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """`REDIS_URL` and `LOSSDOCTOR_<FIELD>` (e.g. LOSSDOCTOR_MAX_BODY_BYTES=1048576)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"LOSSDOCTOR_{f.name.upper()}")
            if f.name == "redis_url":
                raw = env.get("REDIS_URL", raw)
            if raw is None or raw == "":
                continue
            kind = type(getattr(cls(), f.name)) if getattr(cls(), f.name) is not None else str
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"LOSSDOCTOR_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Config:
        return replace(self, **overrides)
