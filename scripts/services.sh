#!/usr/bin/env bash
# Start (or stop) the project's private PostgreSQL and Redis.
#
#   scripts/services.sh start   install what is missing (Debian, as root), start both, write .local/services.env
#   scripts/services.sh stop    stop exactly what `start` started
#   scripts/services.sh status
#
# When DATABASE_URL (or REDIS_URL) is already set, that service is used as it
# is and nothing is started for it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
PG_DIR="$LOCAL/pg"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
REDIS_DIR="$LOCAL/redis"
PG_PORT="${QIANLINK_PG_PORT:-55432}"
REDIS_PORT="${QIANLINK_REDIS_PORT:-56379}"
ENV_FILE="$LOCAL/services.env"

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

pg_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing: $*. Install them (Debian/Ubuntu: sudo apt-get install $*), or set DATABASE_URL and REDIS_URL to servers you run yourself."
  fi
  say "installing $* from Debian's packages (about a minute) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed; install $* by hand"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

need_packages() {
  local pkgs=()
  if [ -z "${DATABASE_URL:-}" ]; then
    pg_bindir >/dev/null || pkgs+=(postgresql)
  fi
  # libpq is needed to build the project (diesel links it) and pg_dump by the tests.
  if ! { [ -e /usr/include/postgresql/libpq-fe.h ] || pkg-config --exists libpq 2>/dev/null; }; then pkgs+=(libpq-dev); fi
  command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
  if [ -z "${REDIS_URL:-}" ]; then
    command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  fi
  if [ ${#pkgs[@]} -gt 0 ]; then apt_install "${pkgs[@]}"; fi
}

# Run a PostgreSQL tool as the owner of the data folder (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
  local bin; bin="$(pg_bindir)" || die "PostgreSQL server binaries not found (apt-get install postgresql)"
  mkdir -p "$PG_DIR" "$PG_RUN"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "user 'postgres' is missing; reinstall the postgresql package"
    chown postgres:postgres "$PG_DIR" "$PG_RUN"
    # runuser needs to reach the folder through the parents.
    chmod o+x "$ROOT" "$LOCAL" 2>/dev/null || true
  fi
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in .local/pg ..."
    as_pg "$bin/initdb" --no-sync -A trust -U postgres -E UTF8 --locale=C.UTF-8 -D "$PG_DATA" >"$PG_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed (log above)"; }
  fi
  if as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 start \
      -o "-p $PG_PORT -k $PG_RUN -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB" >/dev/null \
      || { tail -n 20 "$PG_DIR/server.log" >&2; die "PostgreSQL did not start (log above; is port $PG_PORT taken? set QIANLINK_PG_PORT)"; }
    say "PostgreSQL started on 127.0.0.1:$PG_PORT (data in .local/pg)"
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='qianlink'" | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE qianlink" >/dev/null
  fi
}

redis_pid() {
  [ -f "$REDIS_DIR/redis.pid" ] || return 1
  local pid; pid="$(cat "$REDIS_DIR/redis.pid")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start_redis() {
  mkdir -p "$REDIS_DIR"
  if redis_pid >/dev/null; then
    say "Redis already running on 127.0.0.1:$REDIS_PORT"
    return
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save '' --appendonly no >/dev/null \
    || die "redis-server did not start (is port $REDIS_PORT taken? set QIANLINK_REDIS_PORT)"
  for _ in $(seq 1 50); do
    redis_pid >/dev/null && break
    sleep 0.1
  done
  redis_pid >/dev/null || die "redis-server did not start; see .local/redis/redis.log"
  say "Redis started on 127.0.0.1:$REDIS_PORT (data in .local/redis)"
}

start() {
  need_packages
  mkdir -p "$LOCAL"
  local db_url redis_url
  if [ -n "${DATABASE_URL:-}" ]; then
    say "DATABASE_URL is set: using it, starting no PostgreSQL"
    db_url="$DATABASE_URL"
  else
    start_pg
    db_url="postgres://postgres@127.0.0.1:$PG_PORT/qianlink"
  fi
  if [ -n "${REDIS_URL:-}" ]; then
    say "REDIS_URL is set: using it, starting no Redis"
    redis_url="$REDIS_URL"
  else
    start_redis
    redis_url="redis://127.0.0.1:$REDIS_PORT"
  fi
  printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$db_url" "$redis_url" >"$ENV_FILE"
}

stop() {
  local bin
  if [ -s "$PG_DATA/PG_VERSION" ] && bin="$(pg_bindir)" && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null && say "PostgreSQL stopped"
  fi
  local pid
  if pid="$(redis_pid)"; then
    kill "$pid" && say "Redis stopped"
    rm -f "$REDIS_DIR/redis.pid"
  fi
}

status() {
  local bin
  if [ -s "$PG_DATA/PG_VERSION" ] && bin="$(pg_bindir)" && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    echo "PostgreSQL: running on 127.0.0.1:$PG_PORT"
  else
    echo "PostgreSQL: not running"
  fi
  if redis_pid >/dev/null; then echo "Redis: running on 127.0.0.1:$REDIS_PORT"; else echo "Redis: not running"; fi
}

# Sourced (scripts/chaos/lib.sh reuses the functions above): define, run nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
  esac
fi
