#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every decoder of outside bytes.
# See Fuzz/README.md.
#
#   Tools/fuzz.sh [TARGET|all] [SECONDS]   build, then fuzz each target SECONDS (default 30)
#   Tools/fuzz.sh build [TARGET|all]       build only
#   Tools/fuzz.sh seeds [TARGET|all]       rewrite Fuzz/corpus/<target>/ from the code's own encoders
#   Tools/fuzz.sh repro TARGET FILE...     run a target once on saved inputs (e.g. a crash)
#   Tools/fuzz.sh replay [TARGET|all]      run each target once over its committed corpus (seeds and
#                                          regression-* inputs), no mutation: deterministic, for CI
#   Tools/fuzz.sh grow TARGET SECONDS      fuzz longer, then merge inputs that add coverage into Fuzz/corpus/<target>/
#
# Targets: batch snapshot tdigest hll config policy otlp journal.
# The package's modules are compiled with swiftc straight from Sources/ into .build-fuzz/
# (instrumented for coverage and ASan); `swift build` is not involved and not changed.
# Each run fuzzes a temporary copy of the seed corpus (the repository's corpus is only read);
# crashes go to .build-fuzz/crashes/<target>-*; the exit status is non-zero if any target
# crashed, leaked, timed out or ran out of memory. Needs only Swift's toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

OUT=.build-fuzz
MODULES=$OUT/modules
ALL_TARGETS="batch snapshot tdigest hll config policy otlp journal"
# -O for speed; Swift's checks (bounds, overflow, preconditions) stay on and trap, which libFuzzer reports.
FLAGS=(-O -g -sanitize=fuzzer,address -parse-as-library -swift-version 6 -D SWIFT_PACKAGE -package-name tally
       -I "$MODULES" -I Sources/CZlib -use-ld=lld)

# Module → the modules it imports (in build order), as in Package.swift.
module_deps() {
    case "$1" in
        TallyWire | TallySketches | TallyConfig) echo "" ;;
        TallyStatistics) echo "TallySketches" ;;
        TallyCore) echo "TallyWire TallySketches" ;;
        TallyIndex) echo "TallyWire TallySketches TallyCore TallyStatistics TallyConfig" ;;
        TallyOTLP) echo "TallyWire" ;;
    esac
}

# Target → the modules it links, and package sources compiled into the target itself
# (DaemonConfiguration without the rest of TallyDaemon, which needs ZeroMQ).
target_modules() {
    case "$1" in
        batch) echo "TallyWire" ;;
        snapshot) echo "TallyWire TallySketches TallyCore" ;;
        tdigest | hll) echo "TallySketches" ;;
        config) echo "TallyWire TallySketches TallyCore TallyConfig" ;;
        policy) echo "TallyWire TallySketches TallyCore TallyStatistics TallyConfig TallyIndex" ;;
        otlp) echo "TallyWire TallyOTLP" ;;
        journal) echo "TallyWire TallySketches TallyCore" ;;
        *) echo "fuzz.sh: unknown target '$1' (targets: $ALL_TARGETS)" >&2; exit 2 ;;
    esac
}
target_sources() {
    case "$1" in
        snapshot) echo "Fuzz/Targets/Shared/SnapshotFixture.swift Fuzz/Targets/Shared/SketchQueries.swift" ;;
        tdigest | hll) echo "Fuzz/Targets/Shared/SketchQueries.swift" ;;
        config) echo "Sources/TallyDaemon/DaemonConfiguration.swift Sources/TallyDaemon/Budget/IngestBudget.swift Sources/TallyDaemon/Budget/MemoryShares.swift Sources/TallyDaemon/Sinks/HTTPURL.swift Sources/TallyDaemon/Exports.swift" ;;
        policy) echo "Fuzz/Targets/Shared/SnapshotFixture.swift" ;;
        otlp) echo "Tests/TallyOTLPTests/ProtobufBuilder.swift" ;;
        journal) echo "Sources/TallyDaemon/Journal/JournalFormat.swift Sources/TallyDaemon/Journal/JournalReplay.swift Sources/TallyDaemon/CRC32.swift" ;;
        *) echo "" ;;
    esac
}

# A stamp of the inputs, so that unchanged modules and targets are not rebuilt.
stamp_of() { { echo "${FLAGS[*]}"; swiftc --version 2>&1; cat "$@"; } | sha256sum | cut -c1-16; }

build_module() {
    local name=$1 deps sources stamp
    deps=$(module_deps "$name")
    mapfile -t sources < <(find "Sources/$name" -name '*.swift' | sort)
    local dep_modules=()
    for d in $deps; do dep_modules+=("$MODULES/$d.stamp"); done
    stamp=$(stamp_of "${sources[@]}" "${dep_modules[@]}")
    if [ -f "$MODULES/$name.stamp" ] && [ "$(cat "$MODULES/$name.stamp")" = "$stamp" ]; then return; fi
    echo "fuzz.sh: compiling $name"
    swiftc "${FLAGS[@]}" -module-name "$name" -wmo -c "${sources[@]}" -o "$MODULES/$name.o" \
        -emit-module -emit-module-path "$MODULES/$name.swiftmodule"
    echo "$stamp" > "$MODULES/$name.stamp"
}

build_target() {
    local target=$1 modules objects=() stamp
    modules=$(target_modules "$target")
    local closure=""
    for m in $modules; do
        for d in $(module_deps "$m") "$m"; do
            case " $closure " in *" $d "*) ;; *) closure="$closure $d" ;; esac
        done
    done
    for m in $closure; do build_module "$m"; objects+=("$MODULES/$m.o"); done
    local sources=("Fuzz/Targets/$target.swift" Fuzz/Targets/Support/*.swift $(target_sources "$target"))
    stamp=$(stamp_of "${sources[@]}" "${objects[@]}")
    if [ -f "$OUT/bin/fuzz-$target.stamp" ] && [ "$(cat "$OUT/bin/fuzz-$target.stamp")" = "$stamp" ]; then return; fi
    echo "fuzz.sh: linking fuzz-$target"
    swiftc "${FLAGS[@]}" -module-name "Fuzz_$target" "${sources[@]}" "${objects[@]}" -o "$OUT/bin/fuzz-$target"
    echo "$stamp" > "$OUT/bin/fuzz-$target.stamp"
}

# The Swift runtime's own backtracer would race libFuzzer's crash handler; ASan prints the trace.
run_env() {
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
        ASAN_SYMBOLIZER_PATH=/opt/swift/usr/bin/llvm-symbolizer "$@"
}

# Fuzzes one target; prints one summary row; returns non-zero on any finding.
fuzz_target() {
    local target=$1 seconds=$2 keep=${3:-} work log dict=() status=0
    if [ -n "$keep" ]; then work=$OUT/grown/$target; mkdir -p "$work"; else work=$(mktemp -d "${TMPDIR:-/tmp}/tally-fuzz-$target.XXXXXX"); fi
    log=$OUT/logs/$target.log
    [ -f "Fuzz/dictionaries/$target.dict" ] && dict=(-dict="Fuzz/dictionaries/$target.dict")
    run_env "$OUT/bin/fuzz-$target" "$work" "Fuzz/corpus/$target" "${dict[@]}" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -artifact_prefix="$OUT/crashes/$target-" > "$log" 2>&1 || status=$?
    local cov ft execs corpus
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    corpus=$(find "$work" -type f | wc -l)
    corpus=$((corpus + $(find "Fuzz/corpus/$target" -type f | wc -l)))
    printf '%-9s %6ss %10s %7s %7s %8s  %s\n' "$target" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" \
        "$([ "$status" -eq 0 ] && echo ok || echo "FOUND (exit $status): see $log and $OUT/crashes/")"
    [ -n "$keep" ] || rm -rf "$work"
    return "$status"
}

targets_of() { if [ "${1:-all}" = all ]; then echo "$ALL_TARGETS"; else echo "$1"; fi; }

mkdir -p "$MODULES" "$OUT/bin" "$OUT/logs" "$OUT/crashes"
command=${1:-all}
case "$command" in
    build)
        for t in $(targets_of "${2:-all}"); do build_target "$t"; done ;;
    seeds)
        for t in $(targets_of "${2:-all}"); do
            build_target "$t"
            mkdir -p "Fuzz/corpus/$t"; rm -f "Fuzz/corpus/$t"/seed-*
            TALLY_FUZZ_WRITE_SEEDS="Fuzz/corpus/$t" run_env "$OUT/bin/fuzz-$t" -runs=0 > "$OUT/logs/$t-seeds.log" 2>&1
            echo "fuzz.sh: $t: $(find "Fuzz/corpus/$t" -type f | wc -l) seeds"
        done ;;
    grow)
        target=${2:?target}; seconds=${3:-600}
        build_target "$target"
        status=0
        fuzz_target "$target" "$seconds" keep || status=$?
        before=$(find "Fuzz/corpus/$target" -type f | wc -l)
        run_env "$OUT/bin/fuzz-$target" -merge=1 "Fuzz/corpus/$target" "$OUT/grown/$target" > "$OUT/logs/$target-merge.log" 2>&1
        echo "fuzz.sh: $target: corpus $before → $(find "Fuzz/corpus/$target" -type f | wc -l) files"
        exit "$status" ;;
    replay)
        targets=$(targets_of "${2:-all}")
        for t in $targets; do build_target "$t"; done
        failed=0
        for t in $targets; do
            work=$(mktemp -d "${TMPDIR:-/tmp}/tally-replay-$t.XXXXXX")
            status=0
            run_env "$OUT/bin/fuzz-$t" "$work" "Fuzz/corpus/$t" -runs=0 -timeout=10 -rss_limit_mb=2048 \
                -malloc_limit_mb=1024 -artifact_prefix="$OUT/crashes/$t-" > "$OUT/logs/$t-replay.log" 2>&1 || status=$?
            rm -rf "$work"
            printf 'replay %-9s %5s inputs  %s\n' "$t" "$(find "Fuzz/corpus/$t" -type f | wc -l)" \
                "$([ "$status" -eq 0 ] && echo ok || echo "FAILED (exit $status): see $OUT/logs/$t-replay.log")"
            [ "$status" -eq 0 ] || failed=1
        done
        [ "$failed" -eq 0 ] || { echo "fuzz.sh: an input of the corpus fails"; exit 1; }
        echo "fuzz.sh: every corpus input passes" ;;
    repro)
        target=${2:?target}; shift 2
        build_target "$target"
        run_env "$OUT/bin/fuzz-$target" "$@" ;;
    *)
        seconds=${2:-30}
        targets=$(targets_of "$command")
        for t in $targets; do build_target "$t"; done
        echo "target     time    execs/s     cov      ft   corpus  result"
        failed=0
        for t in $targets; do fuzz_target "$t" "$seconds" || failed=1; done
        [ "$failed" -eq 0 ] || { echo "fuzz.sh: a target found a problem"; exit 1; }
        echo "fuzz.sh: no crashes" ;;
esac
