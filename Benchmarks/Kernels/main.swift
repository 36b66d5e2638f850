// Hot loops of Tally, one per command, for `valgrind --tool=callgrind` instruction
#if canImport(Glibc)
import Glibc
#endif
// counts (Benchmarks/callgrind.sh). Each runs `count` operations after a warm-up
// and prints the work done, so that Ir per operation = (Ir(count) − Ir(0)) / count.
import BenchmarkFixtures
import TallyClient
import TallyCore
import TallyIndex
import TallySketches
import TallySynthetic
import TallyWire

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    print("usage: tally-kernels encode|decode|tdigest-insert|hll-insert COUNT")
    exit(2)
}

/// Frames of a typical 64 KiB batch (as in WireBenchmarks).
func typicalFrames() -> [TraceFrame] {
    var rng = SplitMix64(seed: 2026)
    let fleet = SyntheticFleet()
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    var frames: [TraceFrame] = []
    while true {
        let frame = fleet.frame(eventTimeMicros: 1_763_700_000_000_000 + UInt64(frames.count), &rng)
        guard try! encoder.append(frame) else { break }
        frames.append(frame)
    }
    return frames
}

/// Encodes `count` frames, finishing a batch whenever one is full.
func encodeKernel(_ count: Int) -> UInt64 {
    let frames = typicalFrames()
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    var checksum: UInt64 = 0
    frames.withUnsafeBufferPointer { frames in
        var done = 0
        while done < count {
            for frame in frames.baseAddress!..<frames.baseAddress! + frames.count where done < count {
                // The call takes a copy of `pointee` (its strings and tags retained, then
                // released): ~320 Ir a frame of this kernel and of `client-record` are that
                // copy, not the encoder (Benchmarks/README.md, "The encoder's string cache").
                let appended = try! encoder.append(frame.pointee)
                if !appended {
                    checksum &+= UInt64(encoder.finish(sequence: 0).count)
                    encoder.reset()
                    _ = try! encoder.append(frame.pointee)
                }
                done += 1
            }
        }
    }
    return checksum
}

/// Decodes (and validates) a typical batch until `count` frames were read, reading every
/// field of each frame in place (``BatchView/frameReferences``, as the ingest path does).
func decodeKernel(_ count: Int) -> UInt64 {
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    for frame in typicalFrames() { _ = try! encoder.append(frame) }
    let bytes = Array(encoder.finish(sequence: 0))
    let decoder = BatchDecoder()
    var checksum: UInt64 = 0
    bytes.withUnsafeBytes { bytes in
        var done = 0
        while done < count {
            let view = try! decoder.decode(bytes)
            for frame in view.frameReferences { checksum &+= everyField(frame) }
            done += view.frameCount
        }
    }
    return checksum
}

/// The ingest thread's work on a frame before its shard's ring: decode and validate the
/// batch, then resolve each frame to its record (symbols, series key, routing hash, cost),
/// as `IngestPort.ingest` does, under `tags` (which tag keys are series dimensions and
/// which breakdown keys). The fleet's frames, four tags each, in eight 64 KiB batches
/// decoded in turn; `count` frames in all.
func ingestKernel(_ count: Int, tags: TagPolicy) -> UInt64 {
    var prices = PriceTable()
    prices.prices["llama-3.1-70b-instruct"] = ModelPrice(input: 0.9, cachedInput: 0.45, output: 0.9)
    prices.prices["mistral-large"] = ModelPrice(input: 2, cachedInput: 1, output: 6)
    let resolver = BatchResolver(symbols: SymbolTable(), prices: prices, tagPolicy: tags)
    var rng = SplitMix64(seed: 2026)
    let fleet = SyntheticFleet(tenants: 20, users: 5_000)
    let batches: [[UInt8]] = (0..<8).map { _ in
        let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
        while try! encoder.append(fleet.frame(eventTimeMicros: 1_763_700_000_000_000, &rng)) {}
        return Array(encoder.finish(sequence: 0))
    }
    let decoder = BatchDecoder()
    var checksum: UInt64 = 0
    var done = 0
    while done < count {
        for bytes in batches where done < count {
            bytes.withUnsafeBytes { bytes in
                let view = try! decoder.decode(bytes)
                resolver.begin(view)
                for frame in view.frameReferences {
                    let record = resolver.record(frame)
                    checksum &+= record.routingHash ^ record.values.userHash ^ UInt64(record.values.totalLatencyMicros)
                }
                done += view.frameCount
            }
        }
    }
    return checksum
}

/// A fold of every field of `frame`, so that the decode kernel pays for reading each one
/// (a consumer that read only some would let the compiler skip the others), read in place
/// as the ingest path reads them.
@inline(__always)
func everyField(_ f: FrameReference) -> UInt64 {
    var x = f.eventTimeMicros ^ f.userHash ^ f.sessionHash
    x ^= UInt64(f.queueTimeMicros) ^ UInt64(f.timeToFirstTokenMicros) << 8 ^ UInt64(f.totalLatencyMicros) << 16
    x ^= UInt64(f.inputTokens) ^ UInt64(f.outputTokens) << 8 ^ UInt64(f.cachedInputTokens) << 16
    x ^= UInt64(f.cacheCreationInputTokens) ^ UInt64(f.reasoningOutputTokens) << 8
    x ^= UInt64(f.model) ^ UInt64(f.modelVersion) << 16 ^ UInt64(f.promptVersion) << 32 ^ UInt64(f.route) << 48
    x ^= UInt64(f.errorClass) ^ UInt64(f.categoryID) << 16 ^ UInt64(f.status.rawValue) << 32 ^ UInt64(f.ring.rawValue) << 40
    x ^= UInt64(f.outcome.rawValue) ^ UInt64(f.safetySeverity.rawValue) << 8 ^ UInt64(f.safetyKinds.rawValue) << 16
    for (key, value) in f.tags { x ^= UInt64(key) << 24 ^ UInt64(value) << 40 }
    return x
}

/// Inserts `count` lognormal values, one per call, into a warm t-digest.
func tdigestInsertKernel(_ count: Int) -> UInt64 {
    var rng = SplitMix64(seed: 42)
    let values = (0..<100_000).map { _ in Distribution.lognormal(mu: 0, sigma: 1).sample(&rng) }
    var digest = TDigest()
    for x in values { digest.insert(x) }
    var done = 0
    while done < count {
        for x in values where done < count {
            digest.insert(x)
            done += 1
        }
    }
    return digest.count
}

/// Inserts `count` random hashes into a dense HyperLogLog.
func hllInsertKernel(_ count: Int) -> UInt64 {
    var rng = SplitMix64(seed: 43)
    var sketch = HyperLogLog()
    for _ in 0..<10_000 { sketch.insert(rng.next()) }
    for _ in 0..<count { sketch.insert(rng.next()) }
    return UInt64(sketch.estimate)
}

/// Tables the `…-no-teardown` kernels keep until the process exits, so that their
/// deinitialisation (each promoted series' aggregate released and freed) is not counted.
nonisolated(unsafe) var tablesKeptUntilExit: [WindowTable] = []

/// Folds `count` pre-resolved fleet records (all fields set) into one window table:
/// the shard's per-frame path without the ring. `series` > 0 remaps the records'
/// keys onto that many series (the fleet's own tag cross-product gives ~70,000
/// series per 100,000 frames). `keepTable` keeps the table alive past the kernel
/// (``tablesKeptUntilExit``). `seal` builds the window's snapshot from the table at the
/// end, as tallyd's flusher does when the window seals: the count then holds the work
/// the shard leaves to the seal (series built there, digests compressed) as well.
func aggregateKernel(_ count: Int, series: Int, tags: TagPolicy = .legacy, heavyHitters: Int = 0,
                     cohortSummaries: SummarizedDigests = .cohortDefault, cohortCategories: Bool = false,
                     keepTable: Bool = false, seal: Bool = false, warmPasses: Int = 1) -> UInt64 {
    let symbols = SymbolTable()
    var prices = PriceTable()
    prices.prices["llama-3.1-70b-instruct"] = ModelPrice(input: 0.9, cachedInput: 0.45, output: 0.9)
    prices.prices["mistral-large"] = ModelPrice(input: 2, cachedInput: 1, output: 6)
    let resolver = BatchResolver(symbols: symbols, prices: prices, tagPolicy: tags)
    let decoder = BatchDecoder()
    let encoder = BatchEncoder(capacity: 65_536)
    var rng = SplitMix64(seed: 2026)
    let fleet = SyntheticFleet(tenants: 20, users: 5_000)
    var records: [FrameRecord] = []
    while records.count < 100_000 {
        encoder.reset()
        while try! encoder.append(fleet.frame(eventTimeMicros: 1_763_700_000_000_000, &rng)) {}
        let view = try! decoder.decode(encoder.finish(sequence: 0))
        resolver.begin(view)
        for frame in view.frameReferences { records.append(resolver.record(frame)) }
    }
    if series > 0 {
        let keys = records.prefix(series).map(\.key)
        for i in records.indices {
            records[i].key = keys[i % keys.count]
            records[i].routingHash = records[i].key.routingHash
        }
    }
    let table = WindowTable(startMicros: 0, maxSeries: 1_000_000, sketches: SketchParameters(),
                            heavyHitterCapacity: heavyHitters, heavyHitterTag: heavyHitters > 0 ? tags.heavyHitterKey : nil,
                            cohortSummaries: cohortSummaries, cohortCategories: cohortCategories)
    for _ in 0..<warmPasses {
        for r in records { table.add(r) }  // warm: every series exists, sketches grown
    }
    var done = 0
    records.withUnsafeBufferPointer { records in
        while done < count {
            for r in records.baseAddress!..<records.baseAddress! + records.count where done < count {
                table.add(at: r)  // in place, as the shard folds a record in its ring slot
                done += 1
            }
        }
    }
    if keepTable { tablesKeptUntilExit.append(table) }
    if seal {
        let window = SealedWindow(startMicros: 0, intervalMicros: 10_000_000, tables: [table])
        let snapshot = try! Snapshot.build(window, collectorID: "kernel", sequence: 0, symbols: symbols,
                                           sketches: SketchParameters(), counters: [:], cohortSummaries: cohortSummaries)
        return UInt64(snapshot.series.count)
    }
    return table.frames
}

/// One frame's measurements from the random word `s`, every field set: users drawn from
/// 5,000, a session per 3 frames of the series (`frame` counts them).
func fleetValues(_ s: UInt64, frame: Int) -> FrameValues {
    FrameValues(
        userHash: (s >> 20) % 5_000 + 1, sessionHash: UInt64(frame / 3) + 1, cost: Double(s % 1_000) / 1e5,
        queueTimeMicros: UInt32(s % 5_000), timeToFirstTokenMicros: UInt32(10_000 + s % 90_000),
        totalLatencyMicros: UInt32(200_000 + s % 800_000), inputTokens: UInt32(s % 3_000),
        outputTokens: UInt32(2 + s % 700), cachedInputTokens: 0, errorClass: 0, categoryID: UInt16(s % 20),
        safetyKinds: [], status: .ok, outcome: OutcomeBits(task: .success), safetySeverity: .none)
}

/// Prints the snapshot bytes of one series after 1 … 10^5 frames (users drawn from
/// 5,000, one session per 3 frames); COUNT is ignored.
func snapshotSizes(_: Int) -> UInt64 {
    func seriesBytes(_ n: Int) -> Int {
        var a = SeriesAggregate()
        var rng = SplitMix64(seed: 7)
        for i in 0..<n {
            a.add(fleetValues(rng.next(), frame: i))
        }
        let series = SnapshotSeries(
            labels: SeriesLabels(model: "llama-3.1-70b-instruct", modelVersion: "2024-07-23", promptVersion: "p-2024.11",
                                 route: "chat", tags: [CohortTag("tenant", "acme"), CohortTag("region", "eu")]),
            aggregate: a, errorClasses: [:])
        func encoded(_ series: [SnapshotSeries]) -> Int {
            SnapshotCodec.encode(Snapshot(collectorID: "c", windowStartMicros: 0, windowEndMicros: 1, sequence: 0,
                                          sketches: SketchParameters(), series: series, counters: [:])).count
        }
        return encoded([series]) - encoded([])
    }
    for n in [1, 10, 100, 1_000, 10_000, 100_000] {
        print("snapshot bytes of one series after \(n) frames: \(seriesBytes(n)) (label strings included)")
    }
    return 0
}

/// Resident bytes of this process (from /proc/self/statm).
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    guard withUnsafeMutablePointer(to: &size, { s in withUnsafeMutablePointer(to: &resident) { r in
        withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) } } }) == 2 else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The process's peak resident bytes so far (VmHWM in /proc/self/status).
func peakResidentBytes() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(cString: line)
        if text.hasPrefix("VmHWM:") { return (Int(text.dropFirst(6).filter(\.isNumber)) ?? 0) * 1_024 }
    }
    return 0
}

/// Sets VmHWM back to the current resident size (proc(5), `clear_refs` value 5), so that a
/// later ``peakResidentBytes()`` is the peak of what follows.
func resetPeakResidentBytes() {
    guard let file = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", file)
    fclose(file)
}

/// Folds `framesPerSeries` frames into each of COUNT series (all fields set; users
/// drawn from 5,000, a session per 3 frames) and prints resident bytes per series.
func seriesMemory(_ count: Int, framesPerSeries: Int) -> UInt64 {
    let before = residentBytes()
    let table = WindowTable(startMicros: 0, maxSeries: 10_000_000, sketches: SketchParameters())
    var rng = SplitMix64(seed: 11)
    for round in 0..<framesPerSeries {
        for series in 0..<count {
            let key = SeriesKey(model: UInt32(series + 2), modelVersion: 3, promptVersion: 4, route: 5)
            table.add(FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0,
                                  values: fleetValues(rng.next(), frame: round)))
        }
    }
    let grown = residentBytes() - before
    print("\(count) series × \(framesPerSeries) frames: \(grown / 1_048_576) MiB resident, \(grown / max(count, 1)) B a series")
    return table.frames
}

/// Builds and encodes the snapshot of a window of COUNT series of `framesPerSeries` frames
/// each (one: the flush of a flood of new keys; 10,000: every sketch at its largest) and
/// prints what the build added to resident memory, per series, with the window's table
/// still held (as the flusher holds it).
func flushMemory(_ count: Int, framesPerSeries: Int) -> UInt64 {
    let symbols = SymbolTable()
    for series in 0..<count { _ = symbols.intern("model-\(series)") }  // symbols 2 …
    let table = WindowTable(startMicros: 0, maxSeries: 10_000_000, sketches: SketchParameters())
    var rng = SplitMix64(seed: 11)
    for round in 0..<framesPerSeries {
        for series in 0..<count {
            let key = SeriesKey(model: UInt32(series + 2), modelVersion: 0, promptVersion: 0, route: 0)
            table.add(FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0,
                                  values: fleetValues(rng.next(), frame: round)))
        }
    }
    resetPeakResidentBytes()
    let before = residentBytes()
    func micros() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) * 1e6 + Double(now.tv_nsec) / 1e3
    }
    let started = micros()
    let window = SealedWindow(startMicros: 0, intervalMicros: 10_000_000, tables: [table])
    let snapshot = try! Snapshot.build(window, collectorID: "kernel", sequence: 0, symbols: symbols,
                                       sketches: SketchParameters(), counters: [:])
    let builtAt = micros()
    let built = residentBytes() - before, peak = peakResidentBytes() - before
    let encodeStarted = micros()
    let bytes = SnapshotCodec.encode(snapshot)
    let encodedAt = micros()
    let encoded = residentBytes() - before
    // The version-1 form, for comparison (TALLY_KERNELS_V2_ONLY skips it: under callgrind the
    // one encode call left is then version 2's).
    let v1Bytes = getenv("TALLY_KERNELS_V2_ONLY") != nil ? [] : SnapshotCodec.encode(snapshot, version: 1)
    let v1At = micros()
    let decoded = try! SnapshotCodec.decode(bytes)  // what replay, tally-tail and merges pay
    let decodedAt = micros()
    precondition(decoded.series.count == snapshot.series.count)
    let perSeries = Double(max(count, 1))
    print("flush of \(snapshot.series.count) series × \(framesPerSeries) frames: built +\(built / 1_048_576) MiB (\(built / max(count, 1)) B a series; peak +\(peak / max(count, 1)) B), encoded (\(bytes.count / max(count, 1)) B a series) +\(encoded / 1_048_576) MiB in all")
    // Wall clock, one run (a quick look; the flush's time goal is per series).
    print("flush time: build \((builtAt - started) / perSeries) µs a series, encode \((encodedAt - encodeStarted) / perSeries) µs a series (version 1: \((v1At - encodedAt) / perSeries) µs, \(v1Bytes.count / max(count, 1)) B a series), decode \((decodedAt - v1At) / perSeries) µs a series")
    return UInt64(bytes.count)
}

/// Evaluates `count` windows of a snapshot of `series` series and `frames` frames through
/// the default policy (after the 30-window drift baseline and one more window, which are
/// not counted: run with COUNT 0 for the baseline cost).
func indexKernel(_ count: Int, series: Int = 10_000, frames: Int = 100_000) -> UInt64 {
    let snapshot = benchmarkSnapshot(series: series, frames: frames)
    let engine = IndexEngine(policy: .standard, collectorID: "kernel")
    var checksum: UInt64 = 0
    var millis: [Double] = []
    for i in 0..<(31 + count) {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let documents = try! engine.evaluate(shifted(snapshot, to: i))
        clock_gettime(CLOCK_MONOTONIC, &end)
        if i >= 31 { millis.append(Double(end.tv_sec - start.tv_sec) * 1e3 + Double(end.tv_nsec - start.tv_nsec) / 1e6) }
        checksum &+= UInt64(documents.count &+ documents[0].scopes.count)
    }
    millis.sort()
    if !millis.isEmpty {  // wall clock, for a quick look; callgrind's counts are the stable figure
        print("index-\(series / 1_000)k: evaluate min \(millis[0]) ms, median \(millis[millis.count / 2]) ms")
    }
    return checksum
}

/// Records `count` typical frames through a `TallyClient`, the fleet's own cost: lane
/// lock, encoding into the batch, sealing full batches, and the sender thread's finish
/// (header, checksum) of each batch, every thread counted. No collector binds the
/// endpoint, so libzmq refuses each batch at once (counted as collector_unavailable):
/// libzmq's copy of a delivered batch (~76 bytes a frame) is not in the figure.
func clientRecordKernel(_ count: Int) -> UInt64 {
    let frames = typicalFrames()
    var configuration = TallyClientConfiguration(endpoints: ["ipc:///tmp/tally-kernels-no-collector-\(getpid()).sock"])
    configuration.producerID = 1
    configuration.maxBatchAgeMillis = 60_000  // batches leave when full, not on a timer
    let client = try! TallyClient(configuration: configuration)
    frames.withUnsafeBufferPointer { frames in
        var done = 0
        while done < count {
            for frame in frames.baseAddress!..<frames.baseAddress! + frames.count where done < count {
                client.record(frame.pointee)
                done += 1
            }
        }
    }
    let counters = client.close(timeoutMillis: 0)
    return counters.framesRecorded
}

/// `TallyClient.record(_:_:)` of the typical frames' measures with prebuilt labels: a server
/// that keeps a ``FrameLabels`` per label set, here 64 of them (the first 64 typical frames'
/// label sets) used in turn, with the sender thread's share as in `client-record`.
func clientRecordLabelsKernel(_ count: Int) -> UInt64 {
    let frames = typicalFrames()
    let labels = frames.prefix(64).map { try! FrameLabels(of: $0) }
    let measures = frames.map { FrameMeasures(of: $0) }
    let errorClasses = frames.map(\.errorClass)
    var configuration = TallyClientConfiguration(endpoints: ["ipc:///tmp/tally-kernels-no-collector-\(getpid()).sock"])
    configuration.producerID = 1
    configuration.maxBatchAgeMillis = 60_000
    let client = try! TallyClient(configuration: configuration)
    var done = 0
    labels.withUnsafeBufferPointer { labels in
        measures.withUnsafeBufferPointer { measures in
            errorClasses.withUnsafeBufferPointer { errorClasses in
                while done < count {
                    for i in 0..<measures.count where done < count {
                        client.record(labels[i & 63], measures[i], errorClass: errorClasses[i])
                        done += 1
                    }
                }
            }
        }
    }
    return client.close(timeoutMillis: 0).framesRecorded
}

/// Rolls a 10,000-series snapshot up into the default policy's scopes `count` times.
func rollupKernel(_ count: Int) -> UInt64 {
    let snapshot = benchmarkSnapshot(series: 10_000, frames: 100_000)
    let policy = Policy.standard
    var checksum: UInt64 = 0
    for _ in 0..<count {
        checksum &+= UInt64(try! ScopeRollup.scopes(of: snapshot, kinds: policy.scopeKinds, cohortKeys: policy.cohortKeys,
                                                     cohortDigests: policy.cohortDigests).count)
    }
    return checksum
}

let kernels: [String: (Int) -> UInt64] = [
    "rollup-10k": rollupKernel,  // COUNT = roll-ups of one 10,000-series snapshot
    "index-10k": { indexKernel($0) },  // COUNT = windows evaluated after a 31-window warm-up
    "index-1k": { indexKernel($0, series: 1_000, frames: 20_000) },  // the same at 1,000 series (IndexBenchmarks' size)
    "memory-one-frame": { seriesMemory($0, framesPerSeries: 1) },  // COUNT = series; prints bytes a series
    "memory-24": { seriesMemory($0, framesPerSeries: 24) },  // COUNT = series of 24 frames (stashed, not built)
    "memory-busy": { seriesMemory($0, framesPerSeries: 300) },  // 3 M frames/s × 10 s over 100,000 series
    "memory-saturated": { seriesMemory($0, framesPerSeries: 10_000) },  // every sketch at its largest
    "memory-flush-one-frame": { flushMemory($0, framesPerSeries: 1) },  // COUNT = series; prints the build's resident bytes
    "memory-flush-few": { flushMemory($0, framesPerSeries: 4) },  // COUNT = series of 4 frames each (the demo's typical series)
    "memory-flush-24": { flushMemory($0, framesPerSeries: 24) },  // COUNT = series of 24 frames each (built at the seal)
    "memory-flush-30": { flushMemory($0, framesPerSeries: 30) },  // the most a series stashes unbuilt (EngineMemory.promotedSeriesBytes)
    "memory-flush-saturated": { flushMemory($0, framesPerSeries: 10_000) },  // COUNT = series at their largest
    "memory-flush-busy": { flushMemory($0, framesPerSeries: 100) },  // COUNT = series of 100 frames each
    "memory-demo": demoMemory,  // COUNT = demo-fleet frames in one 10-s window (40,000,000: 4 M frames/s); DemoMemory.swift
    "snapshot-sizes": snapshotSizes,  // prints a table; not a callgrind kernel
    "aggregate": { aggregateKernel($0, series: 1_000) },  // COUNT = frames folded; 1,000 series
    // 100 series: 2,000 frames a series at callgrind.sh's COUNT, so digest merges are amortised.
    "aggregate-100": { aggregateKernel($0, series: 100) },
    // The same over 3,000 series, warmed until each buckets (~670 frames each): as many busy
    // series as tally-load's fleet keeps, whose histograms do not fit in the caches. Its
    // instructions are `aggregate-100`'s; its time a frame natively is the caches' share.
    "aggregate-3000": { aggregateKernel($0, series: 3_000, warmPasses: 20) },
    "aggregate-70k": { aggregateKernel($0, series: 0) },  // same, the fleet's ~70,000 series
    // The same without the table's teardown at exit: the shard's own share. tallyd frees a
    // sealed window's table on the flusher's thread; `aggregate-70k` counts that too.
    "aggregate-70k-no-teardown": { aggregateKernel($0, series: 0, keepTable: true) },
    // The same with the window's snapshot built at the end (the seal's share: series built
    // there from their stash, digests compressed), then the table freed: shard and flusher.
    "aggregate-70k-sealed": { aggregateKernel($0, series: 0, seal: true) },
    // The demo profile (Tools/demo.toml): region, lang and tier as breakdown keys, tenant dropped:
    // ~180 slice series, each frame also feeds three cohort aggregates (queue time and tokens
    // as summaries and no categories: tallyd's default cohort_distributions and cohort_categories).
    "aggregate-cohorts": { aggregateKernel($0, series: 0, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["region", "lang", "tier"])) },
    // The same, and the window's snapshot built at the end: the seal's share (series and
    // cohorts built, cohorts' summaries settled) included.
    "aggregate-cohorts-sealed": { aggregateKernel($0, series: 0, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["region", "lang", "tier"]), seal: true) },
    // The same with every cohort distribution a full digest and categories counted
    // (cohort_distributions = all six, cohort_categories = true).
    "aggregate-cohorts-full": { aggregateKernel($0, series: 0, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["region", "lang", "tier"]),
                                                cohortSummaries: [], cohortCategories: true) },
    // The demo profile with its heavy hitters (Tools/demo.toml: k = 16 users by requests and by cost a slice).
    "aggregate-cohorts-hh": { aggregateKernel($0, series: 0, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["region", "lang", "tier"]),
                                              heavyHitters: 16) },
    // The same with the tenant tag ranked too (Tools/demo.toml's heavy_hitter_tag = "tenant").
    "aggregate-cohorts-hh-tenants": { aggregateKernel($0, series: 0, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["region", "lang", "tier"],
                                                                                      heavyHitterKey: "tenant"), heavyHitters: 16) },
    "encode": encodeKernel,  // COUNT = frames encoded
    "client-record": clientRecordKernel,  // COUNT = frames recorded through TallyClient (no collector)
    "client-record-labels": clientRecordLabelsKernel,  // COUNT = frames recorded with prebuilt FrameLabels
    "decode": decodeKernel,  // COUNT = frames decoded
    "ingest": { ingestKernel($0, tags: .legacy) },  // COUNT = frames decoded and resolved (every tag a dimension)
    "ingest-cohorts": { ingestKernel($0, tags: TagPolicy(seriesKeys: [], breakdownKeys: ["region", "lang", "tier"])) },  // the same, breakdown keys
    "tdigest-insert": tdigestInsertKernel,  // COUNT = values inserted
    "hll-insert": hllInsertKernel,  // COUNT = values inserted (includes one SplitMix64 draw each)
]
guard let kernel = kernels[arguments[1]] else {
    print("unknown kernel \(arguments[1]); known: \(kernels.keys.sorted())")
    exit(2)
}
print("\(arguments[1]) \(count): checksum \(kernel(count))")
