#!/usr/bin/env bash
# screenerd speaks the systemd notify protocol (Type=notify, WatchdogSec=): a stand-in for the
# service manager listens on NOTIFY_SOCKET and must see READY=1 with a STATUS= line, WATCHDOG=1
# every WatchdogSec/2, RELOADING=1 then READY=1 around a SIGHUP, and STOPPING=1 on SIGTERM.
# Needs python3 for the listener; exits 77 (skipped) without it.
# usage: sd_notify_test.sh BIN_DIR
set -euo pipefail
bin=$1
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
work=$(mktemp -d)
segment="screener-notifytest-$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -f "/dev/shm/$segment" "/dev/shm/$segment.lock"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- notifications"; cat "$work/notify.log"; echo "--- daemon.log"; cat "$work/daemon.log"; exit 1; }
wait_for() {
  for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done
  fail "timed out waiting for $2"
}

# The service manager's end: one line per datagram, newlines inside shown as '|'.
python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        log.write(data.decode().replace("\n", "|") + "\n")
PY
pids+=($!)
wait_for '[ -S "$work/notify.sock" ]' "the notify socket"
touch "$work/notify.log"

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

# WatchdogSec=0.4 s: WATCHDOG=1 every 0.2 s.
NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=400000 \
  "$bin/screenerd" --config "$work/screener.toml" > "$work/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
wait_for 'grep -q "^READY=1|STATUS=0 symbols, 0 workers connected$" "$work/notify.log"' "READY=1 with its status"
# READY=1 comes after the segment is READY and the socket is open.
[ -S "$work/screenerd.sock" ] || fail "READY=1 before the workers' socket exists"
wait_for '[ "$(grep -c "^WATCHDOG=1$" "$work/notify.log")" -ge 4 ]' "WATCHDOG=1 every 0.2 s"

kill -HUP "$daemon"
wait_for 'grep -q "^RELOADING=1|MONOTONIC_USEC=[0-9]*$" "$work/notify.log"' "RELOADING=1"
wait_for '[ "$(grep -c "^READY=1" "$work/notify.log")" -ge 2 ]' "READY=1 after the reload"
[ "$(grep -n "^RELOADING=1" "$work/notify.log" | cut -d: -f1)" -lt \
  "$(grep -n "^READY=1" "$work/notify.log" | tail -1 | cut -d: -f1)" ] || fail "READY=1 did not follow RELOADING=1"

kill -TERM "$daemon"
wait_for '! kill -0 $daemon 2>/dev/null' "screenerd to exit"
wait_for 'grep -q "^STOPPING=1|STATUS=shutting down$" "$work/notify.log"' "STOPPING=1"
echo "notify protocol spoken: $(sort "$work/notify.log" | sed 's/=.*//' | uniq -c | tr -s ' \n' ' ')"
