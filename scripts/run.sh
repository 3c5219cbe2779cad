#!/usr/bin/env bash
# `make run`: the embedded default. SQLite, the in-memory channel layer, the offline
# interviewer, and a real Celery worker (with beat) over kombu's filesystem transport; Ctrl-C
# stops all.
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export LOG_FORMAT="${LOG_FORMAT:-text}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
PY=.venv/bin/python

$PY manage.py migrate --noinput
seed_output=$($PY manage.py seed_demo)
echo "$seed_output"
password=$(echo "$seed_output" | sed -n 's/^admin password: //p')

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# -B embeds beat, which sends the pipeline's sweep every MGE_SWEEP_SECONDS; its schedule file
# lives in the var folder.
var_dir="${MGE_VAR_DIR:-var}"
mkdir -p "$var_dir"
.venv/bin/celery -A config worker -B -s "$var_dir/celerybeat-schedule" -Q light,llm \
  --concurrency 1 --loglevel INFO --without-gossip --without-mingle &
pids+=($!)
.venv/bin/uvicorn config.asgi:application --host "$HOST" --port "$PORT" --log-level warning &
pids+=($!)

cat <<MSG

  Moral Graph Elicitation is running (embedded default: SQLite, offline interviewer).
    participant:  http://$HOST:$PORT/s/demo/
    researcher:   http://$HOST:$PORT/research/demo/  (the moral graph; log in as admin)
    admin:        http://$HOST:$PORT/admin/  login admin / $password
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
