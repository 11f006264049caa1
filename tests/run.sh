#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Python 3.11: venv, dependencies, a real Redis,
# then ruff, mypy and pytest. Starts a Redis only when none answers on 127.0.0.1:6379, and stops only that.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${LOSSDOCTOR_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; "$PYTHON" -m venv "$VENV"; }
fi
started_redis=""
piplog=$(mktemp)
cleanup() {
  rm -f "$piplog"
  if [ -n "$started_redis" ] && [ -f "$started_redis" ]; then
    echo "tests/run.sh: stopping the redis-server it started (pid $(cat "$started_redis"))"
    kill "$(cat "$started_redis")" || true
  fi
}
trap cleanup EXIT

# torch first and pinned in the same command: anything torch-dependent would otherwise pull a CUDA build.
"$VENV/bin/pip" install -q --disable-pip-version-check -e '.[dev,worker,tensorboard,mlflow-server,integrations,browser]' \
  >"$piplog" 2>&1 || { grep -v "is ignored" "$piplog"; echo "tests/run.sh: pip install failed" >&2; exit 1; }

# The web page is tested in a real headless Chromium: Debian's, since Playwright's own download cannot work here.
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

redis_up() { "$VENV/bin/python" -c "import redis,sys; redis.Redis(port=int(sys.argv[1]), socket_connect_timeout=1).ping()" "$1" 2>/dev/null; }
usual_port="${LOSSDOCTOR_REDIS_PORT:-6379}"  # where a machine's own Redis answers, if it has one
if redis_up "$usual_port"; then
  export LOSSDOCTOR_TEST_REDIS_URL="${LOSSDOCTOR_TEST_REDIS_URL:-redis://127.0.0.1:$usual_port/9}"
else
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
  port=$("$VENV/bin/python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  piddir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$piddir/redis.pid" --dir "$piddir" --logfile "$piddir/redis.log"
  started_redis="$piddir/redis.pid"
  for _ in $(seq 50); do redis_up "$port" && break; sleep 0.1; done
  export LOSSDOCTOR_TEST_REDIS_URL="redis://127.0.0.1:$port/9"
fi

export HF_HUB_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true KERAS_BACKEND=torch
"$VENV/bin/ruff" check service tests bench
"$VENV/bin/mypy"
"$VENV/bin/pytest" "$@"
