#!/usr/bin/env bash
# Snapshot bytes a frame for the demo fleet (Benchmarks/README.md, "Snapshot format v2"):
# release tallyd with Tools/demo.toml (5-s windows, breakdown keys, heavy hitters) on
# loopback ports of its own, tally-load at 2,000 frames/s for 33 s with the demo profile,
# then each whole window's record bytes from the data directory, read back with the
# Python reader written from SNAPSHOT.md (python/downstream-tests). Extra arguments are
# passed to tallyd (e.g. a --config of your own after Tools/demo.toml's settings: use
# TALLY_* variables, e.g. TALLY_COHORT_DISTRIBUTIONS=latency,ttft,queue,input_tokens,output_tokens,cost).
# Bounded: stops by itself after ~40 s.
set -euo pipefail
cd "$(dirname "$0")/.."
for product in tallyd tally-load; do
    [ -x ".build/release/$product" ] || swift build -c release --product "$product" 2>&1 | tail -1
done
work=$(mktemp -d)
trap 'kill -TERM "${tallyd:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
.build/release/tallyd --config Tools/demo.toml --endpoint tcp://127.0.0.1:17411 --data-dir "$work/data" \
    --pub "" --replay "" --http "" "$@" > "$work/tallyd.log" 2>&1 &
tallyd=$!
sleep 1
timeout 60 .build/release/tally-load --endpoint tcp://127.0.0.1:17411 --rate 2000 --duration 33 \
    --profile Tools/demo-fleet.toml --quiet
sleep 1
kill -TERM "$tallyd"
wait "$tallyd" || true
python3 - "$work/data" <<'PY'
import sys
sys.path.insert(0, "python/downstream-tests")
from tally_snapshot import decode_snapshot
from tally_storage import read_records

records, torn = read_records(sys.argv[1])
print(f"{'window start (µs)':>18} {'frames':>7} {'series':>6} {'cohorts':>7} {'bytes':>8} {'B/frame':>7}  cohort_summaries")
for record in records:
    s = decode_snapshot(record.payload)
    frames = sum(x["requests"] for x in s["series"])
    whole = frames >= 9_900  # 5 s at 2,000 frames/s; the first and last windows are partial
    print(f"{s['window_start']:>18} {frames:>7} {len(s['series']):>6} {len(s['cohorts']):>7} {len(record.payload):>8} "
          f"{len(record.payload) / max(frames, 1):>7.1f}  {','.join(s['cohort_summaries']) or '-'}{'' if whole else '  (partial)'}")
print(f"torn records: {torn}")
PY
