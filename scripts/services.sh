#!/usr/bin/env bash
# Source this file: it makes sure a PostgreSQL and a Redis answer, and exports
# TEST_DATABASE_URL and TEST_REDIS_URL. It uses the servers it finds on the usual ports and
# starts private ones under a temporary directory when none answer (stopped by
# `services_stop`, which the caller traps on exit).

MGE_SERVICES_DIR=""
MGE_STARTED_PG=""
MGE_STARTED_REDIS=""

_pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$found" ]; then echo "$found"; else dirname "$(command -v initdb 2>/dev/null || echo /usr/bin/initdb)"; fi
}

_wait_for() {  # _wait_for SECONDS COMMAND...: poll until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

_pg_answers() {  # host port
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2"
  else
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
  fi
}

services_start() {
  MGE_SERVICES_DIR=$(mktemp -d /tmp/mge-services.XXXXXX)
  chmod 755 "$MGE_SERVICES_DIR"

  local pg_host=${PGHOST_TEST:-127.0.0.1} pg_port=${PGPORT_TEST:-5432}
  if _pg_answers "$pg_host" "$pg_port"; then
    echo "services: using the PostgreSQL on $pg_host:$pg_port"
  else
    pg_port=55432
    local bin run_as=()
    bin=$(_pg_bin)
    if [ ! -x "$bin/initdb" ]; then
      echo "services: no PostgreSQL answers and none is installed (apt-get install postgresql)" >&2
      return 1
    fi
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$MGE_SERVICES_DIR"
      run_as=("$(command -v runuser || echo /usr/sbin/runuser)" -u postgres --)
    fi
    echo "services: starting a private PostgreSQL on $pg_host:$pg_port"
    "${run_as[@]}" "$bin/initdb" -D "$MGE_SERVICES_DIR/pg" -U postgres -A trust >/dev/null
    "${run_as[@]}" "$bin/pg_ctl" -D "$MGE_SERVICES_DIR/pg" -l "$MGE_SERVICES_DIR/pg.log" -w \
      -o "-p $pg_port -k $MGE_SERVICES_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    MGE_STARTED_PG=1
  fi

  local redis_port=${REDIS_PORT_TEST:-6379}
  if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
    echo "services: using the Redis on 127.0.0.1:$redis_port"
  else
    redis_port=56379
    if ! command -v redis-server >/dev/null 2>&1; then
      echo "services: no Redis answers and none is installed (apt-get install redis-server)" >&2
      return 1
    fi
    echo "services: starting a private Redis on 127.0.0.1:$redis_port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" \
      --appendonly no --dir "$MGE_SERVICES_DIR" --pidfile "$MGE_SERVICES_DIR/redis.pid" \
      --logfile "$MGE_SERVICES_DIR/redis.log"
    _wait_for 20 redis-cli -p "$redis_port" ping || { echo "services: Redis did not start" >&2; return 1; }
    MGE_STARTED_REDIS=1
  fi

  export TEST_DATABASE_URL="postgres://postgres@$pg_host:$pg_port/${MGE_TEST_DB:-mge}"
  export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/${MGE_TEST_REDIS_DB:-15}"
}

services_stop() {
  if [ -n "$MGE_STARTED_PG" ]; then
    local run_as=()
    [ "$(id -u)" = 0 ] && run_as=("$(command -v runuser || echo /usr/sbin/runuser)" -u postgres --)
    "${run_as[@]}" "$(_pg_bin)/pg_ctl" -D "$MGE_SERVICES_DIR/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  if [ -n "$MGE_STARTED_REDIS" ] && [ -f "$MGE_SERVICES_DIR/redis.pid" ]; then
    kill "$(cat "$MGE_SERVICES_DIR/redis.pid")" 2>/dev/null || true
  fi
  [ -n "$MGE_SERVICES_DIR" ] && rm -rf "$MGE_SERVICES_DIR"
  return 0
}
