#!/usr/bin/env bash
# Snapshot bytes a frame for the demo fleet (Benchmarks/README.md, "Snapshot format v2"):
# release tallyd with Tools/demo.toml (5-s windows, breakdown keys, heavy hitters) on
# loopback ports of its own, tally-load at 2,000 frames/s for 33 s with the demo profile,
# then each whole window's record bytes from the data directory, read back with the
# Python reader written from SNAPSHOT.md (python/downstream-tests), and where the bytes of
# the whole windows go, by part, in bytes a frame. Extra arguments are
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
from collections import Counter
sys.path.insert(0, "python/downstream-tests")
import tally_snapshot
from tally_snapshot import decode_snapshot
from tally_storage import read_records

# Record lengths: the reader's record decoders wrapped to note where each record ends.
spans = []
def spanning(decode):
    def wrapped(r, *args, **kwargs):
        start = r.offset
        out = decode(r, *args, **kwargs)
        spans.append((decode.__name__, r.offset - start))
        return out
    return wrapped
tally_snapshot.decode_series = spanning(tally_snapshot.decode_series)
tally_snapshot.decode_slice_heavy_hitters = spanning(tally_snapshot.decode_slice_heavy_hitters)

def varint_size(u):
    return 1 if u < 0x80 else 1 + varint_size(u >> 7)

records, torn = read_records(sys.argv[1])
parts, whole_frames = Counter(), 0
print(f"{'window start (µs)':>18} {'frames':>7} {'series':>6} {'cohorts':>7} {'bytes':>8} {'B/frame':>7}  cohort_summaries")
for record in records:
    spans.clear()
    s = decode_snapshot(record.payload)
    frames = sum(x["requests"] for x in s["series"])
    whole = frames >= 9_900  # 5 s at 2,000 frames/s; the first and last windows are partial
    print(f"{s['window_start']:>18} {frames:>7} {len(s['series']):>6} {len(s['cohorts']):>7} {len(record.payload):>8} "
          f"{len(record.payload) / max(frames, 1):>7.1f}  {','.join(s['cohort_summaries']) or '-'}{'' if whole else '  (partial)'}")
    if not whole:
        continue
    whole_frames += frames
    records_bytes = [n for name, n in spans if name == "decode_series"]
    parts["heavy hitters"] += sum(n for name, n in spans if name == "decode_slice_heavy_hitters")
    parts["header, strings, counters"] += len(record.payload) - sum(n for _, n in spans)
    for kind, group, lengths in [("series", s["series"], records_bytes[:len(s["series"])]),
                                 ("cohort", s["cohorts"], records_bytes[len(s["series"]):])]:
        for x, length in zip(group, lengths):
            rest = length
            for name, data in x["digest_bytes"].items():
                size = varint_size(len(data)) + len(data)
                parts[f"{kind} {name} digests"] += size
                rest -= size
            for name, data in x["hll_bytes"].items():
                size = varint_size(len(data)) + len(data)
                parts[f"{kind} {name} HyperLogLogs"] += size
                rest -= size
            size = varint_size(len(x["categories"])) + varint_size(x["other_categories"]) + \
                sum(varint_size(i) + varint_size(n) for i, n in x["categories"])
            parts[f"{kind} categories"] += size
            parts[f"{kind} labels and counters"] += rest - size
print(f"torn records: {torn}")
if whole_frames:
    print(f"\nwhere the bytes of the whole windows go ({whole_frames} frames):")
    for part, size in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {part:<32} {size / whole_frames:6.2f} B/frame")
    print(f"  {'total':<32} {sum(parts.values()) / whole_frames:6.2f} B/frame")
PY
