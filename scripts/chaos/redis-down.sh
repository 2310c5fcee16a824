#!/usr/bin/env bash
# Redis down (docs/reliability.md, "Redis down").
#
# Redis holds only what may be lost or rebuilt. With the server's Redis
# killed, reads and writes must keep working (rate limits fall back to a
# limiter per process, which still refuses a burst), milestone scans still
# write subsidy events and offers are still queued. When Redis is back the
# relay publishes every event written meanwhile to the stream, the bot
# dispatcher sends every offer queued meanwhile, and rate limits are shared
# through Redis again. Exits non-zero when a request failed during the
# outage or anything queued was lost.
#
# Private services: PostgreSQL on $CHAOS_PG_PORT (25442), Redis on
# $CHAOS_REDIS_PORT (26382), the API on $CHAOS_API_PORT (18182); logs and
# Redis data in .local/chaos-redis-down/, the PostgreSQL cluster as lib.sh
# says. CHAOS_DOWN_SECONDS (default 15): how long Redis stays down;
# CHAOS_SHARED_WITHIN (default 20): seconds after its restart by which rate
# limits must be shared through Redis again.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

chaos_init redis-down "${CHAOS_PG_PORT:-25442}" "${CHAOS_REDIS_PORT:-26382}"
PORT="${CHAOS_API_PORT:-18182}"
API="http://127.0.0.1:$PORT"
D="$CHAOS_DIR"
DOWN_SECONDS="${CHAOS_DOWN_SECONDS:-15}"
export CHAOS_RATE_LIMIT=200

chaos_start_one "$PORT" 400

rl_keys() { redis-cli -p "$CHAOS_REDIS_PORT" --scan --pattern "${CHAOS_PREFIX}rl:*" | wc -l; }
events() { psql_chaos -c "SELECT count(*) FROM subsidy_events"; }
unsent() { psql_chaos -c "SELECT count(*) FROM bot_queue WHERE state <> 'sent'"; }
attempts() { psql_chaos -c "SELECT coalesce(max(attempts), 0) FROM bot_queue"; }
stream_len() { redis-cli -p "$CHAOS_REDIS_PORT" xlen "${CHAOS_PREFIX}subsidy-events"; }

say "Redis up: load for 8 s"
"$CHAOS" load --api "$API" --world "$D/world.json" --acked "$D/acked-up.jsonl" --summary "$D/load-up.json" \
  --max-seconds 8 --tasks 2 --tag up --first-worker 0 --worker-count 100 --offer-from 250 --scan-every 5 --pause-ms 100 --no-failures \
  2>>"$D/logs/load.log"
"$CHAOS" burst --api "$API" --key "$CHAOS_ADMIN_KEY" --requests 800 --out "$D/burst-up.json"
shared_before=$(rl_keys)
[ "$shared_before" -gt 0 ] || die "no rate-limit window in Redis while it is up"

stream_before=$(stream_len)
redis_kill
say "Redis killed; load for $DOWN_SECONDS s"
events_before=$(events)
ready=$(curl -sS -m 2 -w ' %{http_code}' "$API/readyz" 2>/dev/null || true)
case "$ready" in
  *'"degraded"'*'"redis"'*' 503') ;;
  *) die "/readyz with Redis down should be 503 degraded naming redis, got: $ready" ;;
esac
ready=$(curl -sS -m 2 -w ' %{http_code}' "$API/readyz?redis=optional" 2>/dev/null || true)
case "$ready" in
  *'"degraded"'*'"redis"'*' 200') ;;
  *) die "/readyz?redis=optional with Redis down should be 200 degraded naming redis, got: $ready" ;;
esac
"$CHAOS" load --api "$API" --world "$D/world.json" --acked "$D/acked-down.jsonl" --summary "$D/load-down.json" \
  --max-seconds "$DOWN_SECONDS" --tasks 2 --tag down --first-worker 100 --worker-count 150 --offer-from 250 --scan-every 5 \
  --pause-ms 100 --no-failures 2>>"$D/logs/load.log" || die "requests failed while Redis was down (logs/load.log)"
"$CHAOS" burst --api "$API" --key "$CHAOS_ADMIN_KEY" --requests 800 --out "$D/burst-down.json" \
  || die "the per-process rate limiter did not hold while Redis was down"
events_down=$(($(events) - events_before))
unsent_down=$(unsent)
say "while Redis was down: $events_down subsidy events written, $unsent_down bot pushes waiting"
[ "$events_down" -gt 0 ] || die "no subsidy event was written while Redis was down (the check would prove nothing)"

redis_start
back_at=$SECONDS
say "Redis back"
"$CHAOS" verify --api "$API" --world "$D/world.json" --database-url "$CHAOS_DB_URL" \
  --redis-url "$CHAOS_REDIS_URL" --prefix "$CHAOS_PREFIX" --acked "$D/acked-up.jsonl,$D/acked-down.jsonl" \
  --load-summary "$D/load-up.json,$D/load-down.json" --telegram-stats "$D/telegram.stats" --timeout 90 \
  --out "$D/figures.json"
# Rate limits shared through Redis again: a burst, and the windows it left in
# Redis. The API's connection to Redis may come back some seconds after Redis
# does, so the burst is repeated (once a second) for up to
# CHAOS_SHARED_WITHIN seconds (20) after the restart.
bursts_after=0
while :; do
  "$CHAOS" burst --api "$API" --key "$CHAOS_ADMIN_KEY" --requests 800 --out "$D/burst-after.json"
  bursts_after=$((bursts_after + 1))
  shared_after=$(rl_keys)
  [ "$shared_after" -eq 0 ] || break
  [ $((SECONDS - back_at)) -lt "${CHAOS_SHARED_WITHIN:-20}" ] \
    || die "rate limits did not go back to Redis within ${CHAOS_SHARED_WITHIN:-20} s after it came back"
  sleep 1
done
shared_in=$((SECONDS - back_at))
cat >"$D/redis-figures.txt" <<EOF
events written while Redis was down: $events_down (stream length before: $stream_before, after: $(stream_len))
bot pushes waiting when Redis came back: $unsent_down (now unsent: $(unsent)); most claims of one push: $(attempts)
burst of 800 on one key (limit 200/s): up $(cat "$D/burst-up.json"), down $(cat "$D/burst-down.json"), after $(cat "$D/burst-after.json")
rate-limit windows in Redis: before $shared_before, after $shared_after (shared again ${shared_in} s after the restart, at burst $bursts_after after the checks)
EOF
cat "$D/redis-figures.txt"
echo "redis-down: OK; figures in ${D#"$ROOT"/}/figures.json and redis-figures.txt"
