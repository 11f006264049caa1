# LossDoctor API image: Flask under gunicorn, no torch (the GPU worker gets its own image).
# Build from the repository root:  docker build -t lossdoctor-api .

# ---- build: install the project and its dependencies into a virtual environment ----
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
# service/lossdoctor/openapi.yaml is a symlink to ../../openapi.yaml: copy its target to the same relative
# place, so the wheel setuptools builds (it follows the link) ships the contract as lossdoctor/openapi.yaml.
COPY openapi.yaml ./
COPY service/ ./service/
RUN pip install --no-cache-dir . \
    && python -c "from importlib import resources; assert 'openapi: 3.1' in resources.files('lossdoctor').joinpath('openapi.yaml').read_text()"

# ---- runtime: the virtual environment only, run as an unprivileged user ----
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 lossdoctor \
    && useradd --system --uid 10001 --gid lossdoctor --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin lossdoctor

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# slim has no curl: probe with the standard library (urlopen raises on any non-2xx answer).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

# Settings come from the environment: REDIS_URL (shared result store; without it each worker process keeps
# its own cache, so GET /v1/diagnoses/<id> can miss) and LOSSDOCTOR_* (see lossdoctor/config.py).
ENTRYPOINT ["gunicorn"]
CMD ["--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "60", "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", "lossdoctor.app:create_app()"]
