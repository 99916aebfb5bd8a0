#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts every file where packaging/CMakeLists.txt says,
# and the installed configuration is valid with the segment's group set to screener. With
# dpkg-deb installed, `cpack -G DEB` builds the package into a temporary directory and its
# listing, control fields and conffiles are checked too.
# usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
expected=(
  bin/screenerd bin/screener-worker bin/screenerctl
  lib/systemd/system/screenerd.service lib/systemd/system/screener-worker@.service lib/systemd/system/screener.target
  lib/sysusers.d/screener.conf lib/tmpfiles.d/screener.conf
  etc/screener/screener.toml etc/screener/traders.d
  share/doc/screener/README.md share/doc/screener/workers.md
)
for path in "${expected[@]}"; do
  [ -e "$prefix/$path" ] || fail "$path not installed"
done
for path in bin/screenerd bin/screener-worker bin/screenerctl; do
  [ -x "$prefix/$path" ] || fail "$path is not executable"
done
[ -n "$(ls "$prefix"/etc/screener/traders.d/*.toml)" ] || fail "no example traders installed"
grep -qx 'group = "screener"' "$prefix/etc/screener/screener.toml" || fail "installed config does not set group = \"screener\""
# The installed configuration and traders are valid (the traders directory pointed at the copy).
sed "s|^dir = \"/etc/screener/traders.d\"|dir = \"$prefix/etc/screener/traders.d\"|" \
  "$prefix/etc/screener/screener.toml" > "$work/check.toml"
"$prefix/bin/screenerd" --config "$work/check.toml" --check-config > "$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "screenerd --check-config rejects the installed configuration"; }
echo "cmake --install: $(find "$prefix" -type f | wc -l) files"

if ! command -v dpkg-deb >/dev/null || ! command -v cpack >/dev/null; then
  echo "dpkg-deb or cpack not installed: the .deb is not checked"
  exit 0
fi
(cd "$build" && cpack -G DEB -B "$work/deb") > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$work"/deb/screener_*.deb)
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' > "$work/listing"
for path in /usr/bin/screenerd /usr/bin/screener-worker /usr/bin/screenerctl \
            /usr/lib/systemd/system/screenerd.service /usr/lib/systemd/system/screener-worker@.service \
            /usr/lib/systemd/system/screener.target /usr/lib/sysusers.d/screener.conf \
            /usr/lib/tmpfiles.d/screener.conf /etc/screener/screener.toml /usr/share/doc/screener/README.md; do
  grep -qx "$path" "$work/listing" || { cat "$work/listing"; fail "$path missing from $(basename "$deb")"; }
done
! grep -q '^/usr/etc' "$work/listing" || fail "configuration packaged under /usr/etc"
dpkg-deb -f "$deb" Package | grep -qx screener || fail "package name is not screener"
if command -v dpkg-shlibdeps >/dev/null; then
  dpkg-deb -f "$deb" Depends | grep -q 'libc6' || fail "Depends does not list the libraries: $(dpkg-deb -f "$deb" Depends)"
fi
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/screener/screener.toml "$work/control/conffiles" || fail "screener.toml is not a conffile"
for script in postinst prerm postrm; do [ -x "$work/control/$script" ] || fail "no $script"; done
echo "$(basename "$deb"): $(grep -c . "$work/listing") entries, Depends: $(dpkg-deb -f "$deb" Depends)"
