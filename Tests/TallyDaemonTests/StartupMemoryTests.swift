import Foundation
import Testing
@testable import TallyDaemon
import TallyCore
import TallySynthetic
import TallyWire

/// Issue 18: start-up read the whole data directory into memory (a 121 MiB directory left
/// tallyd at ~200 MiB resident). Now it reads the newest sequence from the newest file and
/// the index replays its windows one record at a time: a real tallyd started on a data
/// directory of 128 MiB, with the index replaying every window in it, stays far below that.
@Suite(.serialized) struct StartupMemoryTests {
    /// A snapshot of `series` series with 30 requests each (the digests and HyperLogLogs hold
    /// real values), for the first second of 1970.
    static func snapshot(series: Int) -> Snapshot {
        var rng = SplitMix64(seed: 5)
        let fleet = SyntheticFleet(tenants: 4, users: 5_000)
        var aggregate = SeriesAggregate()
        for _ in 0..<30 {
            let f = fleet.frame(eventTimeMicros: 0, &rng)
            aggregate.add(FrameValues(userHash: f.userHash, sessionHash: f.sessionHash, cost: Double(f.outputTokens) * 1e-6,
                                      queueTimeMicros: f.queueTimeMicros, timeToFirstTokenMicros: f.timeToFirstTokenMicros ?? WireLimits.absent32,
                                      totalLatencyMicros: f.totalLatencyMicros, inputTokens: f.inputTokens,
                                      outputTokens: f.outputTokens, cachedInputTokens: f.cachedInputTokens,
                                      errorClass: SymbolTable.none, categoryID: f.categoryID ?? WireLimits.noCategory, safetyKinds: f.safetyKinds,
                                      status: f.status, outcome: f.outcome, safetySeverity: f.safetySeverity))
        }
        return Snapshot(collectorID: "startup", windowStartMicros: 0, windowEndMicros: 1_000_000, sequence: 0,
                        sketches: SketchParameters(),
                        series: (0..<series).map { SnapshotSeries(labels: SeriesLabels(model: "m-\($0 % 20)", route: "r-\($0 / 20)"),
                                                                  aggregate: aggregate, errorClasses: [:]) },
                        counters: ["frames.accepted": 30 * UInt64(series)])
    }

    @Test func startingOnA128MiBDataDirectoryDoesNotReadItIntoMemory() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let dir = NSTemporaryDirectory() + "tally-startup-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try SnapshotLogWriter(directory: dir + "/data", maxBytes: 64 << 20, retention: 100, fsyncEachRecord: false)
        var stored = 0, windows: UInt64 = 0
        // One encoding (slow in a debug build), its window times patched per record
        // (SNAPSHOT.md: window_start and window_end are u64 LE at offsets 8 and 16).
        let base = SnapshotCodec.encode(Self.snapshot(series: 2_000))
        let baseStart = UInt64(Date().timeIntervalSince1970) * 1_000_000 - 3_600_000_000
        while stored < 128 << 20 {
            var bytes = base
            for (offset, value) in [(8, baseStart + windows * 1_000_000), (16, baseStart + (windows + 1) * 1_000_000)] {
                withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 8, with: $0) }
            }
            try writer.append(sequence: windows, payload: bytes)
            stored += bytes.count
            windows += 1
        }
        writer.close()

        let config = """
            collector_id = "startup"
            endpoints = ["tcp://127.0.0.1:\(try LoopbackListener.freePort())"]
            window_seconds = 1
            data_directory = "\(dir)/data"
            pub_endpoint = ""
            replay_endpoint = ""
            http_listen = ""
            index = true
            index_replay_windows = 360

            """
        let process = Process()
        try AttackRun.launch(process, config: config, in: dir)
        let sampler = ResidentMemorySampler(pid: process.processIdentifier)
        var log = ""
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning && !log.contains("index: rebuilt") {
            Thread.sleep(forTimeInterval: 0.1)
            log = (try? String(contentsOfFile: dir + "/tallyd.log", encoding: .utf8)) ?? ""
        }
        Thread.sleep(forTimeInterval: 1)
        process.terminate()
        process.waitUntilExit()
        sampler.stop()
        print("| start-up on a \(stored >> 20) MiB data directory (\(windows) windows of 2,000 series, all replayed by the index) | \(String(format: "%.0f", sampler.peakMiB)) MiB |")
        #expect(log.contains("index: rebuilt from \(windows) stored windows"), "the index replayed every window: \(log)")
        #expect(sampler.peakMiB < 100, "start-up holds one record at a time, not the directory's \(stored >> 20) MiB")
        #expect(process.terminationStatus == 0)
    }
}
