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
        var droppedTotal: UInt64
        /// Counters worth a line in the table: non-zero refusals, rejections and drops.
        var counted: String {
            counters.filter { ($0.key.hasPrefix("ingest.refused.") || $0.key.hasPrefix("ingest.rejected.")
                               || $0.key.hasPrefix("dropped.") || $0.key.hasPrefix("ingest.dropped.")) && $0.value > 0 }
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
        try config.write(toFile: dir + "/tallyd.toml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: IndexScenarioTests.tallydPath)
        process.arguments = ["--config", dir + "/tallyd.toml"]
        FileManager.default.createFile(atPath: dir + "/tallyd.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: dir + "/tallyd.log")
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        sampler = ResidentMemorySampler(pid: process.processIdentifier)
        // Up once it has logged its start line (sockets bound, threads running).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning
            && !((try? String(contentsOfFile: dir + "/tallyd.log", encoding: .utf8))?.contains("ingest on") ?? false) {
            Thread.sleep(forTimeInterval: 0.05)
        }
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
        let snapshots = try SnapshotLog.read(directory: dir + "/data").records.map { try SnapshotCodec.decode($0.payload) }
        let counters = snapshots.last?.counters ?? [:]
        let good = snapshots.reduce(UInt64(0)) { sum, snapshot in
            sum + snapshot.series.filter { $0.labels.model == Self.goodModel }.reduce(0) { $0 + $1.aggregate.requests }
        }
        return Outcome(aliveAtEnd: alive, exitStatus: process.isRunning ? -1 : process.terminationStatus,
                       peakMiB: sampler.peakMiB, counters: counters, goodSent: goodSent.withLock { $0 },
                       goodArrived: counters[ProducerLedger.counterName(producer: Self.goodProducer, field: "frames")] ?? 0, goodInWindows: good,
                       droppedTotal: counters.filter { $0.key.hasPrefix("dropped.") }.values.reduce(0, +))
    }

    /// A valid batch of up to 1 MiB (as many frames as fit), stamped now, from `producer`.
    static func fullBatch(producer: UInt64, rng: inout SplitMix64, fleet: SyntheticFleet) -> [UInt8] {
        let encoder = BatchEncoder(capacity: WireLimits.maxBatchBytes, producerID: producer)
        let now = UInt64(Date().timeIntervalSince1970 * 1e6)
        while (try? encoder.append(fleet.frame(eventTimeMicros: now, &rng))) == true {}
        return Array(encoder.finish(sequence: 0))
    }
}
