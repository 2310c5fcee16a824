#!/usr/bin/env bash
# Fuzz the API with schemathesis against its own /openapi.json (issue #11).
#
#   scripts/fuzz.sh          (or `make fuzz`)
#
# Installs the pinned schemathesis into .local/fuzz-venv when missing, builds
# the debug binary, starts it on a scratch database with its own Redis prefix
# and port, creates an admin key and an employer's key, seeds a few records
# (scripts/fuzz_seed.py) and runs every operation twice: once with each key.
# Checks: all of schemathesis's (no 5xx, status codes, content types, headers
# and bodies as the spec declares them, schema-invalid data refused,
# schema-valid data accepted, 405 for other methods; see
# scripts/schemathesis.toml). Exits non-zero on any failure.
#
# Time: the whole script, build included, stops by FUZZ_DEADLINE seconds
# (default 570; `make fuzz` kills it at 600): each key's run gets at most half
# of what is left after the build, and a run cut short fails.
#
# Settings: FUZZ_EXAMPLES (cases per operation and phase, default 40),
# FUZZ_SEED (default 11; `random` for a new one), FUZZ_DEADLINE,
# FUZZ_PORT (18090), FUZZ_DB (qianlink_fuzz).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXAMPLES="${FUZZ_EXAMPLES:-40}"
SEED="${FUZZ_SEED:-11}"
DEADLINE="${FUZZ_DEADLINE:-570}"
PORT="${FUZZ_PORT:-18090}"
DB="${FUZZ_DB:-qianlink_fuzz}"
VENV="$ROOT/.local/fuzz-venv"
WORK="$ROOT/.local/fuzz"
CARGO="${CARGO:-cargo}"
STARTED=$(date +%s)

say() { printf 'fuzz: %s\n' "$*" >&2; }
die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 1; }
command -v "$CARGO" >/dev/null 2>&1 \
  || die "$CARGO not found: install the Rust toolchain with rustup (curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y)"

# schemathesis and its dependencies, pinned in scripts/fuzz-requirements.txt.
if ! cmp -s scripts/fuzz-requirements.txt "$VENV/requirements.txt" 2>/dev/null; then
  say "installing schemathesis into $VENV ..."
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then die "python3 -m venv failed: install python3-venv"; fi
    { apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null; } \
      || die "apt-get install python3-venv failed: fix the apt sources or the network, or install it by hand"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r scripts/fuzz-requirements.txt
  cp scripts/fuzz-requirements.txt "$VENV/requirements.txt"
fi

scripts/services.sh start
set -a; . .local/services.env; set +a
say "building the debug binary ..."
$CARGO build -q -p qianlink
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/qianlink"

ADMIN_URL="${DATABASE_URL%/*}/postgres"
FUZZ_URL="${DATABASE_URL%/*}/$DB"
rm -rf "$WORK" && mkdir -p "$WORK/data"
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="$FUZZ_URL"
"$BIN" migrate >/dev/null
key() { "$BIN" admin create-key --org "$1" --kind "$2" --issued-to fuzz | sed -n 's/^key (shown once): //p'; }
ADMIN_KEY=$(key 省级管理员 admin)
EMPLOYER_KEY=$(key 东莞某电子厂 employer)

QIANLINK_DATA_KEY="$("$BIN" gen-key)" QIANLINK_BIND="127.0.0.1:$PORT" QIANLINK_REDIS_PREFIX="fuzz:$DB:" \
  QIANLINK_RATE_LIMIT=1000000 QIANLINK_INDEX_DIR="$WORK/index" QIANLINK_LOG=warn QIANLINK_HTTP_WORKERS=2 \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$WORK/server.log" >&2; die "the server did not start"; }
"$VENV/bin/python" scripts/fuzz_seed.py "http://127.0.0.1:$PORT" "$ADMIN_KEY" "$EMPLOYER_KEY" "$WORK/data" >&2

cp scripts/schemathesis.toml "$WORK/schemathesis.toml"
[ "$SEED" = random ] && SEED=$RANDOM
status=0
left=2
for who in admin employer; do
  if [ "$who" = admin ]; then K="$ADMIN_KEY"; else K="$EMPLOYER_KEY"; fi
  BUDGET=$(( (DEADLINE - ($(date +%s) - STARTED)) / left - 5 ))
  left=$((left - 1))
  [ "$BUDGET" -ge 30 ] || die "no time left for the $who run (FUZZ_DEADLINE=$DEADLINE)"
  say "schemathesis as $who: $EXAMPLES cases per operation and phase, seed $SEED, at most ${BUDGET}s"
  set +e
  timeout --kill-after=10 "$BUDGET" "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" --no-color \
    run "http://127.0.0.1:$PORT/openapi.json" -H "Authorization: Bearer $K" \
    --checks all --max-examples "$EXAMPLES" --seed "$SEED" --workers 2 --request-timeout 30 \
    --report junit --report-junit-path "$WORK/$who.xml" >"$WORK/$who.log" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    status=1
    sed -n '/= FAILURES =/,/= WARNINGS =\|= SUMMARY =/p' "$WORK/$who.log" | head -200 >&2
    [ $rc -eq 124 ] && say "$who: stopped after ${BUDGET}s (FUZZ_DEADLINE)"
  fi
  ops=$(sed -n 's/^ *Tested: *\([0-9]*\).*/\1/p' "$WORK/$who.log" | tail -1)
  cases=$(sed -n 's/^ *\([0-9]*\) generated.*/\1/p' "$WORK/$who.log" | tail -1)
  summary=$(grep -E '^=+ .* in [0-9.]+s =+$' "$WORK/$who.log" | tail -1 | tr -d '=' | xargs || true)
  echo "fuzz: $who: ${ops:-?} operations, ${cases:-?} cases: ${summary:-no summary (see $WORK/$who.log)}"
done
if grep -q "panicked" "$WORK/server.log"; then
  status=1
  grep -m5 "panicked" "$WORK/server.log" >&2
fi
echo "fuzz: $(( $(date +%s) - STARTED ))s in all (build included); logs in $WORK"
[ $status -eq 0 ] && echo "fuzz: passed" || echo "fuzz: FAILED"
exit $status
