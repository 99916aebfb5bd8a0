#!/usr/bin/env bash
# The systemd units, checked offline as systemd itself would load them: `systemd-analyze verify`
# on every unit (any warning fails the test), and the sysusers.d and tmpfiles.d files applied to
# a throw-away root. Needs no running systemd, only the `systemd` package (scripts/install-deps.sh).
# verify needs the ExecStart= binaries to exist, so it reads a copy of the units whose /usr/bin
# paths point at the build's binaries.
# usage: systemd_units_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1
bin=$2
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (scripts/install-deps.sh installs systemd)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
systemd-analyze --version | head -1

mkdir "$work/units"
units=()
for unit in "$src"/systemd/*.service "$src"/systemd/*.target; do
  name=$(basename "$unit")
  sed -e "s|/usr/bin/screenerd|$bin/screenerd|g" -e "s|/usr/bin/screener-worker|$bin/screener-worker|g" \
    "$unit" > "$work/units/$name"
  units+=("$name")
done
[ ${#units[@]} -ge 3 ] || fail "expected at least 3 units in $src/systemd, found ${units[*]}"
# A template is verified through an instance of it.
cd "$work/units"
for name in "${units[@]}"; do
  case $name in *@.service) ln -s "$name" "${name/@./@0.}"; name=${name/@./@0.} ;; esac
  set +e
  output=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "./$name" 2>&1)
  status=$?
  set -e
  if [ "$status" -ne 0 ] || [ -n "$output" ]; then
    echo "$output"
    fail "systemd-analyze verify $name: exit $status, output above"
  fi
  echo "systemd-analyze verify $name: ok"
done

# sysusers.d: creates the system user and group screener, home /var/lib/screener.
mkdir -p "$work/root/etc"
systemd-sysusers --root="$work/root" "$src/systemd/sysusers.d/screener.conf" > "$work/sysusers.log" 2>&1 ||
  { cat "$work/sysusers.log"; fail "systemd-sysusers"; }
grep -q '^screener:x:[0-9]*:[0-9]*:.*:/var/lib/screener:/usr/sbin/nologin$' "$work/root/etc/passwd" ||
  { cat "$work/root/etc/passwd"; fail "no system user screener"; }
grep -q '^screener:x:[0-9]*:' "$work/root/etc/group" || fail "no group screener"
echo "systemd-sysusers screener.conf: ok"

# tmpfiles.d: applied to the same root, with no warning.
mkdir -p "$work/root/etc/screener" && touch "$work/root/etc/screener/screener.env"
output=$(systemd-tmpfiles --root="$work/root" --create "$src/systemd/tmpfiles.d/screener.conf" 2>&1) ||
  { echo "$output"; fail "systemd-tmpfiles"; }
[ -z "$output" ] || { echo "$output"; fail "systemd-tmpfiles warned"; }
[ "$(stat -c %a "$work/root/var/lib/screener")" = 750 ] || fail "/var/lib/screener is not 0750"
[ "$(stat -c %a "$work/root/etc/screener/screener.env")" = 640 ] || fail "screener.env is not 0640"
echo "systemd-tmpfiles screener.conf: ok"
