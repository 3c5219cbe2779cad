#!/usr/bin/env bash
# `make test`: lint, types, the suite on PostgreSQL + Redis + real worker/server processes,
# then the browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: Debian's chromium is missing; install it with: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

trap services_stop EXIT
services_start

export DATABASE_URL="$TEST_DATABASE_URL"
export REDIS_URL="$TEST_REDIS_URL"
export DJANGO_DEBUG=1
export DJANGO_SECRET_KEY="test-only-secret-key-not-for-production-use-0123456789"
export LOG_FORMAT=text
export LOG_LEVEL=WARNING
export MGE_VAR_DIR="$(mktemp -d /tmp/mge-test-var.XXXXXX)"

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== import contracts"
.venv/bin/lint-imports
echo "== mypy"
.venv/bin/mypy .
echo "== pytest"
# The browser plugins stay out of this run (they would parametrise every test).
.venv/bin/python -m pytest tests -p no:playwright -p no:base_url "$@"
echo "== browser tests"
MGE_BROWSER_TESTS=1 DJANGO_ALLOW_ASYNC_UNSAFE=1 .venv/bin/python -m pytest tests/browser "$@"
