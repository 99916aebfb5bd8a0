#!/usr/bin/env bash
# Installs the Debian 12 packages screener builds and runs with. Idempotent: packages already
# present are left alone and apt is not touched at all when nothing is missing.
# Works as root or through sudo; nothing is downloaded at build time.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev          # Asio and Beast for the network edges (Debian 12 defaults to 1.74)
  libspdlog-dev libfmt-dev libsimdjson-dev libtomlplusplus-dev
  libssl-dev libsystemd-dev zlib1g-dev   # zlib reads the gzip-compressed kline CSVs
  catch2                    # v2, the unit-test framework
  openssl                   # makes the throw-away CA and certificates of the TLS tests
  systemd                   # systemd-analyze, -sysusers, -tmpfiles: the units' test (offline)
  procps                    # /bin/kill, screenerd.service's ExecReload= (the units' test checks it exists)
  dpkg-dev file             # dpkg-shlibdeps and file(1): the .deb's Depends (cpack -G DEB)
  python3                   # the stand-in for systemd's notify socket in the sd_notify test
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and neither root nor sudo available" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
