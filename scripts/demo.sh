#!/usr/bin/env bash
# The README's first command ends here. It starts, from build/bin:
#   screener-replay   a synthetic Binance-compatible market (12 symbols, one market minute per second)
#   screenerd         ingesting it into the shared-memory segment /dev/shm/screener-demo
#   screener-worker   two of them, attached read-only
# then shows what the segment holds every few seconds, until Ctrl-C.
# DEMO_SECONDS=N stops it after N seconds instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
work=$(mktemp -d)
segment=screener-demo

# Aligned columns where util-linux's `column` is installed, plain CSV otherwise.
table() { if command -v column >/dev/null; then column -t -s,; else cat; fi; }

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  echo "demo: stopped"
}
trap stop INT TERM EXIT

"$bin/screener-replay" --synthetic --symbols 12 --history-bars 1500 --speed x60 \
  --listen 127.0.0.1:0 --port-file "$work/port" 2> "$work/replay.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "demo: screener-replay did not start:"; cat "$work/replay.log"; exit 1; }
port=$(cat "$work/port")

cat > "$work/screener.toml" <<TOML
[segment]
name = "$segment"
max_symbols = 32
[exchange]
ws_url = "ws://127.0.0.1:$port"
rest_url = "http://127.0.0.1:$port"
[universe]
quote_asset = "USDT"
top_n = 12
TOML

"$bin/screenerd" --config "$work/screener.toml" &
pids+=($!)
for index in 0 1; do
  "$bin/screener-worker" --segment "$segment" --index "$index" &
  pids+=($!)
done

echo "--- market: screener-replay on 127.0.0.1:$port (synthetic, x60); segment /dev/shm/$segment"
started=$(date +%s)
while :; do
  sleep 5
  echo "--- screenerctl symbols --segment $segment"
  "$bin/screenerctl" symbols --segment "$segment" | table || true
  echo "--- screenerctl klines SYN000USDT 1m --last 3 --segment $segment"
  "$bin/screenerctl" klines SYN000USDT 1m --last 3 --segment "$segment" | table || true
  if [ -n "${DEMO_SECONDS:-}" ] && [ $(( $(date +%s) - started )) -ge "$DEMO_SECONDS" ]; then break; fi
done
