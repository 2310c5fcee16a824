#!/usr/bin/env bash
# API benchmark for docs/benchmarks.md (issue #3): POST /v1/jobs and
# GET /v1/jobs/{id} under wrk against the release build with rate limiting
# on (a Redis round trip per request) and durable PostgreSQL commits, then a
# 50,000-row ledger import. Run from anywhere: bench/api.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${DURATION:-20s}"
CONNS="${CONNS:-32}"
PORT="${PORT:-18080}"
ROWS="${ROWS:-50000}"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else echo "install wrk (apt-get install wrk)" >&2; exit 1; fi
fi
scripts/services.sh start
. .local/services.env
cargo build --release -p qianlink
BENCH_DB_URL="${DATABASE_URL%/*}/qianlink_bench"
psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS qianlink_bench WITH (FORCE)" -qc "CREATE DATABASE qianlink_bench" >/dev/null
ADMIN="qk_bench_admin_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATABASE_URL="$BENCH_DB_URL" QIANLINK_DATA_KEY="$(target/release/qianlink gen-key)" QIANLINK_BOOTSTRAP_ADMIN_KEY="$ADMIN" \
  QIANLINK_BIND="127.0.0.1:$PORT" QIANLINK_RATE_LIMIT=1000000 QIANLINK_REDIS_PREFIX="bench:" QIANLINK_LOG=warn \
  QIANLINK_INDEX_DIR="$(mktemp -d)" \
  target/release/qianlink serve >/tmp/qianlink-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
api() { curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "$@"; }
ORG=$(api -X POST "http://127.0.0.1:$PORT/v1/organizations" -d '{"name":"东莞基准电子厂","kind":"employer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$(api -X POST "http://127.0.0.1:$PORT/v1/organizations/$ORG/api-keys" -d '{"issued_to":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
export BENCH_KEY="$KEY"

echo "== POST /v1/jobs ($CONNS connections, $DURATION)"
wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s bench/post_job.lua "http://127.0.0.1:$PORT/v1/jobs" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
JOB=$(curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/jobs?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
echo "== GET /v1/jobs/{id} ($CONNS connections, $DURATION)"
wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s bench/get.lua "http://127.0.0.1:$PORT/v1/jobs/$JOB" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"

echo "== search visibility (a job posted through the API, found by search)"
python3 bench/visibility.py "http://127.0.0.1:$PORT" "$KEY" 200

echo "== ledger import, $ROWS rows (admin, one file)"
python3 bench/gen_ledger.py "$ROWS" > /tmp/qianlink-bench-ledger.csv
START=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $ADMIN" -F "file=@/tmp/qianlink-bench-ledger.csv" "http://127.0.0.1:$PORT/v1/workers/import" | python3 -c 'import json,sys; r=json.load(sys.stdin); print({k: r[k] for k in ("rows","created","updated","unchanged","rejected")})'
END=$(date +%s.%N)
echo "import took $(python3 -c "print(round($END - $START, 2))") s"
START=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $ADMIN" -F "file=@/tmp/qianlink-bench-ledger.csv" "http://127.0.0.1:$PORT/v1/workers/import" | python3 -c 'import json,sys; r=json.load(sys.stdin); print({k: r[k] for k in ("rows","created","updated","unchanged","rejected")})'
END=$(date +%s.%N)
echo "re-import (nothing changes) took $(python3 -c "print(round($END - $START, 2))") s"
