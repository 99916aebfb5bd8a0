#!/usr/bin/env bash
# screenerd --spawn-workers: the daemon starts its workers once the segment is READY, restarts
# one that is killed (after its 1 s backoff), and on SIGTERM stops them all and leaves no process
# and no segment behind. Every wait is bounded.
# usage: spawn_workers_test.sh BIN_DIR
set -euo pipefail
bin=$1
work=$(mktemp -d)
segment="screener-spawntest-$$"
daemon=
cleanup() {
  if [ -n "$daemon" ]; then
    pkill -KILL -P "$daemon" 2>/dev/null || true
    kill -KILL "$daemon" 2>/dev/null || true
  fi
  rm -f "/dev/shm/$segment" "/dev/shm/$segment.lock"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- daemon.log"; cat "$work/daemon.log"; exit 1; }
wait_for() {
  for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done
  fail "timed out waiting for $2"
}
# The workers screenerd started: children of $daemon running screener-worker.
workers() { pgrep -P "$daemon" -f screener-worker || true; }
worker_pid() { sed -n "s/.*worker $1 started: pid \([0-9]*\).*/\1/p" "$work/daemon.log" | tail -1; }

mkdir -p "$work/traders"
cat > "$work/screener.toml" <<TOML
[segment]
name = "$segment"
max_symbols = 8
journal_capacity = 1024
[market]
intervals = ["1m"]
depth = 16
[exchange]
# Nothing listens here: the ingest keeps retrying, which is all this test needs.
ws_url = "ws://127.0.0.1:9"
rest_url = "http://127.0.0.1:9"
[traders]
dir = "$work/traders"
socket = "$work/screenerd.sock"
state_dir = "$work/state"
[signals]
jsonl = "-"
stdout = false
TOML

# A worker binary that is not there is refused before anything runs.
set +e
"$bin/screenerd" --config "$work/screener.toml" --spawn-workers 1 --worker-binary "$work/missing" \
  > "$work/missing.log" 2>&1
status=$?
set -e
[ "$status" -eq 2 ] || { cat "$work/missing.log"; fail "a missing worker binary exited $status, expected 2"; }
grep -q "worker binary $work/missing is not executable" "$work/missing.log" || fail "missing binary not named"
[ ! -e "/dev/shm/$segment" ] || fail "segment left behind after a refused start"

"$bin/screenerd" --config "$work/screener.toml" --spawn-workers 2 > "$work/daemon.log" 2>&1 &
daemon=$!
wait_for 'grep -q "\[worker 0\].*attached to segment" "$work/daemon.log"' "worker 0 to attach"
wait_for 'grep -q "\[worker 1\].*attached to segment" "$work/daemon.log"' "worker 1 to attach"
wait_for 'grep -q "workers connected: 0, 1\|workers connected: 1, 0" "$work/daemon.log"' "both workers to connect"
[ "$(workers | wc -l)" -eq 2 ] || fail "expected 2 worker processes, found: $(workers | tr '\n' ' ')"

first=$(worker_pid 1)
[ -n "$first" ] || fail "no pid logged for worker 1"
kill -KILL "$first"
wait_for 'grep -q "worker 1 (pid $first) killed by signal 9 (SIGKILL) after .*; restarting in 1.0 s" "$work/daemon.log"' \
  "the exit of worker 1 to be logged"
wait_for '[ -n "$(worker_pid 1)" ] && [ "$(worker_pid 1)" != "$first" ]' "worker 1 to be restarted"
second=$(worker_pid 1)
wait_for 'kill -0 $second 2>/dev/null && [ "$(workers | wc -l)" -eq 2 ]' "two workers again"
wait_for '[ "$(grep -c "\[worker 1\].*attached to segment" "$work/daemon.log")" -ge 2 ]' "the new worker 1 to attach"

all="$(workers | tr '\n' ' ')"
kill -TERM "$daemon"
wait_for '! kill -0 $daemon 2>/dev/null' "screenerd to exit"
set +e; wait "$daemon"; status=$?; set -e
daemon=
[ "$status" -eq 0 ] || fail "screenerd exited $status after SIGTERM, expected 0"
for pid in $all; do
  ! kill -0 "$pid" 2>/dev/null || fail "worker pid $pid still runs after screenerd stopped"
done
grep -q "worker 0 (pid [0-9]*) exited with status 0" "$work/daemon.log" || fail "worker 0 did not stop cleanly"
grep -q "worker 1 (pid $second) exited with status 0" "$work/daemon.log" || fail "worker 1 did not stop cleanly"
[ ! -e "/dev/shm/$segment" ] || fail "segment still exists after SIGTERM"
echo "spawned workers behave"
