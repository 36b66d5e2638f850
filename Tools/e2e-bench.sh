#!/usr/bin/env bash
# The end-to-end throughput benchmark (issue: load testing). In one go, on this machine:
#  1. raw ZeroMQ baseline: tally-load --max producers → tally-count (a PULL socket that
#     only counts frames from batch headers), as fast as the producers go;
#  2. the full pipeline: the same producers, also --max → tallyd (decode, route,
#     aggregate, flush to the file sink), with 1 and 2 shards, checked with tally-load
#     --verify (a row says FAILED when the frames do not balance). --max is closed loop:
#     the clients wait for a collector that is behind (up to 1 s a batch) instead of
#     dropping, so both runs measure how fast the receiving side takes frames;
#  for several producer counts and batch sizes; then
#  3. sustained runs of 60 s into tallyd with 2 shards, verified, with tallyd's resident
#     memory sampled every second: open loop at a fixed rate (E2E_RATE; the clients drop
#     rather than wait, as an inference server's would), then closed loop (--max), whose
#     rate is compared with the raw baseline of the same producers measured just before.
# Loopback only; every process is bounded in time and stopped by this script.
#  4. (--web) the web face under use: closed-loop runs into tallyd (2 shards) in alternating
#     pairs, one with the web face idle, one while clients poll it as a Prometheus scraping
#     every second (/metrics and /metrics/vllm) and a dashboard open in a browser (/ and a
#     breakdown page at every window, as its refresh does) would; the ratio of the medians.
#  5. (--journal) the ingest journal's cost: the same alternating pairs, one with
#     TALLY_JOURNAL=false, one with the journal on (the default, or in E2E_JOURNAL_DIRECTORY,
#     e.g. a tmpfs such as /dev/shm/tally-e2e-journal); the ratio of the medians.
# Usage: Tools/e2e-bench.sh [--quick | --sustained | --web | --journal]
#   --quick: 4 s runs, 15 s sustained runs; --sustained: only the sustained runs;
#   --web: only the web-face comparison (E2E_WEB_PAIRS pairs, default 5).
# Environment: E2E_RATE (open-loop frames/s, default 2000000), E2E_SECONDS (default 10),
#              E2E_SUSTAINED_SECONDS (default 60), E2E_PORT (default 7591),
#              E2E_BATCH (sustained runs' batch bytes, default 65536), E2E_PRODUCERS (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh >/dev/null
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }
for product in tallyd tally-load tally-count; do
    swift build -c release --product "$product" 2>&1 | grep -v 'prohibited flag' | tail -1
done
bin=.build/release
seconds=${E2E_SECONDS:-10}
sustained=${E2E_SUSTAINED_SECONDS:-60}
rate=${E2E_RATE:-2000000}
port=${E2E_PORT:-7591}
batch_sustained=${E2E_BATCH:-65536}
producers_sustained=${E2E_PRODUCERS:-1}
table=yes
case "${1:-}" in
    --quick) seconds=4; sustained=15 ;;
    --sustained) table=no ;;
    --web) table=web ;;
    --journal) table=journal ;;
    "") ;;
    *) echo "usage: Tools/e2e-bench.sh [--quick | --sustained | --web | --journal]"; exit 2 ;;
esac
endpoint="tcp://127.0.0.1:$port"
work=$(mktemp -d)
daemon=""
cleanup() { [ -n "$daemon" ] && kill -INT "$daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A top-level number from tally-load's or tally-count's JSON (per-producer arrays skipped).
field() { sed 's/"producers":\[[^]]*\]//g' "$2" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'; }
now() { date +%s.%N; }
# Waits until tallyd has been idle (< 10 % of a core over 200 ms): it has processed all it was sent.
wait_idle() {
    local previous current
    previous=$(cpu_ticks "$daemon")
    while sleep 0.2; do
        current=$(cpu_ticks "$daemon")
        [ $((current - previous)) -le $((ticks / 50)) ] && return
        previous=$current
    done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
ticks=$(getconf CLK_TCK)

# Frames/s of tally-load --max (the given options) into tally-count, the raw ZeroMQ baseline;
# exits when the counter did not see every frame sent.
raw_baseline() {
    "$bin/tally-count" --endpoint "$endpoint" --idle 2 >"$work/count.json" &
    local counter=$!
    sleep 0.3
    "$bin/tally-load" "$@" --max >"$work/load.json"
    wait "$counter"
    [ "$(field frames "$work/count.json")" = "$(field sent "$work/load.json")" ] || { echo "baseline lost frames" >&2; exit 1; }
    field rate "$work/count.json"
}

# Closed-loop runs give tallyd a short receive queue (ZeroMQ's high-water mark, in batches):
# producers that go as fast as it takes would otherwise fill the default 10,000 batches
# (~6 M frames, seconds of backlog), and frames that wait longer than the allowed lateness
# arrive late. Open-loop runs keep the default, room for bursts.
closed_queue=256
web_port=$((port + 1))
start_tallyd() {  # shards [receive queue in batches; tallyd's default when not given]
    rm -rf "$work/data"
    env ${2:+TALLY_RECEIVE_QUEUE=$2} ${tallyd_env:-} TALLY_HTTP_VLLM_METRICS=true \
        "$bin/tallyd" --endpoint "$endpoint" --data-dir "$work/data" --shards "$1" --pub "" --replay "" \
        --http "127.0.0.1:$web_port" >"$work/tallyd.log" 2>&1 &
    daemon=$!
    for _ in $(seq 50); do grep -q "ingest on" "$work/tallyd.log" 2>/dev/null && return; sleep 0.1; done
    echo "tallyd did not start:"; cat "$work/tallyd.log"; exit 1
}
stop_tallyd() { kill -INT "$daemon"; wait "$daemon" || true; daemon=""; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
echo

# Frames/s into windows of one closed-loop run of $seconds (2 shards, 1 producer, 64 KiB
# batches); with "web", curl polls the web face meanwhile as Prometheus and a dashboard would.
web_face_run() {  # plain | web | nojournal
    tallyd_env=""
    if [ "$1" = nojournal ]; then tallyd_env=TALLY_JOURNAL=false; fi
    if [ "$1" = plain ] && [ -n "${E2E_JOURNAL_DIRECTORY:-}" ]; then
        rm -rf "$E2E_JOURNAL_DIRECTORY"
        tallyd_env="TALLY_JOURNAL_DIRECTORY=$E2E_JOURNAL_DIRECTORY"
    fi
    start_tallyd 2 "$closed_queue"
    local poller="" started finished
    if [ "$1" = web ]; then
        command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
        (   local tick=0 window=10  # tallyd's default window: the dashboard's refresh interval
            while true; do
                curl -s -o /dev/null "http://127.0.0.1:$web_port/metrics"
                curl -s -o /dev/null "http://127.0.0.1:$web_port/metrics/vllm"
                if [ $((tick % window)) = 0 ]; then
                    curl -s -o /dev/null "http://127.0.0.1:$web_port/"
                    curl -s -o /dev/null "http://127.0.0.1:$web_port/?kind=model_ring"
                fi
                tick=$((tick + 1)); sleep 1
            done ) &
        poller=$!
    fi
    started=$(now)
    "$bin/tally-load" --endpoint "$endpoint" --producers 1 --batch-bytes 65536 --duration "$seconds" --quiet --json \
        --max --verify "$work/data" --verify-timeout 60 >"$work/load.json" &
    local loader=$!
    sleep "$seconds"
    wait_idle
    finished=$(now)
    [ -n "$poller" ] && { kill "$poller"; wait "$poller" 2>/dev/null || true; }
    wait "$loader" || true
    stop_tallyd
    echo "$(field in_windows "$work/load.json") / ($finished - $started)" | bc -l
}
# Alternating pairs of closed-loop runs, mode A then mode B; prints each pair and the
# ratio of the medians B/A. Arguments: title, A's mode and name, B's mode and name.
paired_runs() {
    local title=$1 mode_a=$2 name_a=$3 mode_b=$4 name_b=$5 pairs=${E2E_WEB_PAIRS:-5} a b
    local first=() second=()
    echo "$title: $pairs alternating pairs of $seconds s closed-loop runs (tallyd 2 shards, 1 producer, 64 KiB batches)"
    echo "| pair | $name_a frames/s | $name_b frames/s | ratio |"
    echo "|---|---|---|---|"
    for pair in $(seq "$pairs"); do
        a=$(web_face_run "$mode_a"); b=$(web_face_run "$mode_b")
        first+=("$a"); second+=("$b")
        echo "| $pair | $(printf '%.2f M' "$(echo "$a / 1000000" | bc -l)") | $(printf '%.2f M' "$(echo "$b / 1000000" | bc -l)") | $(printf '%.3f' "$(echo "$b / $a" | bc -l)") |"
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
    a=$(median "${first[@]}"); b=$(median "${second[@]}")
    echo
    echo "medians: $name_a $(printf '%.2f M' "$(echo "$a / 1000000" | bc -l)"), $name_b $(printf '%.2f M' "$(echo "$b / 1000000" | bc -l)") frames/s; ratio $(printf '%.3f' "$(echo "$b / $a" | bc -l)")"
}
if [ "$table" = web ]; then
    paired_runs "web face" plain "web face idle" web "polled (1 s /metrics + /metrics/vllm, dashboard every 10 s)"
    exit 0
fi
if [ "$table" = journal ]; then
    paired_runs "ingest journal" nojournal "journal off" plain "journal on"
    exit 0
fi
if [ "$table" = yes ]; then
echo "raw ZeroMQ: tally-load --max into tally-count; tallyd: tally-load --max (closed loop)"
echo
echo "| producers | batch | raw ZeroMQ frames/s | tallyd 1 shard frames/s | ratio | tallyd 2 shards frames/s | ratio | 2 shards: tallyd CPU | peak RSS | client drops | collector drops | balance |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for producers in 1 2; do
    for batch in 16384 65536; do
        load=(--endpoint "$endpoint" --producers "$producers" --batch-bytes "$batch" --duration "$seconds" --quiet --json)
        raw=$(raw_baseline "${load[@]}")
        row="| $producers | $((batch / 1024)) KiB | $(printf '%.2f M' "$(echo "$raw / 1000000" | bc -l)")"
        for shards in 1 2; do
            start_tallyd "$shards" "$closed_queue"
            before=$(cpu_ticks "$daemon"); started=$(now)
            "$bin/tally-load" "${load[@]}" --max --verify "$work/data" --verify-timeout 60 >"$work/load.json" &
            loader=$!
            sleep "$seconds"
            wait_idle
            finished=$(now); after=$(cpu_ticks "$daemon")
            wait "$loader" || true  # the row says whether it balanced
            hwm=$(hwm_kib "$daemon")
            stop_tallyd
            # Frames aggregated into windows per second, from the start of the load until
            # tallyd went idle (it keeps draining what ZeroMQ buffered after the producers stop).
            elapsed=$(echo "$finished - $started" | bc -l)
            full=$(echo "$(field in_windows "$work/load.json") / $elapsed" | bc -l)
            row="$row | $(printf '%.2f M' "$(echo "$full / 1000000" | bc -l)") | $(printf '%.2f' "$(echo "$full / $raw" | bc -l)")"
            if [ "$shards" = 2 ]; then
                cpu=$(echo "($after - $before) / $ticks / $elapsed" | bc -l)
                drops=$(grep -o '"dropped":{[^}]*}' "$work/load.json" | tail -1 | sed 's/"dropped"://')
                client=$(grep -o '"dropped":{[^}]*}' "$work/load.json" | head -1 | sed 's/"dropped"://')
                row="$row | $(printf '%.2f cores' "$cpu") | $((hwm / 1024)) MiB | $client | $drops | $(field passed "$work/load.json" | sed 's/true/verified/;s/false/FAILED/')"
            fi
        done
        echo "$row |"
    done
done
echo
echo "(tallyd frames/s = frames aggregated into windows / time from the start of the load until tallyd"
echo " went idle; client drops = frames the producers' clients could not hand to ZeroMQ within 1 s"
echo " (collector behind); collector drops = frames tallyd received and counted as dropped;"
echo " balance = --verify.)"
echo
fi
sustained_load=(--endpoint "$endpoint" --producers "$producers_sustained" --batch-bytes "$batch_sustained" --quiet --json)
# The raw baseline of the sustained runs' own producers and batch size, measured just before them.
baseline=$(raw_baseline "${sustained_load[@]}" --duration "$seconds")
echo "sustained: tallyd 2 shards, $producers_sustained producer(s), $((batch_sustained / 1024)) KiB batches," \
    "$sustained s each, verified; raw ZeroMQ baseline of the same producers and batches:" \
    "$(printf '%.2f M' "$(echo "$baseline / 1000000" | bc -l)") frames/s"

# One sustained run into a fresh tallyd (2 shards): tally-load with the given rate options
# for $sustained s, verified, tallyd's RSS sampled every second. Prints its lines; returns
# non-zero when a frame was lost or dropped anywhere.
sustained_run() {  # label, receive queue ("": tallyd's default), tally-load rate options...
    local label=$1 queue=$2; shift 2
    start_tallyd 2 "$queue"
    local started; started=$(now)
    "$bin/tally-load" "${sustained_load[@]}" "$@" --duration "$sustained" \
        --verify "$work/data" --verify-timeout 40 >"$work/sustained.json" &
    local loader=$!
    sleep 5
    local rss_start before samples=()
    rss_start=$(rss_kib "$daemon"); before=$(cpu_ticks "$daemon")
    for _ in $(seq $((sustained - 6))); do sleep 1; samples+=("$(rss_kib "$daemon")"); done
    local after rss_end status=0
    after=$(cpu_ticks "$daemon"); rss_end=$(rss_kib "$daemon")
    wait_idle  # the load is over and tallyd has processed what it was sent
    local finished; finished=$(now)
    wait "$loader" || status=$?  # verification
    local hwm; hwm=$(hwm_kib "$daemon")
    stop_tallyd
    local min max timeline="" i
    min=$(printf '%s\n' "${samples[@]}" | sort -n | head -1); max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
    # RSS every 5 s (MiB): it grows while the first windows fill, then should stay level.
    for i in "${!samples[@]}"; do
        [ $(((i + 6) % 5)) = 0 ] && timeline="$timeline $((i + 6))s:$((samples[i] / 1024))"
    done
    local dropped windows full
    dropped=$(grep -o '"dropped":{[^}]*}' "$work/sustained.json" | head -1)
    windows=$(field in_windows "$work/sustained.json")
    # As in the table: frames in windows / time from the start of the load until tallyd went idle.
    full=$(echo "$windows / ($finished - $started)" | bc -l)
    echo
    echo "$label:"
    echo "  client: sent $(field sent "$work/sustained.json") at $(printf '%.0f' "$(field rate "$work/sustained.json")") frames/s, $dropped"
    echo "  collector: accepted $(field accepted "$work/sustained.json"), in windows $windows, $(grep -o '"dropped":{[^}]*}' "$work/sustained.json" | tail -1)"
    echo "  tallyd: $(printf '%.2f M' "$(echo "$full / 1000000" | bc -l)") frames/s into windows, ratio to the raw baseline $(printf '%.2f' "$(echo "$full / $baseline" | bc -l)")"
    echo "  tallyd RSS (MiB) by time:$timeline"
    echo "  tallyd CPU $(printf '%.2f' "$(echo "($after - $before) / $ticks / ($sustained - 6)" | bc -l)") cores; RSS at 5 s $((rss_start / 1024)) MiB, at the end $((rss_end / 1024)) MiB, min/max $((min / 1024))/$((max / 1024)) MiB, peak $((hwm / 1024)) MiB"
    if [ "$status" = 0 ] && [ "$dropped" = '"dropped":{}' ] && [ "$windows" = "$(field sent "$work/sustained.json")" ]; then
        echo "  PASSED (every frame sent is in a window: nothing dropped by the clients or the collector)"
    else
        echo "  FAILED (verify exit $status, client $dropped, sent $(field sent "$work/sustained.json"), in windows $windows)"; return 1
    fi
}
failed=0
sustained_run "open loop, $rate frames/s offered" "" --rate "$rate" || failed=1
sustained_run "closed loop (--max)" "$closed_queue" --max || failed=1
exit $failed
