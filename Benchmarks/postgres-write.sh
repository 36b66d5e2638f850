#!/usr/bin/env bash
# The PostgreSQL sink's write volume, measured end to end: a release tallyd (5-second
# windows, the demo's prices) writing into a throwaway PostgreSQL 15 (Tools/postgres-test-
# cluster.sh: fsync off, 32 MB shared buffers, on this machine's disk), fed the demo fleet
# (Tools/demo-fleet.toml) by tally-load over ipc:// at RATE frames/s for SECONDS.
#
#   Benchmarks/postgres-write.sh [RATE=2000] [SECONDS=60] [PRODUCERS=1] [MEMORY_BUDGET_MIB=1024]
#
# Prints: frames sent and stored, series rows and rows/s, bytes per row (heap, TOAST and
# indexes of the series partitions after VACUUM ANALYZE), MB a day at this rate, and the
# sink's lag (stored_at − window_end of each window row: growing lag = falling behind).
# Loopback only; stops everything it started, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-2000}
SECONDS_RUN=${2:-60}
PRODUCERS=${3:-1}
BUDGET=${4:-1024}
WINDOW=5

for product in tallyd tally-load; do
    [ -x ".build/release/$product" ] || swift build -c release --product "$product"
done
Tools/postgres-test-cluster.sh install

dir=$(mktemp -d /tmp/tally-pg-write.XXXXXX)
chmod 755 "$dir"
tallyd_pid=""
cleanup() {
    [ -n "$tallyd_pid" ] && kill -9 "$tallyd_pid" 2>/dev/null || true
    Tools/postgres-test-cluster.sh destroy "$dir/pg" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

port=$(Tools/postgres-test-cluster.sh start "$dir/pg" | tail -1)
sql() { /usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 -h "$dir/pg" -p "$port" -U postgres -d "${2:-tally}" -c "$1"; }
sql "CREATE ROLE tally LOGIN PASSWORD 'bench'" postgres
sql "CREATE DATABASE tally OWNER tally" postgres
sql "CREATE EXTENSION hll"
sql "CREATE EXTENSION tdigest"
echo bench >"$dir/password"

{
    cat <<EOF
collector_id = "bench"
window_seconds = $WINDOW
allowed_lateness_seconds = 1
memory_budget_mib = $BUDGET
http_listen = ""
index = false
fsync = "never"
postgres_url = "postgres://tally@127.0.0.1:$port/tally"
postgres_password_file = "$dir/password"

EOF
    sed -n '/^\[prices/,$p' Tools/demo.toml
} >"$dir/tally.toml"

.build/release/tallyd --config "$dir/tally.toml" --data-dir "$dir/data" --endpoint "ipc://$dir/in" \
    --pub "" --replay "" >"$dir/tallyd.log" 2>&1 &
tallyd_pid=$!
for _ in $(seq 600); do [ -S "$dir/in" ] && break; sleep 0.1; done
[ -S "$dir/in" ] || { cat "$dir/tallyd.log"; exit 1; }

.build/release/tally-load --endpoint "ipc://$dir/in" --rate "$RATE" --duration "$SECONDS_RUN" \
    --producers "$PRODUCERS" --profile Tools/demo-fleet.toml --quiet --json >"$dir/load.json"
kill -INT "$tallyd_pid"
wait "$tallyd_pid" || true
tallyd_pid=""

sql "VACUUM ANALYZE" >/dev/null
python3 - "$dir/load.json" "$RATE" "$SECONDS_RUN" "$WINDOW" <<'PYTHON' "$(sql "
    SELECT count(*), coalesce(sum(requests), 0),
           (SELECT count(*) FROM tally.windows),
           (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'tally.series'::regclass),
           (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'tally.windows'::regclass),
           (SELECT coalesce(max(series_count), 0) FROM tally.windows),
           (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - window_end)), 0) FROM tally.windows),
           (SELECT coalesce(max(extract(epoch FROM stored_at - window_end)), 0) FROM tally.windows)
    FROM tally.series")"
import json, sys
load = json.load(open(sys.argv[1]))
rate, seconds, window = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows, requests, windows, series_bytes, window_bytes, widest, lag_median, lag_max = sys.argv[5].split("|")
rows, requests, windows = int(rows), int(requests), int(windows)
series_bytes, window_bytes, widest = int(series_bytes), int(window_bytes), int(widest)
print(f"rate {rate:,.0f} frames/s asked for {seconds:.0f} s, {window:.0f}-s windows: sent {load['sent']:,} frames "
      f"({load['sent'] / load['total_seconds']:,.0f}/s), dropped by the clients {sum(load['dropped'].values()):,}; {requests:,} stored")
print(f"windows {windows}, series rows {rows:,} (at most {widest:,} in one window)")
print(f"rows/s {rows / seconds:,.0f}; bytes/row {series_bytes / max(rows, 1):,.0f}; "
      f"MB/day {(series_bytes + window_bytes) / seconds * 86400 / 1e6:,.0f}")
print(f"sink lag (stored_at - window_end): median {float(lag_median):.2f} s, max {float(lag_max):.2f} s")
PYTHON
