#!/usr/bin/env bash
# The README's first command ends here: runs screenerd and two workers from build/bin on the
# example configuration, shows the segment they share, and keeps running until Ctrl-C.
# DEMO_SECONDS=N stops it after N seconds instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
config=config/screener.toml
segment=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$config" | head -1)

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "demo: stopped"
}
trap stop INT TERM EXIT

"$bin/screenerd" --config "$config" &
pids+=($!)
for _ in $(seq 50); do [ -e "/dev/shm/$segment" ] && break; sleep 0.1; done
for index in 0 1; do
  "$bin/screener-worker" --segment "$segment" --index "$index" &
  pids+=($!)
done
sleep 0.5
echo "--- screenerctl layout --config $config"
"$bin/screenerctl" layout --config "$config"
echo "--- screenerctl header --segment $segment"
"$bin/screenerctl" header --segment "$segment"
echo "--- running: screenerd (pid ${pids[0]}) and workers ${pids[1]} ${pids[2]}; Ctrl-C stops"
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; else wait "${pids[0]}"; fi
