#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs every test.
# libzmq's pkg-config pulls in a harmless "prohibited flag(s): -isystem" warning; it is filtered.
set -eu
cd "$(dirname "$0")/.."
Tools/setup.sh
set +e
swift build --build-tests 2>&1 | grep -v 'prohibited flag'
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "test.sh: build failed ($status)"; exit "$status"; }
swift test --skip-build 2>&1 | grep -v 'prohibited flag'
exit "${PIPESTATUS[0]}"
