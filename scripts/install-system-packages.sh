#!/usr/bin/env bash
# Install the Debian packages the platform and its tests use, only those that are missing.
# Real services come from Debian: PostgreSQL, Ceph (mon, OSD, RGW), Chromium, Node.js for
# configurable-http-proxy. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  postgresql            # lineage store in cluster mode and its tests (initdb + pg_ctl)
  ceph-mon ceph-osd radosgw ceph-common   # throw-away Ceph RGW for S3 tests
  chromium              # browser tests through Playwright (never a downloaded browser)
  nodejs npm            # configurable-http-proxy for JupyterHub
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
# node and npm may come from elsewhere than Debian (e.g. a preinstalled toolchain)
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do [[ $pkg == nodejs || $pkg == npm ]] || filtered+=("$pkg"); done
  missing=("${filtered[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
