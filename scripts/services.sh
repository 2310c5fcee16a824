#!/usr/bin/env bash
# Start (or stop) the project's private PostgreSQL and Redis.
#
#   scripts/services.sh start   install what is missing (Debian, as root), start both, write .local/services.env
#   scripts/services.sh stop    stop exactly what `start` started (as recorded in .local/services.state)
#   scripts/services.sh status  say what runs, on which port, and where its data is
#
# Where the data lives: Redis (run as the caller) in .local/redis. PostgreSQL
# refuses to run as root, so as root it runs as the user `postgres`, which
# must be able to enter its data folder; a clone may sit in a folder only its
# owner can enter (mktemp -d, /root/...), and this script never changes the
# modes of the user's folders. So as root the cluster lives in a state folder
# of this clone under /var/lib/qianlink/<first 12 hex digits of the sha256 of
# the clone's path>/pg (QIANLINK_STATE_DIR replaces /var/lib/qianlink): the
# parents mode 755, pg/ mode 700 and owned by postgres; the file `clone` next
# to it names the clone. As any other user it stays in .local/pg.
#
# When DATABASE_URL (or REDIS_URL) is already set, that service is used as it
# is and nothing is started for it. Ports: QIANLINK_PG_PORT (55432) and
# QIANLINK_REDIS_PORT (56379).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LOCAL="$ROOT/.local"
STATE_BASE="${QIANLINK_STATE_DIR:-/var/lib/qianlink}"
if [ "$(id -u)" = 0 ]; then
  STATE="$STATE_BASE/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
else
  STATE="$LOCAL"
fi
PG_DIR="$STATE/pg"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
# Where clusters were kept before the state folder (root included).
LEGACY_PG_DATA="$LOCAL/pg/data"
REDIS_DIR="$LOCAL/redis"
PG_PORT="${QIANLINK_PG_PORT:-55432}"
REDIS_PORT="${QIANLINK_REDIS_PORT:-56379}"
ENV_FILE="$LOCAL/services.env"
# What `start` started, for `stop` and `status`: KEY=value lines.
RECORD="$LOCAL/services.state"

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

pg_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  fi
  # shellcheck disable=SC2012 # the folders are /usr/lib/postgresql/<version>/bin
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
  apt-get update -qq >/dev/null \
    || die "apt-get update failed (output above): fix the apt sources or the network, or install $* by hand, then run this again"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed (output above): install them by hand (apt-get install $*), or set DATABASE_URL and REDIS_URL to servers you run yourself"
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

# Run a PostgreSQL tool as the owner of the data folder (initdb refuses root);
# from /, since postgres may not be able to enter the current folder.
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# pg_state_dir DIR: make DIR a folder the user postgres owns (mode 700) and
# can reach (as root; parents mode 755, `clone` names this clone). As another
# user, a plain folder.
pg_state_dir() {
  local dir="$1"
  if [ "$(id -u)" != 0 ]; then
    mkdir -p "$dir"
    return
  fi
  id postgres >/dev/null 2>&1 || die "user 'postgres' is missing; reinstall the postgresql package (apt-get install --reinstall postgresql)"
  case "$dir" in "$STATE"/*) ;; *) die "internal: $dir is not under $STATE" ;; esac
  mkdir -p "$dir"
  # Every folder from the state base down to DIR's parent: mode 755.
  local d="${dir%/*}"
  while [ "$d" != "$STATE_BASE" ]; do chmod 755 "$d"; d="${d%/*}"; done
  chmod 755 "$STATE_BASE"
  printf '%s\n' "$ROOT" >"$STATE/clone"
  chown postgres:postgres "$dir"
  chmod 700 "$dir"
  runuser -u postgres -- test -w "$dir" \
    || die "the user postgres cannot reach $dir: make its parents mode 755, or set QIANLINK_STATE_DIR to a folder it can reach"
}

# postmaster_port DATA: the port of the cluster running in DATA (from its
# postmaster.pid, which root can read whoever owns it; the pid must be alive
# and run in DATA); fails when none runs.
postmaster_port() {
  local pidfile="$1/postmaster.pid" pid port
  [ -s "$pidfile" ] || return 1
  pid="$(sed -n 1p "$pidfile" 2>/dev/null)"
  port="$(sed -n 4p "$pidfile" 2>/dev/null)"
  [ -n "$pid" ] && [ -n "$port" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f "$1")" ] || return 1
  echo "$port"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_owner PORT: who listens on PORT, from the listening process's folder
# (PostgreSQL and Redis run in their data folders). Sets OWNER (in words,
# e.g. "the PostgreSQL of the clone /x") and OWNER_CLONE (/x, or empty).
port_owner() {
  local port="$1" pid="" cwd="" comm="" dir
  OWNER="another process"
  OWNER_CLONE=""
  if command -v ss >/dev/null 2>&1; then
    # Every process holding the listening socket (a PostgreSQL backend forked
    # for our probe holds it for a moment too): the first still alive.
    for pid in $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -n -u); do
      comm="$(cat "/proc/$pid/comm" 2>/dev/null)" && break
      pid=""
    done
  fi
  if [ -n "$pid" ]; then
    cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || true
    OWNER="$comm (pid $pid${cwd:+, in $cwd})"
  else
    # Without ss (or the right to see the process): a cluster of a state folder.
    for dir in "$STATE_BASE"/*/pg/data "$STATE_BASE"/*/chaos-*/pg/data; do
      if [ "$(postmaster_port "$dir" 2>/dev/null)" = "$port" ]; then cwd="$dir"; break; fi
    done
  fi
  case "$cwd" in
    "$STATE_BASE"/*/chaos-*/pg/data)
      OWNER_CLONE="$(cat "${cwd%/chaos-*}/clone" 2>/dev/null)" || true
      dir="${cwd%/pg/data}"
      OWNER="the PostgreSQL of the chaos scenario ${dir##*/chaos-} of the clone ${OWNER_CLONE:-?}"
      ;;
    "$STATE_BASE"/*/pg/data)
      OWNER_CLONE="$(cat "${cwd%/pg/data}/clone" 2>/dev/null)" || true
      OWNER="the PostgreSQL of the clone ${OWNER_CLONE:-?} (cluster in ${cwd%/data})"
      ;;
    */.local/pg/data)
      OWNER_CLONE="${cwd%/.local/pg/data}"
      OWNER="the PostgreSQL of the clone $OWNER_CLONE"
      ;;
    */.local/redis)
      OWNER_CLONE="${cwd%/.local/redis}"
      OWNER="the Redis of the clone $OWNER_CLONE"
      ;;
    */.local/chaos-*/*)
      OWNER_CLONE="${cwd%/.local/chaos-*}"
      dir="${cwd#"$OWNER_CLONE"/.local/chaos-}"
      OWNER="the chaos scenario ${dir%%/*} of the clone $OWNER_CLONE"
      ;;
  esac
}

# need_port PORT VAR WHAT: stop, with the fix, when PORT is taken.
need_port() {
  local port="$1" var="$2" what="$3"
  port_free "$port" && return 0
  port_owner "$port"
  if [ "$OWNER_CLONE" = "$ROOT" ]; then
    die "port $port is taken by $OWNER (this clone, but not what \`make services\` recorded): stop it, or set $var to a free port"
  elif [ -n "$OWNER_CLONE" ]; then
    die "port $port is taken by $OWNER: run \`make services-stop\` in that clone, or set $var to a free port for this clone's $what"
  else
    die "port $port is taken by $OWNER, not by this clone's $what: set $var to a free port (or stop that process)"
  fi
}

# record KEY VALUE: remember what `start` started, for `stop` and `status`.
record() {
  { grep -v "^$1=" "$RECORD" 2>/dev/null || true; printf '%s=%s\n' "$1" "$2"; } >"$RECORD.tmp"
  mv "$RECORD.tmp" "$RECORD"
}

recorded() {
  [ -f "$RECORD" ] || return 1
  local key val
  while IFS='=' read -r key val; do
    if [ "$key" = "$1" ]; then printf '%s\n' "$val"; return 0; fi
  done <"$RECORD"
  return 1
}

start_pg() {
  local bin port; bin="$(pg_bindir)" || die "PostgreSQL server binaries not found (apt-get install postgresql)"
  # This clone's cluster already running: the recorded one, or (as root) one
  # an older version of this script started in .local/pg.
  local data
  for data in "$(recorded PG_DATA || echo "$PG_DATA")" "$PG_DATA" "$LEGACY_PG_DATA"; do
    if port="$(postmaster_port "$data")"; then
      PG_PORT="$port"
      record PG_DATA "$data"
      say "PostgreSQL already running on 127.0.0.1:$PG_PORT (cluster in ${data%/data})"
      [ "$data" = "$PG_DATA" ] || say "(that cluster is not in $PG_DIR, where a new one would go; \`make services-stop\` stops it)"
      return
    fi
  done
  need_port "$PG_PORT" QIANLINK_PG_PORT PostgreSQL
  if [ "$LEGACY_PG_DATA" != "$PG_DATA" ] && [ -s "$LEGACY_PG_DATA/PG_VERSION" ]; then
    say "note: .local/pg holds a cluster of an older version of this script, no longer used (delete it when you no longer need its data)"
  fi
  pg_state_dir "$PG_DIR"
  mkdir -p "$PG_RUN"
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$PG_RUN"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $PG_DIR ..."
    as_pg "$bin/initdb" --no-sync -A trust -U postgres -E UTF8 --locale=C.UTF-8 -D "$PG_DATA" >"$PG_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed (log above, in $PG_DIR/initdb.log)"; }
  fi
  record PG_DATA "$PG_DATA"
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-p $PG_PORT -k $PG_RUN -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=256MB" >/dev/null \
    || { tail -n 20 "$PG_DIR/server.log" >&2; die "PostgreSQL did not start (log above, in $PG_DIR/server.log; is port $PG_PORT taken? set QIANLINK_PG_PORT)"; }
  say "PostgreSQL started on 127.0.0.1:$PG_PORT (cluster in $PG_DIR)"
  if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='qianlink'" | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE qianlink" >/dev/null
  fi
}

# redis_pid [DIR]: the pid of the Redis whose pid file is in DIR (default this clone's).
redis_pid() {
  local dir="${1:-$REDIS_DIR}"
  [ -f "$dir/redis.pid" ] || return 1
  local pid; pid="$(cat "$dir/redis.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start_redis() {
  if redis_pid >/dev/null; then
    REDIS_PORT="$(recorded REDIS_PORT || echo "$REDIS_PORT")"
    say "Redis already running on 127.0.0.1:$REDIS_PORT (data in $REDIS_DIR)"
    return
  fi
  need_port "$REDIS_PORT" QIANLINK_REDIS_PORT Redis
  mkdir -p "$REDIS_DIR"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save '' --appendonly no >/dev/null \
    || die "redis-server did not start (see $REDIS_DIR/redis.log; is port $REDIS_PORT taken? set QIANLINK_REDIS_PORT)"
  for _ in $(seq 1 50); do
    redis_pid >/dev/null && break
    sleep 0.1
  done
  redis_pid >/dev/null || die "redis-server did not start; see $REDIS_DIR/redis.log"
  record REDIS_DIR "$REDIS_DIR"
  record REDIS_PORT "$REDIS_PORT"
  say "Redis started on 127.0.0.1:$REDIS_PORT (data in $REDIS_DIR)"
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

# The clusters this clone may have started: the recorded one, and the
# default and older places (a clone started before the record existed).
pg_candidates() {
  recorded PG_DATA || true
  echo "$PG_DATA"
  [ "$LEGACY_PG_DATA" = "$PG_DATA" ] || echo "$LEGACY_PG_DATA"
}

stop() {
  local bin data seen=" "
  while IFS= read -r data; do
    case "$seen" in *" $data "*) continue ;; esac
    seen="$seen$data "
    if postmaster_port "$data" >/dev/null; then
      bin="$(pg_bindir)" || die "PostgreSQL binaries not found; cannot stop the cluster in $data"
      as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || die "pg_ctl stop failed for $data"
      say "PostgreSQL stopped (cluster in ${data%/data})"
    fi
  done < <(pg_candidates)
  local pid dir
  dir="$(recorded REDIS_DIR || echo "$REDIS_DIR")"
  if pid="$(redis_pid "$dir")"; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/redis.pid"
    say "Redis stopped"
  fi
}

status() {
  local data port found=""
  while IFS= read -r data; do
    if port="$(postmaster_port "$data")"; then
      echo "PostgreSQL: running on 127.0.0.1:$port (cluster in ${data%/data})"
      found=1
      break
    fi
  done < <(pg_candidates)
  if [ -z "$found" ]; then
    data="$(recorded PG_DATA || echo "$PG_DATA")"
    if [ -s "$data/PG_VERSION" ]; then
      echo "PostgreSQL: not running (cluster in ${data%/data})"
    else
      echo "PostgreSQL: not running (no cluster yet; it would be in $PG_DIR)"
    fi
  fi
  local dir; dir="$(recorded REDIS_DIR || echo "$REDIS_DIR")"
  if redis_pid "$dir" >/dev/null; then
    echo "Redis: running on 127.0.0.1:$(recorded REDIS_PORT || echo "$REDIS_PORT") (data in $dir)"
  else
    echo "Redis: not running"
  fi
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
