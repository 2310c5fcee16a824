#!/usr/bin/env bash
# Crash safety (docs/reliability.md, "Crash safety").
#
# A load of job posts, placements, monthly reports and offers runs against
# `qianlink serve` (release build) while the server is killed with SIGKILL
# and restarted, and while its PostgreSQL is stopped with `pg_ctl -m
# immediate` and restarted (once with the server killed while PostgreSQL is
# down). The load client records every write answered 2xx with its id.
# Afterwards every acknowledged write must be in PostgreSQL, and the outbox
# consumers must catch up: the server's search index (asked over the API),
# the Redis stream <prefix>subsidy-events, and the bot queue (offers sent to
# a fake Telegram). Exits non-zero when anything acknowledged is lost.
#
# Private services: PostgreSQL on $CHAOS_PG_PORT (25441), Redis on
# $CHAOS_REDIS_PORT (26381), the API on $CHAOS_API_PORT (18181); logs and
# Redis data in .local/chaos-crash/, the PostgreSQL cluster as lib.sh says.
# CHAOS_ROUNDS (default 4) kill rounds.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

chaos_init crash "${CHAOS_PG_PORT:-25441}" "${CHAOS_REDIS_PORT:-26381}"
PORT="${CHAOS_API_PORT:-18181}"
API="http://127.0.0.1:$PORT"
D="$CHAOS_DIR"
ROUNDS="${CHAOS_ROUNDS:-4}"

# A pause of 2 to 5 s: how long the load runs between two faults.
pause() { sleep "$((2 + RANDOM % 4)).$((RANDOM % 10))"; }

chaos_start_one "$PORT" 1000

say "load running; $ROUNDS rounds of faults"
bg load "$D/logs/load.log" "$CHAOS" load --api "$API" --world "$D/world.json" --acked "$D/acked.jsonl" \
  --summary "$D/load.json" --stop-file "$D/stop" --max-seconds 600 --tasks 4 --scan-every 8 --worker-count 500
LOAD=$LAST_PID
kills=0
pg_crashes=0
for r in $(seq 1 "$ROUNDS"); do
  pause
  say "round $r: kill -9 the server"
  serve_kill a
  kills=$((kills + 1))
  serve_up a "$PORT"
  if [ $((r % 2)) = 1 ]; then
    pause
    say "round $r: PostgreSQL stopped with -m immediate, and the server killed while it is down"
    pg_crash
    pg_crashes=$((pg_crashes + 1))
    serve_kill a
    kills=$((kills + 1))
    sleep 1
    pg_start
    serve_up a "$PORT"
  fi
  pause
  say "round $r: PostgreSQL stopped with -m immediate (the server stays up)"
  pg_crash
  pg_crashes=$((pg_crashes + 1))
  sleep 2
  pg_start
done
pause
touch "$D/stop"
wait "$LOAD" || die "the load client failed (logs/load.log)"
forget "$LOAD"
cat "$D/logs/load.log" >&2
# A last crash with no load behind it: the checks below start with plain
# reads, which a server that kept its dead connections would fail.
say "PostgreSQL stopped with -m immediate once more, with no load"
pg_crash
pg_crashes=$((pg_crashes + 1))
sleep 1
pg_start

say "faults over ($kills server kills, $pg_crashes PostgreSQL crashes); checking"
"$CHAOS" verify --api "$API" --world "$D/world.json" --database-url "$CHAOS_DB_URL" \
  --redis-url "$CHAOS_REDIS_URL" --prefix "$CHAOS_PREFIX" --acked "$D/acked.jsonl" --load-summary "$D/load.json" \
  --telegram-stats "$D/telegram.stats" --timeout 120 --out "$D/figures.json"
echo "crash: $kills server kills (SIGKILL), $pg_crashes PostgreSQL crashes (pg_ctl -m immediate); figures in ${D#"$ROOT"/}/figures.json"
