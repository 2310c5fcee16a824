#!/usr/bin/env bash
# Run every command of the tour that `qianlink demo` printed (and wrote to
# .local/tour.sh) against the running demo; fail on any answer that is not 2xx.
# Usage: scripts/tour-check.sh [TOUR_FILE]   (with `make demo` running)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOUR="${1:-$ROOT/.local/tour.sh}"
if [ ! -s "$TOUR" ]; then
  echo "tour-check: $TOUR is missing: start the demo first (make demo), it writes the tour there" >&2
  exit 2
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
printf '__HTTP_STATUS__%%{http_code}' >"$WORK/.status-format"
n=0
failed=0
while IFS= read -r line; do
  case "$line" in
    curl\ *) ;;
    *) continue ;;
  esac
  n=$((n + 1))
  # The tour's own line, with curl told to print the status after the body.
  out="$(cd "$WORK" && eval "${line/curl -s/curl -sS -w @.status-format}" 2>&1)"
  code="${out##*__HTTP_STATUS__}"
  body="${out%__HTTP_STATUS__*}"
  short="$(printf '%s' "$line" | sed -E "s/Bearer [A-Za-z0-9_]+/Bearer …/")"
  why=""
  if ! [[ "$code" =~ ^2[0-9][0-9]$ ]]; then
    why="$(printf '%s' "$body" | head -c 400)"
  elif [[ "$line" =~ -o\ ([^ ]+\.xlsx) ]] && [ "$(head -c 2 "$WORK/${BASH_REMATCH[1]}" 2>/dev/null)" != "PK" ]; then
    why="the download ${BASH_REMATCH[1]} is not an .xlsx workbook"
  fi
  if [ -z "$why" ]; then
    echo "ok   $code  $short"
  else
    failed=$((failed + 1))
    echo "FAIL $code  $short"
    printf '%s\n' "$why" | sed 's/^/       /'
  fi
done <"$TOUR"
if [ "$n" -eq 0 ]; then
  echo "tour-check: no command found in $TOUR" >&2
  exit 2
fi
if [ "$failed" -gt 0 ]; then
  echo "tour-check: $failed of $n commands failed"
  exit 1
fi
echo "tour-check: $n commands, all 2xx"
