# shellcheck shell=bash
# Shared by the fault scripts in scripts/chaos/ (sourced, not run).
#
# Each scenario runs against its OWN PostgreSQL cluster and Redis, on ports of
# its own (below 32768, out of the range the kernel hands out to outgoing
# connections, so that a restart can always bind them again), with logs and
# Redis's data under .local/chaos-<name>/ and the PostgreSQL cluster where
# `make services` keeps its own (scripts/services.sh): as root in this
# clone's state folder, /var/lib/qianlink/<hash>/chaos-<name>/pg, owned by
# postgres; otherwise in .local/chaos-<name>/pg. The project's services
# (`make services`, 55432 and 56379) are never touched, because the scripts
# kill what they start. Everything started here is recorded and stopped by
# `chaos_cleanup` (installed as the EXIT trap by `chaos_init`).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Finding, installing and running PostgreSQL and Redis as `make services`
# does: pg_bindir, as_pg, need_packages, pg_state_dir, need_port, $STATE.
# shellcheck source=../services.sh
. "$ROOT/scripts/services.sh"
CARGO="${CARGO:-cargo}"
QIANLINK="${CARGO_TARGET_DIR:-$ROOT/target}/release/qianlink"
CHAOS="${CARGO_TARGET_DIR:-$ROOT/target}/release/chaos"

say() { printf '[%s %s] %s\n' "$CHAOS_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Every background process this scenario started: pid -> what it is.
declare -A CHAOS_PIDS=()

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# chaos_init NAME PG_PORT REDIS_PORT: folders, ports, the EXIT trap, the binaries.
chaos_init() {
  CHAOS_NAME="$1"
  CHAOS_PG_PORT="$2"
  CHAOS_REDIS_PORT="$3"
  CHAOS_DIR="$ROOT/.local/chaos-$CHAOS_NAME"
  # $STATE is .local for a user other than root, so this is then $CHAOS_DIR/pg.
  CHAOS_PG_DIR="$STATE/chaos-$CHAOS_NAME/pg"
  CHAOS_PG_DATA="$CHAOS_PG_DIR/data"
  CHAOS_PG_RUN="$CHAOS_PG_DIR/run"
  CHAOS_PG_LOG="$CHAOS_PG_DIR/server.log"
  CHAOS_REDIS_DIR="$CHAOS_DIR/redis"
  CHAOS_DB_URL="postgres://postgres@127.0.0.1:$CHAOS_PG_PORT/qianlink"
  CHAOS_REDIS_URL="redis://127.0.0.1:$CHAOS_REDIS_PORT"
  CHAOS_PREFIX="qianlink:"
  trap chaos_cleanup EXIT
  trap 'exit 130' INT TERM
  # A fresh run every time: the previous run's data and logs go.
  if [ -d "$CHAOS_DIR" ] || [ -d "$CHAOS_PG_DIR" ]; then
    chaos_stop_leftovers
    rm -rf "$CHAOS_DIR" "$CHAOS_PG_DIR"
  fi
  need_port "$CHAOS_PG_PORT" CHAOS_PG_PORT "chaos $CHAOS_NAME PostgreSQL"
  need_port "$CHAOS_REDIS_PORT" CHAOS_REDIS_PORT "chaos $CHAOS_NAME Redis"
  chaos_build
  mkdir -p "$CHAOS_DIR/logs" "$CHAOS_REDIS_DIR"
  pg_state_dir "$CHAOS_PG_DIR"
  mkdir -p "$CHAOS_PG_RUN"
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$CHAOS_PG_RUN"
  say "PostgreSQL cluster in $CHAOS_PG_DIR, logs in ${CHAOS_DIR#"$ROOT"/}"
}

# A previous run that was killed may have left its PostgreSQL running.
# (Also one in .local/chaos-<name>/pg, where clusters were kept as root before.)
chaos_stop_leftovers() {
  local bin data
  for data in "$CHAOS_PG_DATA" "$CHAOS_DIR/pg/data"; do
    if postmaster_port "$data" >/dev/null && bin="$(pg_bindir)"; then
      as_pg "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  if [ -s "$CHAOS_DIR/redis/redis.pid" ]; then
    kill -9 "$(cat "$CHAOS_DIR/redis/redis.pid")" 2>/dev/null || true
  fi
}

chaos_build() {
  # PostgreSQL, Redis and libpq from Debian's packages when missing.
  (unset DATABASE_URL REDIS_URL && need_packages)
  command -v redis-server >/dev/null 2>&1 || die "redis-server is missing"
  pg_bindir >/dev/null || die "PostgreSQL server binaries are missing"
  if [ -z "${CHAOS_SKIP_BUILD:-}" ]; then
    command -v "$CARGO" >/dev/null 2>&1 \
      || die "$CARGO not found: install the Rust toolchain (https://rustup.rs: curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y; then . ~/.cargo/env)"
    say "building qianlink and the chaos tool (release) ..."
    (cd "$ROOT" && $CARGO build --release --quiet -p qianlink -p qianlink-tests --bin qianlink --bin chaos) \
      || die "the build failed"
  fi
  if [ ! -x "$QIANLINK" ] || [ ! -x "$CHAOS" ]; then die "missing $QIANLINK or $CHAOS"; fi
}

chaos_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${!CHAOS_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  for pid in "${!CHAOS_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  local bin
  if [ -s "$CHAOS_PG_DATA/postmaster.pid" ] && bin="$(pg_bindir)"; then
    as_pg "$bin/pg_ctl" -D "$CHAOS_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  redis_stop
  if [ "$rc" != 0 ]; then
    say "FAILED (exit $rc); logs in ${CHAOS_DIR#"$ROOT"/}/logs, PostgreSQL's in $CHAOS_PG_LOG"
  fi
  exit "$rc"
}

# bg NAME LOG CMD...: start a background process and record it.
bg() {
  local what="$1" log="$2"
  shift 2
  "$@" >>"$log" 2>&1 &
  CHAOS_PIDS[$!]="$what"
  LAST_PID=$!
}

forget() { unset "CHAOS_PIDS[$1]"; }

# wait_for SECONDS WHAT CMD...: poll CMD every 100 ms until it succeeds.
wait_for() {
  local secs="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not happen within ${secs} s"
    sleep 0.1
  done
}

# ------------------------------------------------------------- PostgreSQL

pg_start() {
  local bin
  bin="$(pg_bindir)"
  if [ ! -s "$CHAOS_PG_DATA/PG_VERSION" ]; then
    as_pg "$bin/initdb" --no-sync -A trust -U postgres -E UTF8 --locale=C.UTF-8 -D "$CHAOS_PG_DATA" \
      >"$CHAOS_PG_DIR/initdb.log" 2>&1 || die "initdb failed (see $CHAOS_PG_DIR/initdb.log)"
  fi
  as_pg "$bin/pg_ctl" -D "$CHAOS_PG_DATA" -l "$CHAOS_PG_LOG" -w -t 60 start \
    -o "-p $CHAOS_PG_PORT -k $CHAOS_PG_RUN -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null \
    || { tail -n 20 "$CHAOS_PG_LOG" >&2; die "PostgreSQL did not start"; }
  if ! "$bin/psql" -h 127.0.0.1 -p "$CHAOS_PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='qianlink'" | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$CHAOS_PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE qianlink" >/dev/null
  fi
}

# The crash: no shutdown checkpoint, every backend killed at once.
pg_crash() {
  as_pg "$(pg_bindir)/pg_ctl" -D "$CHAOS_PG_DATA" -m immediate -w stop >/dev/null
}

psql_chaos() {
  "$(pg_bindir)/psql" -h 127.0.0.1 -p "$CHAOS_PG_PORT" -U postgres -d qianlink -tAq "$@"
}

# ------------------------------------------------------------------ Redis

# Append-only with an fsync per write: the stream survives the kill -9 of
# the Redis-down scenario (what Redis keeps is the operator's choice; the
# scenario checks that nothing *queued in PostgreSQL* is lost).
redis_start() {
  redis-server --bind 127.0.0.1 --port "$CHAOS_REDIS_PORT" --daemonize yes --dir "$CHAOS_REDIS_DIR" \
    --pidfile "$CHAOS_REDIS_DIR/redis.pid" --logfile "$CHAOS_REDIS_DIR/redis.log" --save '' \
    --appendonly yes --appendfsync always >/dev/null || die "redis-server did not start"
  wait_for 10 "Redis answering on $CHAOS_REDIS_PORT" redis-cli -p "$CHAOS_REDIS_PORT" ping
}

redis_kill() {
  local pid
  pid="$(cat "$CHAOS_REDIS_DIR/redis.pid")"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$CHAOS_REDIS_DIR/redis.pid"
}

redis_stop() {
  if [ -s "${CHAOS_REDIS_DIR:-/nonexistent}/redis.pid" ]; then
    kill "$(cat "$CHAOS_REDIS_DIR/redis.pid")" 2>/dev/null || true
    rm -f "$CHAOS_REDIS_DIR/redis.pid"
  fi
}

# --------------------------------------------------------------- Qianlink

chaos_keys() {
  CHAOS_DATA_KEY="$("$QIANLINK" gen-key)"
  CHAOS_ADMIN_KEY="qk_chaos_admin_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

# serve_start NAME PORT [DATABASE_URL]: `qianlink serve` in the background;
# SERVE_PID[NAME] is its pid. Its search index lives in .local/chaos-*/index-NAME.
declare -A SERVE_PID=()
serve_start() {
  local name="$1" port="$2" db="${3:-$CHAOS_DB_URL}"
  local bot=()
  if [ -n "${CHAOS_TG_URL:-}" ]; then
    bot=(TELOXIDE_TOKEN="$CHAOS_TG_TOKEN" QIANLINK_TELEGRAM_API_URL="$CHAOS_TG_URL")
  fi
  bg "serve $name" "$CHAOS_DIR/logs/serve-$name.log" env -u TELOXIDE_TOKEN -u QIANLINK_TELEGRAM_API_URL "${bot[@]}" \
    DATABASE_URL="$db" REDIS_URL="$CHAOS_REDIS_URL" QIANLINK_BIND="127.0.0.1:$port" \
    QIANLINK_DATA_KEY="$CHAOS_DATA_KEY" QIANLINK_BOOTSTRAP_ADMIN_KEY="$CHAOS_ADMIN_KEY" \
    QIANLINK_INDEX_DIR="$CHAOS_DIR/index-$name" QIANLINK_HTTP_WORKERS=2 QIANLINK_DB_POOL_SIZE=8 \
    QIANLINK_RATE_LIMIT="${CHAOS_RATE_LIMIT:-10000}" QIANLINK_REDIS_PREFIX="$CHAOS_PREFIX" \
    QIANLINK_BOT_RATE=200 \
    QIANLINK_LOG="${QIANLINK_LOG:-info}" "$QIANLINK" serve
  SERVE_PID[$name]=$LAST_PID
}

healthy() { curl -fsS -m 1 "http://127.0.0.1:$1/healthz"; }

# serve_up NAME PORT [DATABASE_URL]: start and wait until it answers; a
# server that exits (PostgreSQL still coming back) is started again.
serve_up() {
  local name="$1" port="$2" db="${3:-$CHAOS_DB_URL}"
  local deadline=$((SECONDS + 90))
  serve_start "$name" "$port" "$db"
  until healthy "$port" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "serve $name did not come up (see logs/serve-$name.log)"
    if ! kill -0 "${SERVE_PID[$name]}" 2>/dev/null; then
      wait "${SERVE_PID[$name]}" 2>/dev/null || true
      forget "${SERVE_PID[$name]}"
      sleep 0.5
      serve_start "$name" "$port" "$db"
    fi
    sleep 0.1
  done
}

serve_kill() {
  local name="$1" pid="${SERVE_PID[$1]}"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# The fake Telegram Bot API (tests/src/fake_telegram.rs) as its own process:
# sets CHAOS_TG_URL and CHAOS_TG_TOKEN for serve_start.
fake_telegram_start() {
  local info="$CHAOS_DIR/telegram.env"
  bg "fake telegram" "$CHAOS_DIR/logs/telegram.log" "$CHAOS" fake-telegram --info "$info"
  wait_for 20 "the fake Telegram server" test -s "$info"
  # shellcheck disable=SC1090
  . "$info"
}

# chaos_start_one PORT WORKERS: private PostgreSQL and Redis, the fake
# Telegram, server "a" on PORT, and the organisations and WORKERS workers
# with bound chats (described in $CHAOS_DIR/world.json).
chaos_start_one() {
  pg_start
  redis_start
  chaos_keys
  fake_telegram_start
  serve_up a "$1"
  "$CHAOS" setup --api "http://127.0.0.1:$1" --admin-key "$CHAOS_ADMIN_KEY" --database-url "$CHAOS_DB_URL" \
    --workers "$2" --out "$CHAOS_DIR/world.json"
}
