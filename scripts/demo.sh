#!/usr/bin/env bash
# Run Qianlink locally for `make demo`: a local data key and admin key are
# made once under .local/ (never use them in production), then `qianlink demo`
# generates the demo province (once), runs the chain, prints the tour and serves.
# `scripts/demo.sh chat PHONE` plays a worker in the terminal instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${QIANLINK_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/qianlink}"
mkdir -p "$ROOT/.local"
if [ -z "${QIANLINK_DATA_KEY:-}" ]; then
  if [ ! -s "$ROOT/.local/data_key" ]; then
    "$BIN" gen-key >"$ROOT/.local/data_key"
    chmod 600 "$ROOT/.local/data_key"
    echo "demo: made a local data key in .local/data_key (for this machine only; production sets QIANLINK_DATA_KEY)"
  fi
  QIANLINK_DATA_KEY="$(cat "$ROOT/.local/data_key")"
  export QIANLINK_DATA_KEY
fi
if [ -z "${QIANLINK_BOOTSTRAP_ADMIN_KEY:-}" ]; then
  if [ ! -s "$ROOT/.local/admin_key" ]; then
    echo "qk_demo_admin_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$ROOT/.local/admin_key"
    chmod 600 "$ROOT/.local/admin_key"
  fi
  QIANLINK_BOOTSTRAP_ADMIN_KEY="$(cat "$ROOT/.local/admin_key")"
  export QIANLINK_BOOTSTRAP_ADMIN_KEY
fi
if [ "${1:-}" = "chat" ]; then
  if [ -z "${2:-}" ]; then
    echo "usage: make chat PHONE=<the phone number the demo tour printed>" >&2
    exit 2
  fi
  exec "$BIN" chat --phone "$2"
fi
echo "demo: admin key: $QIANLINK_BOOTSTRAP_ADMIN_KEY   (also in .local/admin_key)"
exec "$BIN" demo
