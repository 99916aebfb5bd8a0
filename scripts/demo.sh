#!/usr/bin/env bash
# The README's first command ends here. It starts, from build/bin:
#   screener-replay   a synthetic Binance-compatible market (12 symbols, one market minute per second)
#   screenerd         ingesting it into the shared-memory segment /dev/shm/screener-demo, running
#                     the example traders of config/traders.d and writing their signals
#   screener-worker   two of them, started and supervised by screenerd (--spawn-workers 2), attached
#                     read-only, each evaluating the traders assigned to it
# then prints every signal as it arrives, and the segment's contents now and then, until Ctrl-C.
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
  if [ -s "$work/signals.jsonl" ]; then
    echo "demo: $(wc -l < "$work/signals.jsonl") signals written"
  fi
  rm -rf "$work"
  echo "demo: stopped"
}
trap stop INT TERM EXIT

# 20000 minutes of history: enough 1h bars for the example traders' ema(50)@1h.
"$bin/screener-replay" --synthetic --symbols 12 --history-bars 20000 --speed x60 \
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
[traders]
dir = "$PWD/config/traders.d"
socket = "$work/screenerd.sock"
state_dir = "$work/state"
[signals]
jsonl = "$work/signals.jsonl"
stdout = false
TOML

# screenerd starts the two workers once the segment is READY, restarts one that dies, and stops
# them on SIGTERM; their logs join its own.
"$bin/screenerd" --config "$work/screener.toml" --spawn-workers 2 2> "$work/screenerd.log" &
pids+=($!)

echo "--- market: screener-replay on 127.0.0.1:$port (synthetic, x60); segment /dev/shm/$segment"
echo "--- traders: $(ls config/traders.d | tr '\n' ' ')"
echo "--- signals as they arrive (also in $work/signals.jsonl):"
touch "$work/signals.jsonl"
tail -n +1 -F "$work/signals.jsonl" 2>/dev/null &
pids+=($!)

started=$(date +%s)
last_status=$started
while :; do
  sleep 1
  if ! kill -0 "${pids[1]}" 2>/dev/null; then
    echo "demo: screenerd stopped:"; tail -20 "$work/screenerd.log"; exit 1
  fi
  now=$(date +%s)
  if [ $(( now - last_status )) -ge 20 ]; then
    last_status=$now
    echo "--- screenerctl symbols --segment $segment"
    "$bin/screenerctl" symbols --segment "$segment" | table || true
    for index in 0 1; do grep -h "\[worker $index\].*traders are mine" "$work/screenerd.log" | tail -1; done || true
  fi
  if [ -n "${DEMO_SECONDS:-}" ] && [ $(( now - started )) -ge "$DEMO_SECONDS" ]; then break; fi
done
