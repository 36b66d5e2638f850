#!/usr/bin/env bash
# Installs the system libraries Tally builds against, only when missing:
# libzmq3-dev (ZeroMQ), libjemalloc-dev (allocator), zlib1g-dev (gzip bodies of OTLP), pkg-config,
# prometheus-alertmanager (the real Alertmanager and amtool, for the alert sink's tests),
# prometheus (the server the scrape test starts, and promtool), chromium (the headless
# browser the dashboard test drives) and PostgreSQL 15 with the hll and tdigest extensions
# (the throwaway clusters of the PostgreSQL sink's tests, Tools/postgres-test-cluster.sh).
# Debian/Ubuntu with apt-get; run as root or with sudo available.
set -euo pipefail

missing=()
for pkg in libzmq3-dev libjemalloc-dev zlib1g-dev pkg-config prometheus-alertmanager prometheus chromium \
           postgresql-15 postgresql-15-hll postgresql-15-tdigest; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || { echo "setup: swift not found on PATH (expected Swift 6.1+, e.g. /opt/swift/usr/bin)"; exit 1; }
