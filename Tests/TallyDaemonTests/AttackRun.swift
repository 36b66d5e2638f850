import Foundation
import Synchronization
import TallyClient
import TallyCore
import TallyDaemon
import TallySynthetic
import TallyWire

/// One real tallyd process under attack on loopback TCP, with a well-behaved producer
/// (producer id ``goodProducer``, model ``goodModel``) sending alongside, and its
/// resident memory sampled throughout. ``finish()`` stops everything with SIGTERM and
/// reads back what tallyd stored.
///
/// With `TALLY_ATTACK_BASELINE=1` the run leaves out the hardening keys, so that the
/// same attacks can be measured against a tallyd from before them (named by
/// `TALLY_TEST_TALLYD`); the tests then only print their figures.
final class AttackRun: @unchecked Sendable {
    static let goodProducer: UInt64 = 777
    static let goodModel = "good-model"
    /// The budget the attacked tallyd is given (MiB) and its connection cap.
    static let budgetMiB = 256
    static let maxConnections = 32
    static var isBaseline: Bool { ProcessInfo.processInfo.environment["TALLY_ATTACK_BASELINE"] == "1" }

    let dir = NSTemporaryDirectory() + "tally-attack-\(UUID().uuidString)"
    let port: Int
    let endpoint: String
    let process = Process()
    let sampler: ResidentMemorySampler
    private let goodStopping = Atomic<Bool>(false)
    private let goodDone = DispatchSemaphore(value: 0)
    private let goodSent = Mutex<UInt64>(0)

    struct Outcome {
        var aliveAtEnd: Bool
        var exitStatus: Int32
        var peakMiB: Double
        var counters: [String: UInt64]
        var goodSent: UInt64
        var goodArrived: UInt64
        var goodInWindows: UInt64
        /// Good frames folded into an overflow series (counted per producer).
        var goodFolded: UInt64 { good("folded") }
        /// Good frames dropped as late or future, or at ingest (ring full, stopping).
        var goodLate: UInt64 { good("late") }
        var goodFuture: UInt64 { good("future") }
        var goodIngestDropped: UInt64 { good("ingest_dropped") }
        /// The good producer's counter `field` (`producer.<id>.<field>`; 0 when absent).
        func good(_ field: String) -> UInt64 {
            counters[ProducerLedger.counterName(producer: AttackRun.goodProducer, field: field)] ?? 0
        }
        var droppedTotal: UInt64
        /// Requests per model name over every stored snapshot.
        var requestsByModel: [String: UInt64]
        /// The most series in one snapshot, and the largest snapshot (bytes).
        var maxSeries = 0, maxSnapshotBytes = 0
        /// The most any snapshot's counters gave for the window tables' bytes
        /// (`engine.memory_bytes`) and for the good producer's share of them
        /// (`producer.<id>.memory_bytes`): sampled at each flush, not the true peaks.
        var tablesPeakBytes: UInt64 = 0, goodPeakBytes: UInt64 = 0
        /// Counters worth a line in the table: non-zero refusals, rejections and drops.
        var counted: String {
            counters.filter { ($0.key.hasPrefix("ingest.refused.") || $0.key.hasPrefix("ingest.rejected.")
                               || $0.key.hasPrefix("dropped.") || $0.key.hasPrefix("ingest.dropped.")
                               || $0.key.hasPrefix("frames.folded") || $0.key.hasSuffix(".folded")) && $0.value > 0 }
                .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    init(extraConfig: String = "") throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        port = try LoopbackListener.freePort()
        endpoint = "tcp://127.0.0.1:\(port)"
        var config = """
            collector_id = "attack"
            endpoints = ["\(endpoint)"]
            window_seconds = 1
            allowed_lateness_seconds = 2
            data_directory = "\(dir)/data"
            fsync = "never"
            pub_endpoint = ""
            replay_endpoint = ""
            http_listen = ""
            index = false

            """
        if !Self.isBaseline {
            config += "memory_budget_mib = \(Self.budgetMiB)\nmax_connections = \(Self.maxConnections)\n" + extraConfig
        }
        try Self.launch(process, config: config, in: dir)
        sampler = ResidentMemorySampler(pid: process.processIdentifier)
        // Up once it has logged its start line (sockets bound, threads running).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning
            && !((try? String(contentsOfFile: dir + "/tallyd.log", encoding: .utf8))?.contains("ingest on") ?? false) {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Writes `config` to `dir`/tallyd.toml and runs the tallyd under test on it, its log
    /// in `dir`/tallyd.log.
    static func launch(_ process: Process, config: String, in dir: String) throws {
        try config.write(toFile: dir + "/tallyd.toml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: IndexScenarioTests.tallydPath)
        process.arguments = ["--config", dir + "/tallyd.toml"]
        FileManager.default.createFile(atPath: dir + "/tallyd.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir + "/tallyd.log")
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.interrupt() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    var log: String { (try? String(contentsOfFile: dir + "/tallyd.log", encoding: .utf8)) ?? "" }

    /// Starts the well-behaved producer: `perSecond` frames a second, current time,
    /// model ``goodModel``, until ``finish()``. Its client waits up to 1 s for room.
    func startGoodProducer(perSecond: Int = 2_000) throws {
        var configuration = TallyClientConfiguration(endpoints: [endpoint])
        configuration.producerID = Self.goodProducer
        configuration.sendWaitMillis = 1_000
        let client = try TallyClient(configuration: configuration)
        let thread = Thread { [self] in
            var rng = SplitMix64(seed: 77)
            let fleet = SyntheticFleet(tenants: 2, users: 200)
            while !goodStopping.load(ordering: .acquiring) {
                for _ in 0..<(perSecond / 20) {
                    var frame = fleet.frame(eventTimeMicros: UInt64(Date().timeIntervalSince1970 * 1e6), &rng)
                    frame.model = Self.goodModel
                    client.record(frame)
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let counters = client.close(timeoutMillis: 5_000)
            goodSent.withLock { $0 = counters.framesSent }
            goodDone.signal()
        }
        thread.start()
    }

    /// Waits (≤ `timeoutSeconds`) until a snapshot counts frames of the good producer: its
    /// connection has been admitted. An attack on connections that starts before that races
    /// the good producer's own handshake, and may have it refused like any newcomer.
    func waitUntilGoodProducerArrives(timeoutSeconds: Double = 20) -> Bool {
        let name = ProducerLedger.counterName(producer: Self.goodProducer, field: "frames")
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if let newest = SnapshotLog.read(directory: dir + "/data").records.max(by: { $0.sequence < $1.sequence }),
               let snapshot = try? SnapshotCodec.decode(newest.payload), snapshot.counters[name, default: 0] > 0 {
                return true
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    /// Stops the good producer, sends SIGTERM, waits for the exit (≤ 60 s), reads the data.
    func finish() throws -> Outcome {
        goodStopping.store(true, ordering: .releasing)
        goodDone.wait()
        let alive = process.isRunning
        if alive { process.terminate() }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.interrupt() }
        sampler.stop()
        let records = SnapshotLog.read(directory: dir + "/data").records
        let snapshots = try records.map { try SnapshotCodec.decode($0.payload) }
        let counters = snapshots.last?.counters ?? [:]
        var requestsByModel: [String: UInt64] = [:]
        for snapshot in snapshots {
            for series in snapshot.series { requestsByModel[series.labels.model, default: 0] += series.aggregate.requests }
        }
        let good = requestsByModel[Self.goodModel] ?? 0
        return Outcome(aliveAtEnd: alive, exitStatus: process.isRunning ? -1 : process.terminationStatus,
                       peakMiB: sampler.peakMiB, counters: counters, goodSent: goodSent.withLock { $0 },
                       goodArrived: counters[ProducerLedger.counterName(producer: Self.goodProducer, field: "frames")] ?? 0, goodInWindows: good,
                       droppedTotal: counters.filter { $0.key.hasPrefix("dropped.") }.values.reduce(0, +),
                       requestsByModel: requestsByModel, maxSeries: snapshots.map(\.series.count).max() ?? 0,
                       maxSnapshotBytes: records.map(\.payload.count).max() ?? 0,
                       tablesPeakBytes: snapshots.map { $0.counters["engine.memory_bytes"] ?? 0 }.max() ?? 0,
                       goodPeakBytes: snapshots.map {
                           $0.counters[ProducerLedger.counterName(producer: Self.goodProducer, field: "memory_bytes")] ?? 0
                       }.max() ?? 0)
    }

    /// A valid batch of no frames whose string table holds `strings` (each 1…255 bytes,
    /// at most 4,096), from `producer`, built by hand from FORMAT.md (the encoder only
    /// writes strings that frames use).
    static func stringsOnlyBatch(producer: UInt64, strings: [String], sequence: UInt64) -> [UInt8] {
        var table: [UInt8] = []
        for string in strings {
            table.append(UInt8(string.utf8.count))
            table += string.utf8
        }
        var header = [UInt8](repeating: 0, count: 40)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { header.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
        }
        header.replaceSubrange(0..<4, with: Array("TLYB".utf8))
        header[4] = 1
        put(UInt16(40), at: 6)
        put(UInt32(40 + table.count), at: 8)
        put(UInt32(40), at: 12)
        put(UInt16(0), at: 16)
        put(UInt16(strings.count), at: 18)
        put(UInt16(76), at: 20)
        put(producer, at: 24)
        put(sequence, at: 32)
        return header + table
    }

    /// Batches of `count` frames, frame `i` of model `model(i)` stamped `eventTime(i)` (at
    /// most 4,000 frames a batch, so that distinct models fit one string table), from `producer`.
    static func keyBatches(producer: UInt64, count: Int, model: (Int) -> String,
                           eventTime: (Int) -> UInt64) throws -> [[UInt8]] {
        var batches: [[UInt8]] = []
        let encoder = BatchEncoder(capacity: WireLimits.maxBatchBytes, producerID: producer)
        for i in 0..<count {
            let frame = TraceFrame(eventTimeMicros: eventTime(i), model: model(i), totalLatencyMicros: 1_000)
            let full = encoder.frameCount == 4_000
            if try full || !encoder.append(frame) {
                batches.append(Array(encoder.finish(sequence: UInt64(batches.count))))
                encoder.reset()
                _ = try encoder.append(frame)
            }
        }
        if !encoder.isEmpty { batches.append(Array(encoder.finish(sequence: UInt64(batches.count)))) }
        return batches
    }

    /// A valid batch of up to 1 MiB (as many frames as fit), stamped now, from `producer`.
    static func fullBatch(producer: UInt64, rng: inout SplitMix64, fleet: SyntheticFleet) -> [UInt8] {
        let encoder = BatchEncoder(capacity: WireLimits.maxBatchBytes, producerID: producer)
        let now = UInt64(Date().timeIntervalSince1970 * 1e6)
        while (try? encoder.append(fleet.frame(eventTimeMicros: now, &rng))) == true {}
        return Array(encoder.finish(sequence: 0))
    }
}
