#!/usr/bin/env bash
# Mixed load benchmark for docs/benchmarks.md (issue #11): search 70 %, job
# reads 20 %, writes 10 % (bench/mixed.lua) under wrk against the release
# build, at increasing concurrency until p99 passes 100 ms. CI runs a small
# version (`make load-ci`: JOBS=3000 WORKERS=2000 DURATION=8s STEPS="4 16").
#
#   bench/load.sh        JOBS=100000 WORKERS=50000 DURATION=20s STEPS="4 8 16 32 64 128 256"
#
# Seeds a fresh database through the API: WORKERS ledger rows (bench/gen_ledger.py,
# one import) and JOBS postings (bench/gen_jobs.py: seed occupations and skills,
# a third in Guangdong), waits until the search index has them all, then runs
# one wrk step per concurrency. Rate limiting is on (a Redis round trip per
# request) with a limit high enough not to refuse. Prints a table; the knee is
# the first step whose p99 is over 100 ms. Exits non-zero when a step sees any
# non-2xx answer or socket error, when wrk's output cannot be read, or when
# p99 is over 100 ms already at the first step (no sustainable rate at all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
JOBS="${JOBS:-100000}"
WORKERS="${WORKERS:-50000}"
DURATION="${DURATION:-20s}"
STEPS="${STEPS:-4 8 16 32 64 128 256}"
PORT="${PORT:-18091}"
DB="${LOAD_DB:-qianlink_load}"
CARGO="${CARGO:-cargo}"

die() { echo "load: error: $*" >&2; exit 1; }
command -v "$CARGO" >/dev/null 2>&1 \
  || die "$CARGO not found: install the Rust toolchain with rustup (curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y)"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then die "wrk is missing: install it (sudo apt-get install wrk)"; fi
  echo "load: installing wrk from Debian's packages ..." >&2
  { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }; } \
    || die "apt-get install wrk failed: fix the apt sources or the network, or install wrk by hand"
fi
scripts/services.sh start
set -a; . .local/services.env; set +a
$CARGO build -q --release -p qianlink || die "the release build failed"
BIN="${CARGO_TARGET_DIR:-target}/release/qianlink"
PG="${DATABASE_URL%/*}"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB" >/dev/null
WORK="$(mktemp -d)"
ADMIN="qk_load_admin_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATABASE_URL="$PG/$DB" QIANLINK_DATA_KEY="$($BIN gen-key)" QIANLINK_BOOTSTRAP_ADMIN_KEY="$ADMIN" \
  QIANLINK_BIND="127.0.0.1:$PORT" QIANLINK_RATE_LIMIT=1000000 QIANLINK_REDIS_PREFIX="load:" QIANLINK_LOG=warn \
  QIANLINK_INDEX_DIR="$WORK/index" \
  $BIN serve >"$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
  local rc=$?
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  if [ "$rc" = 0 ]; then rm -rf "$WORK"; else echo "load: FAILED (exit $rc); server log in $WORK/server.log" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
U="http://127.0.0.1:$PORT"
for _ in $(seq 1 150); do curl -sf "$U/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$U/readyz" >/dev/null || { cat "$WORK/server.log" >&2; die "the server did not become ready on $U (log above)"; }
api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "$@"; }
ORG=$(api -X POST "$U/v1/organizations" -d '{"name":"东莞基准电子厂","kind":"employer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$(api -X POST "$U/v1/organizations/$ORG/api-keys" -d '{"issued_to":"load"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

echo "== seeding: $WORKERS ledger rows, $JOBS jobs"
python3 bench/gen_ledger.py "$WORKERS" > "$WORK/ledger.csv"
curl -sf -H "Authorization: Bearer $ADMIN" -F "file=@$WORK/ledger.csv" "$U/v1/workers/import" >/dev/null
SEEDED=$(date +%s)
python3 bench/gen_jobs.py "$U" "$KEY" "$JOBS" "$WORK/job_ids.txt" 8
echo "jobs posted in $(( $(date +%s) - SEEDED )) s"
for _ in $(seq 1 600); do
  lag=$(curl -sf "$U/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["search_index"]["lag"])')
  [ "$lag" = 0 ] && break
  sleep 0.5
done
echo "search index: lag $lag, $(curl -sf "$U/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["search_index"]["docs"])') docs"

export BENCH_KEY="$KEY" BENCH_JOB_IDS="$WORK/job_ids.txt"
echo "== mixed workload, $DURATION per step, wrk -t2"
printf '| connections | req/s | p50 ms | p99 ms | mix (search/read/write %%) | non-2xx |\n|---|---|---|---|---|---|\n'
for c in $STEPS; do
  out=$(wrk -t2 -c"$c" -d"$DURATION" --latency -s bench/mixed.lua "$U")
  rps=$(sed -n 's/^RESULT rps \([0-9.]*\).*/\1/p' <<<"$out")
  p50=$(sed -n 's/^RESULT .* p50_ms \([0-9.]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/^RESULT .* p99_ms \([0-9.]*\).*/\1/p' <<<"$out")
  mix=$(sed -n 's/^MIX search \([0-9.]*\)% read \([0-9.]*\)% write \([0-9.]*\)%.*/\1\/\2\/\3/p' <<<"$out")
  bad=$(sed -n 's/^MIX .*errors \([0-9]*\)$/\1/p' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$c" "$rps" "$p50" "$p99" "$mix" "$bad"
  if [ -z "$rps" ] || [ -z "$p99" ] || [ -z "$bad" ]; then
    echo "load: cannot read wrk's output at $c connections:" >&2; echo "$out" >&2; exit 1
  fi
  if [ "$bad" != 0 ]; then
    echo "load: $bad answers were not 2xx (or sockets failed) at $c connections; see $WORK/server.log" >&2; exit 1
  fi
  if python3 -c "import sys; sys.exit(0 if float('$p99') > 100 else 1)"; then
    if [ "$c" = "${STEPS%% *}" ]; then
      echo "load: p99 ${p99} ms is over 100 ms already at $c connections: no sustainable rate" >&2; exit 1
    fi
    echo "knee: p99 passed 100 ms at $c connections"
    knee=$c
    break
  fi
done
[ -n "${knee:-}" ] || echo "no knee: p99 stayed under 100 ms up to ${STEPS##* } connections"
