#!/usr/bin/env bash
# The three binaries as an operator runs them: screenerd creates the segment, screenerctl reads
# it, a second screenerd is refused, a worker attaches and notices the daemon's shutdown, and
# SIGTERM removes the segment. Every wait is bounded.
# usage: binaries_test.sh BIN_DIR
set -euo pipefail
bin=$1
work=$(mktemp -d)
segment="screener-bintest-$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "/dev/shm/$segment" "/dev/shm/$segment.lock"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }
# wait_for CONDITION-COMMAND DESCRIPTION: polls every 50 ms for at most 10 s.
wait_for() {
  for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done
  fail "timed out waiting for $2"
}

cat > "$work/screener.toml" <<TOML
[segment]
name = "$segment"
max_symbols = 8
journal_capacity = 1024
[market]
intervals = ["1m", "1h"]
depth = 16
[exchange]
# Tests talk to loopback only: nothing listens here, so the ingest just keeps retrying.
ws_url = "ws://127.0.0.1:9"
rest_url = "http://127.0.0.1:9"
TOML

# A bad configuration is refused before anything is created.
printf '[segment]\nmax_symbols = -1\n' > "$work/bad.toml"
set +e
"$bin/screenerd" --config "$work/bad.toml" 2> "$work/bad.log"
status=$?
set -e
[ "$status" -eq 2 ] || fail "bad config exited $status, expected 2"
grep -q "bad.toml:2:.*segment.max_symbols" "$work/bad.log" || fail "bad config error does not name file:line and key"

"$bin/screenerd" --config "$work/screener.toml" > "$work/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
wait_for '[ -e /dev/shm/$segment ] && "$bin/screenerctl" header --segment $segment > "$work/header.log" 2>&1' "the segment"
grep -q "state            READY (writer alive)" "$work/header.log" || fail "header does not show READY"
grep -q "8 symbols x 2 intervals (1m,1h) x 16 bars" "$work/header.log" || fail "header geometry wrong"
[ "$(stat -c %a "/dev/shm/$segment")" = 640 ] || fail "segment mode is $(stat -c %a "/dev/shm/$segment"), expected 640"

set +e
"$bin/screenerd" --config "$work/screener.toml" > "$work/second.log" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || fail "second screenerd exited $status, expected 1"
grep -q "owned by a live writer (pid $daemon" "$work/second.log" || fail "second screenerd does not name the holder"

"$bin/screener-worker" --segment "$segment" --attach-timeout-ms 500 > "$work/worker.log" 2>&1 &
worker=$!
pids+=("$worker")
wait_for 'grep -q "attached to segment" "$work/worker.log"' "the worker to attach"

kill -TERM "$daemon"
wait_for '! kill -0 $daemon 2>/dev/null' "screenerd to exit"
grep -q "Terminated received: shutting down" "$work/daemon.log" || fail "screenerd did not shut down cleanly"
[ ! -e "/dev/shm/$segment" ] || fail "segment still exists after SIGTERM"
wait_for 'grep -q "writer shut down" "$work/worker.log"' "the worker to notice the shutdown"
# With no daemon coming back, the worker gives up after its attach timeout with a clear error.
wait_for '! kill -0 $worker 2>/dev/null' "the worker to give up"
set +e; wait "$worker"; status=$?; set -e
[ "$status" -eq 1 ] || fail "worker exited $status after its attach timeout, expected 1"
grep -q "gave up attaching after 500 ms" "$work/worker.log" || fail "worker did not say why it gave up"
echo "binaries behave"
