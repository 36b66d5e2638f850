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
# The index scenario tests run a release tallyd (1-second windows; a debug build's index
# evaluation takes over half of each window): built here, named by TALLY_TEST_TALLYD.
swift build -c release --product tallyd 2>&1 | grep -v 'prohibited flag' | tail -1
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "test.sh: release build of tallyd failed ($status)"; exit "$status"; }
export TALLY_TEST_TALLYD="$PWD/.build/release/tallyd"
swift test --skip-build 2>&1 | grep -v 'prohibited flag'
status=${PIPESTATUS[0]}
# The Python producer library against the same release tallyd (pytest; installs what it needs).
Tools/test-python.sh
python_status=$?
# Fuzzing (Fuzz/README.md), every decoder of outside bytes under libFuzzer + ASan. The gate is
# deterministic: each target over its committed corpus, where every past finding stays as a
# regression-* input. Then 30 s of exploration per target, which reports what it finds
# (saved under .build-fuzz/crashes/) without failing the run: a random search must not
# decide whether a change lands; a finding becomes a fix and a regression input.
Tools/fuzz.sh replay all
fuzz_status=$?
Tools/fuzz.sh all 30 || echo "test.sh: WARNING: fuzz exploration found an input to triage (not gating; Fuzz/README.md, \"Findings\")"
[ "$status" -eq 0 ] || { echo "test.sh: swift test failed ($status)"; exit "$status"; }
[ "$python_status" -eq 0 ] || { echo "test.sh: Python tests failed ($python_status)"; exit "$python_status"; }
[ "$fuzz_status" -eq 0 ] || { echo "test.sh: a fuzz corpus input fails ($fuzz_status)"; exit "$fuzz_status"; }
