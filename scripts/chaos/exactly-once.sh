#!/usr/bin/env bash
# Exactly once under concurrency (docs/reliability.md).
#
# Two `qianlink serve` processes share one database, each running the
# milestone scanner and the outbox relay, and reach PostgreSQL through
# `chaos proxy` (tests/src/bin/chaos/proxy.rs, tokio), which cuts their
# connections at random. Placements with monthly reports are seeded by a
# random plan (before faults are on); then scans run concurrently on both
# servers, round after round, as of rising dates, together with
# `qianlink scan --as-of` processes, and both servers are killed and
# restarted at once so that their start-up scans race too. Afterwards every
# subsidy event due by the plan (computed by the checker on its own) must
# exist exactly once per (rule, person), nothing else, announced once in the
# outbox and present once in the Redis stream.
#
# Private services: PostgreSQL on $CHAOS_PG_PORT (25443), Redis on
# $CHAOS_REDIS_PORT (26383), the proxy on $CHAOS_PROXY_PORT (25453), the
# servers on 18183 and 18184; logs and Redis data in .local/chaos-exactly-once/,
# the PostgreSQL cluster as lib.sh says. CHAOS_PLACEMENTS (default 2000)
# placements seeded, CHAOS_ROUNDS (default 60) rounds of concurrent scans.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

chaos_init exactly-once "${CHAOS_PG_PORT:-25443}" "${CHAOS_REDIS_PORT:-26383}"
PROXY_PORT="${CHAOS_PROXY_PORT:-25453}"
PA=18183
PB=18184
A="http://127.0.0.1:$PA"
B="http://127.0.0.1:$PB"
D="$CHAOS_DIR"
PLACEMENTS="${CHAOS_PLACEMENTS:-2000}"
ROUNDS="${CHAOS_ROUNDS:-60}"
port_free "$PROXY_PORT" || die "port $PROXY_PORT is taken"

pg_start
redis_start
chaos_keys
bg proxy "$D/logs/proxy.log" "$CHAOS" proxy --listen "127.0.0.1:$PROXY_PORT" --upstream "127.0.0.1:$CHAOS_PG_PORT" \
  --faults-file "$D/faults" --stats "$D/proxy.json" --mean-life-ms 700 --refuse 0.05
wait_for 10 "the proxy listening" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PROXY_PORT"
VIA_PROXY="postgres://postgres@127.0.0.1:$PROXY_PORT/qianlink"
serve_up a "$PA" "$VIA_PROXY"
serve_up b "$PB" "$VIA_PROXY"
"$CHAOS" seed --api "$A" --admin-key "$CHAOS_ADMIN_KEY" --placements "$PLACEMENTS" --out "$D/plan.json"

say "faults on: connections to PostgreSQL are cut at random"
touch "$D/faults"
# `qianlink scan` processes through the proxy as well, as of month ends rising
# at about the pace of the storm's dates, so that both write events.
cli_scans() {
  local ok=0 refused=0 m
  for m in 02-29 03-31 04-30 05-31 06-30 07-31 08-31 09-30 10-31 11-30 12-31; do
    if DATABASE_URL="$VIA_PROXY" "$QIANLINK" scan --as-of "2024-$m" >>"$D/logs/cli-scan.log" 2>&1; then
      ok=$((ok + 1))
    else
      refused=$((refused + 1))
    fi
    sleep 1
  done
  echo "{\"ok\": $ok, \"failed_or_busy\": $refused}" >"$D/cli-scans.json"
}
bg cli-scans "$D/logs/cli-scan.log" cli_scans
CLI=$LAST_PID
"$CHAOS" scan-storm --api "$A,$B" --admin-key "$CHAOS_ADMIN_KEY" --rounds "$ROUNDS" --per-server 2 \
  --out "$D/storm-1.json"
wait "$CLI" || true
forget "$CLI"

say "both servers killed and started at once: their start-up scans race"
serve_kill a
serve_kill b
serve_start a "$PA" "$VIA_PROXY"
serve_start b "$PB" "$VIA_PROXY"
serve_up_wait() {
  local name="$1" port="$2"
  local deadline=$((SECONDS + 90))
  until healthy "$port" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "serve $name did not come up"
    if ! kill -0 "${SERVE_PID[$name]}" 2>/dev/null; then
      wait "${SERVE_PID[$name]}" 2>/dev/null || true
      forget "${SERVE_PID[$name]}"
      serve_start "$name" "$port" "$VIA_PROXY"
    fi
    sleep 0.1
  done
}
serve_up_wait a "$PA"
serve_up_wait b "$PB"
"$CHAOS" scan-storm --api "$A,$B" --admin-key "$CHAOS_ADMIN_KEY" --rounds 10 --per-server 2 --out "$D/storm-2.json"

rm -f "$D/faults"
say "faults off; checking (proxy: $(cat "$D/proxy.json"))"
"$CHAOS" verify-once --api "$A" --plan "$D/plan.json" --database-url "$CHAOS_DB_URL" --redis-url "$CHAOS_REDIS_URL" \
  --prefix "$CHAOS_PREFIX" --timeout 90 --out "$D/figures.json"
echo "exactly-once: storms $(tr -d '\n ' <"$D/storm-1.json") $(tr -d '\n ' <"$D/storm-2.json")"
echo "exactly-once: qianlink scan processes $(cat "$D/cli-scans.json"); proxy $(cat "$D/proxy.json")"
echo "exactly-once: OK; figures in ${D#"$ROOT"/}/figures.json"
