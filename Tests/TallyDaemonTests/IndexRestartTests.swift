import Foundation
import Logging
import Testing
import TallyCore
@testable import TallyDaemon
import TallyIndex
import TallyTestSupport

/// Alerts survive a restart: tallyd replays the stored windows through a new index
/// engine, so an alert that was firing is firing again with the same fingerprint and
/// start, and the next breaching window pages nobody a second time.
@Suite struct IndexRestartTests {
    func windows(_ range: Range<Int>) -> [Snapshot] {
        range.map { w in
            var canary = SeriesShape(ring: .canary, requests: 400, medianLatency: w >= 4 ? 2_500_000 : 400_000)
            canary.model = "m"
            return snapshot(window: w, [SeriesShape(requests: 2_000, medianLatency: 400_000), canary])
        }
    }

    @Test func aFiringAlertIsRebuiltFromStoredWindowsAndNotPagedAgain() throws {
        let dir = NSTemporaryDirectory() + "tally-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = DaemonConfiguration()
        configuration.dataDirectory = dir
        // Before the restart: windows 0 … 7 go to the data directory; the canary breaches from window 4.
        let sink = try FileSink(directory: dir, maxBytes: 1 << 20, retention: 10, fsyncEachRecord: false)
        let before = IndexEngine(policy: try testPolicy(), collectorID: "test")
        var firedBefore: [AlertEvent] = []
        for (i, snapshot) in windows(0..<8).enumerated() {
            try sink.deliver(EncodedSnapshot(sequence: UInt64(i), snapshot: snapshot, bytes: SnapshotCodec.encode(snapshot)))
            firedBefore += try before.evaluate(snapshot)[0].alerts.events.filter { $0.state == "firing" }
        }
        sink.close()
        let latency = try #require(firedBefore.first { $0.alert.key == "kpi:latency_p95|model=m,ring=canary" })

        // The restart: a new stage replays the stored windows.
        let policyFile = dir + "-policy.toml"
        try testPolicyText.write(toFile: policyFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: policyFile) }
        configuration.policyFile = policyFile
        let stage = try IndexStage(configuration: configuration, logger: Logger(label: "test"))
        stage.replay(directory: dir, limit: 360)
        let after = try #require(stage.evaluate(windows(8..<9)[0])?.first)
        let open = try #require(after.alerts.open.first { $0.key == latency.alert.key })
        #expect(open.state == "firing")
        #expect(open.fingerprint == latency.alert.fingerprint)
        #expect(open.startsAtMicros == latency.alert.startsAtMicros)
        #expect(!after.alerts.events.contains { $0.state == "firing" }, "paged again after the restart")
    }
}
