#!/usr/bin/env bash
# Instructions per operation of Tally's hot loops, from valgrind --tool=callgrind.
# Instruction counts are stable run to run, unlike times on a shared 2-core VM.
# Usage: Benchmarks/callgrind.sh [kernel …]   (default: every kernel)
# Ir/op = (Ir at N ops − Ir at 0 ops) / N, so set-up and warm-up cancel out.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
swift build -c release --product tally-kernels 2>&1 | grep -v 'prohibited flag' | tail -1
# valgrind 3.19 cannot read the DWARF that Swift 6.3 emits: profile a stripped copy.
binary=$(mktemp)
cp .build/release/tally-kernels "$binary"
strip -g "$binary"
chmod +x "$binary"
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(encode decode ingest client-record client-record-labels tdigest-insert hll-insert aggregate-100 aggregate-70k)
n=200000
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$1" "$2" 2>&1 \
        | awk '/Collected :/ {print $4}'
}
printf '%-16s %12s\n' kernel "Ir/op"
for kernel in "${kernels[@]}"; do
    base=$(ir "$kernel" 0)
    full=$(ir "$kernel" "$n")
    printf '%-16s %12.1f\n' "$kernel" "$(echo "($full - $base) / $n" | bc -l)"
done
rm -f "$binary"
