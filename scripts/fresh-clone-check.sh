#!/usr/bin/env bash
# A fresh clone works wherever it is (`make fresh-clone-check`; CI runs it
# after `make test` and `make fuzz`).
#
# Clones the committed HEAD of this checkout into a new `mktemp -d` folder
# (mode 700, checked; the clone itself made mode 700 too), which the user
# postgres cannot enter: the case of a clone under /root, in a private
# temporary folder or made with umask 077. There:
#
#   1. `make services` on free ports (QIANLINK_PG_PORT, QIANLINK_REDIS_PORT);
#   2. `qianlink migrate`, with the debug binary of THIS checkout (built here
#      if it is not up to date; nothing is built in the clone);
#   3. `qianlink serve` for a moment: the bootstrap admin key creates an
#      organisation, and reads it back;
#   4. `make services-stop`, then checks that the clone's PostgreSQL and
#      Redis are gone, and that this checkout's own services (`make
#      services`, if they run) are exactly as they were.
#
# Exits non-zero with a message naming the step on any failure; removes the
# clone, its state folder (/var/lib/qianlink/<hash>, as root) and anything it
# started on exit.
#
# Settings: FRESH_CLONE_PARENT (where the mktemp folder goes; default $TMPDIR
# or /tmp; e.g. /root), FRESH_PG_PORT, FRESH_REDIS_PORT, FRESH_API_PORT
# (default: the first free from 25462, 26399 and 18095: below the kernel's
# ephemeral range, 32768-60999, where an outgoing connection of another
# process can hold a port that nothing listens on; a CI run failed so).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CARGO="${CARGO:-cargo}"
PARENT="${FRESH_CLONE_PARENT:-${TMPDIR:-/tmp}}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/qianlink"
STARTED=$SECONDS

say() { printf 'fresh-clone: %s\n' "$*" >&2; }
die() { printf 'fresh-clone: FAILED: %s\n' "$*" >&2; exit 1; }

# Nobody listens on the port (a connection is refused).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The port can be bound now (no listener and no other socket on it).
port_bindable() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$1" 2>/dev/null
}
free_port() {
  local p="$1"
  while ! port_bindable "$p"; do p=$((p + 1)); done
  echo "$p"
}
# The pid listening on PORT ("-" when none), to compare before and after: of
# the processes holding the socket, those whose parent does not (a backend
# PostgreSQL forks holds it for a moment).
listeners() {
  local pids pid ppid out=""
  pids=" $(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -n -u | tr '\n' ' ')" || true
  for pid in $pids; do
    ppid="$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)" || continue
    case "$pids" in *" $ppid "*) ;; *) out="$out$pid " ;; esac
  done
  echo "${out:--}"
}

command -v git >/dev/null || die "git is missing (apt-get install git)"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
command -v python3 >/dev/null || die "python3 is missing (apt-get install python3)"

# ---------------------------------------------------------------- the binary
if command -v "$CARGO" >/dev/null 2>&1; then
  say "the debug binary of this checkout (a no-op after \`make test\`/\`make fuzz\`) ..."
  (cd "$ROOT" && $CARGO build -q -p qianlink) || die "cargo build -p qianlink failed in $ROOT"
fi
[ -x "$BIN" ] || die "$BIN is missing and $CARGO is not on PATH: install the Rust toolchain (https://rustup.rs), or run \`make test\` first"

# ------------------------------------------- this checkout's services, before
main_ports=()
if [ -s "$ROOT/.local/services.env" ]; then
  # shellcheck disable=SC1091
  main_env="$(. "$ROOT/.local/services.env" && printf '%s %s' "$DATABASE_URL" "$REDIS_URL")"
  for url in $main_env; do
    hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
    case "$hostport" in 127.0.0.1:* | localhost:*) main_ports+=("${hostport##*:}") ;; esac
  done
fi
main_before="$("$ROOT/scripts/services.sh" status 2>&1)"
for p in "${main_ports[@]}"; do main_before+=$'\n'"port $p: $(listeners "$p")"; done

# ------------------------------------------------------------------ the clone
HEAD_SHA="$(git -C "$ROOT" rev-parse HEAD)"
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  say "note: this checkout has uncommitted changes; the clone tests the committed HEAD ${HEAD_SHA:0:9}"
fi
[ -d "$PARENT" ] || die "FRESH_CLONE_PARENT=$PARENT is not a folder"
DIR="$(mktemp -d -p "$PARENT" qianlink-fresh.XXXXXX)"
CLONE="$DIR/qianlink"
SERVER=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  local state=""
  if [ -f "$CLONE/.local/services.state" ]; then
    state="$(sed -n 's/^PG_DATA=//p' "$CLONE/.local/services.state")"
    state="${state%/pg/data}"
  fi
  if [ -x "$CLONE/scripts/services.sh" ]; then
    env -u DATABASE_URL -u REDIS_URL "$CLONE/scripts/services.sh" stop >/dev/null 2>&1 || true
  fi
  # The clone's state folder (as root), only if it names this clone.
  if [ -n "$state" ] && [ "$state" != "$CLONE/.local" ] && [ "$(cat "$state/clone" 2>/dev/null)" = "$CLONE" ]; then
    rm -rf "$state"
  fi
  rm -rf "$DIR"
  if [ "$rc" = 0 ]; then
    say "OK in $((SECONDS - STARTED)) s"
  else
    say "FAILED (exit $rc) after $((SECONDS - STARTED)) s"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mode="$(stat -c %a "$DIR")"
[ "$mode" = 700 ] || die "mktemp -d made $DIR mode $mode, not 700: the check would prove nothing"
say "cloning ${HEAD_SHA:0:9} into $DIR (mode 700)"
git -c init.defaultBranch=main -c advice.detachedHead=false clone -q --no-hardlinks "$ROOT" "$CLONE" \
  || die "git clone $ROOT failed"
git -C "$CLONE" -c advice.detachedHead=false checkout -q --detach "$HEAD_SHA" || die "the clone has no commit $HEAD_SHA"
# The clone itself private too (as with umask 077): postgres can enter
# neither, and nothing below may change these modes.
chmod 700 "$CLONE"
modes_before="$(stat -c '%a %U %n' "$DIR" "$CLONE")"

PG_PORT="${FRESH_PG_PORT:-$(free_port 25462)}"
REDIS_PORT="${FRESH_REDIS_PORT:-$(free_port 26399)}"
API_PORT="${FRESH_API_PORT:-$(free_port 18095)}"
for p in "$PG_PORT" "$REDIS_PORT" "$API_PORT"; do port_bindable "$p" || die "port $p is taken (set FRESH_*_PORT)"; done

# ------------------------------------------------------------ 1. make services
say "make services in the clone (PostgreSQL on $PG_PORT, Redis on $REDIS_PORT)"
env -u DATABASE_URL -u REDIS_URL QIANLINK_PG_PORT="$PG_PORT" QIANLINK_REDIS_PORT="$REDIS_PORT" \
  make -s -C "$CLONE" services || die "make services failed in the clone"
modes_after="$(stat -c '%a %U %n' "$DIR" "$CLONE")"
[ "$modes_before" = "$modes_after" ] || die "make services changed folder modes: before [$modes_before], after [$modes_after]"
[ -s "$CLONE/.local/services.env" ] || die "make services wrote no .local/services.env"
[ -s "$CLONE/.local/services.state" ] || die "make services wrote no .local/services.state"
PG_DATA="$(sed -n 's/^PG_DATA=//p' "$CLONE/.local/services.state")"
[ -n "$PG_DATA" ] || die ".local/services.state names no PostgreSQL cluster"
if [ "$(id -u)" = 0 ]; then
  case "$PG_DATA" in
    "$CLONE"/*) die "as root the cluster must not be inside the clone (postgres cannot reach it), but it is in $PG_DATA" ;;
  esac
  owner="$(stat -c '%U %a' "${PG_DATA%/data}")"
  [ "$owner" = "postgres 700" ] || die "${PG_DATA%/data} is '$owner', not 'postgres 700'"
fi
say "the clone's cluster is in ${PG_DATA%/data}"
grep -q "127.0.0.1:$PG_PORT/" "$CLONE/.local/services.env" || die "services.env does not name PostgreSQL on $PG_PORT"
grep -q "127.0.0.1:$REDIS_PORT" "$CLONE/.local/services.env" || die "services.env does not name Redis on $REDIS_PORT"
clone_pg_pids="$(listeners "$PG_PORT")"
clone_redis_pids="$(listeners "$REDIS_PORT")"

# ---------------------------------------------------------------- 2. migrate
set -a
# shellcheck disable=SC1091
. "$CLONE/.local/services.env"
set +a
say "qianlink migrate"
(cd "$CLONE" && "$BIN" migrate >"$DIR/migrate.log" 2>&1) || { cat "$DIR/migrate.log" >&2; die "qianlink migrate failed (output above)"; }

# ------------------------------------------------------- 3. serve, one call
ADMIN="qk_fresh_admin_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
API="http://127.0.0.1:$API_PORT"
say "qianlink serve on $API"
DATA_KEY="$("$BIN" gen-key)" || die "qianlink gen-key failed"
(cd "$CLONE" && exec env -u TELOXIDE_TOKEN -u QIANLINK_TELEGRAM_API_URL QIANLINK_DATA_KEY="$DATA_KEY" \
  QIANLINK_BOOTSTRAP_ADMIN_KEY="$ADMIN" QIANLINK_BIND="127.0.0.1:$API_PORT" QIANLINK_INDEX_DIR="$CLONE/.local/index" \
  QIANLINK_REDIS_PREFIX="fresh:" QIANLINK_HTTP_WORKERS=1 QIANLINK_DB_POOL_SIZE=4 QIANLINK_LOG=warn \
  "$BIN" serve) >"$DIR/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 150); do
  curl -fsS -m 1 "$API/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$DIR/serve.log" >&2; die "qianlink serve exited (log above)"; }
  sleep 0.2
done
curl -fsS -m 2 "$API/readyz" >/dev/null || { cat "$DIR/serve.log" >&2; die "qianlink serve is not ready after 30 s (log above)"; }
NAME="新克隆检查电子厂 $$"
body="$(python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "kind": "employer"}))' "$NAME")"
created="$(curl -sS -m 10 -w '\n%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "$body" "$API/v1/organizations")" || die "POST /v1/organizations did not answer"
[ "${created##*$'\n'}" = 201 ] || die "POST /v1/organizations answered ${created##*$'\n'}: ${created%$'\n'*}"
ORG="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "${created%$'\n'*}")" \
  || die "POST /v1/organizations gave no id: ${created%$'\n'*}"
read_back="$(curl -fsS -m 10 -H "Authorization: Bearer $ADMIN" "$API/v1/organizations/$ORG")" \
  || die "GET /v1/organizations/$ORG failed"
python3 -c '
import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if (o["id"], o["name"], o["kind"]) == (sys.argv[2], sys.argv[3], "employer") else 1)
' "$read_back" "$ORG" "$NAME" || die "GET /v1/organizations/$ORG gave back something else: $read_back"
say "organisation $ORG created and read back"
kill "$SERVER" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
SERVER=""

# --------------------------------------------------- 4. make services-stop
say "make services-stop in the clone"
env -u DATABASE_URL -u REDIS_URL make -s -C "$CLONE" services-stop || die "make services-stop failed in the clone"
for _ in $(seq 1 50); do
  port_free "$PG_PORT" && port_free "$REDIS_PORT" && break
  sleep 0.1
done
port_free "$PG_PORT" || die "the clone's PostgreSQL still listens on $PG_PORT after make services-stop (pids $(listeners "$PG_PORT"))"
port_free "$REDIS_PORT" || die "the clone's Redis still listens on $REDIS_PORT after make services-stop (pids $(listeners "$REDIS_PORT"))"
for pid in $clone_pg_pids $clone_redis_pids; do
  [ "$pid" = - ] && continue
  if kill -0 "$pid" 2>/dev/null; then die "process $pid of the clone's services is still alive after make services-stop"; fi
done
[ ! -s "$PG_DATA/postmaster.pid" ] || die "$PG_DATA/postmaster.pid is still there after make services-stop"
status="$(env -u DATABASE_URL -u REDIS_URL "$CLONE/scripts/services.sh" status)"
case "$status" in
  *"PostgreSQL: not running"*"Redis: not running"*) ;;
  *) die "services.sh status in the clone after stop says: $status" ;;
esac

main_after="$("$ROOT/scripts/services.sh" status 2>&1)"
for p in "${main_ports[@]}"; do main_after+=$'\n'"port $p: $(listeners "$p")"; done
[ "$main_before" = "$main_after" ] || die "this checkout's services changed: before [$main_before], after [$main_after]"
say "the clone's PostgreSQL and Redis are stopped; this checkout's services are as they were: $(echo "$main_after" | tr '\n' ';')"
