#!/usr/bin/env bash
# The README's run command: installs what is missing, builds (release), starts tallyd
# with the embedded defaults (file sink under ./tally-data, PUB stream and replay on
# loopback; see Tools/demo.toml) plus a demo fleet from tally-load, and prints the
# per-window summary. Ctrl-C stops both; tallyd flushes the open window first.
# The demo fleet (Tools/demo-fleet.toml) runs a scheduled canary regression from 60 s to
# 180 s, so the index below each table turns red, alerts once, says roll_back, recovers.
# TALLY_DEMO_RATE sets the demo fleet's frames/s (default 2000; 0 = no demo fleet).
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
for product in tallyd tally-load tally-tail; do
    swift build -c release --product "$product" 2>&1 | grep -v 'prohibited flag' | tail -1
done
.build/release/tallyd --config Tools/demo.toml "$@" &
tallyd=$!
load=""
stop() {
    trap - INT TERM
    [ -n "$load" ] && kill -TERM "$load" 2>/dev/null || true
    kill -TERM "$tallyd" 2>/dev/null || true
    wait "$tallyd" || true
}
trap stop INT TERM
rate=${TALLY_DEMO_RATE:-2000}
if [ "$rate" != "0" ]; then
    sleep 1
    .build/release/tally-load --rate "$rate" --profile Tools/demo-fleet.toml --quiet &
    load=$!
    echo "run.sh: demo fleet publishing $rate frames/s to tcp://127.0.0.1:7411; first summary within one window (5 s)."
    echo "run.sh: the index under each table; from 60 s to 180 s the canary of llama-3.1-70b-instruct regresses (Tools/demo-fleet.toml). Ctrl-C stops."
    echo "run.sh: dashboard on http://127.0.0.1:7414/ (metrics on /metrics, API on /api/v1)."
fi
wait "$tallyd"
