import Foundation
import Testing
import TallyClient
import TallyCore
@testable import TallyDaemon
import TallySynthetic
import TallyWire
import ZeroMQ

/// End-to-end runs of the collector on loopback (ipc://), real sockets and files.
@Suite(.serialized) struct EndToEndTests {
    final class Run {
        let dir = NSTemporaryDirectory() + "tally-e2e-\(UUID().uuidString)"
        let ingest: String
        let pub: String
        let replay: String
        init() {
            let base = "ipc://" + NSTemporaryDirectory() + "tally-\(UUID().uuidString.prefix(8))"
            ingest = base + "-in"
            pub = base + "-pub"
            replay = base + "-replay"
        }
        func configuration(window: Int = 1, lateness: Int = 1) -> DaemonConfiguration {
            var c = DaemonConfiguration()
            c.endpoints = [ingest]
            c.dataDirectory = dir
            c.pubEndpoint = pub
            c.replayEndpoint = replay
            c.windowSeconds = window
            c.allowedLatenessSeconds = lateness
            c.fsync = "never"
            c.prices["llama-3.1-70b-instruct"] = ModelPrice(input: 0.88, cachedInput: 0.44, output: 0.88)
            return c
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func nowMicros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }

    /// Polls `condition` every 10 ms for at most `seconds`.
    static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    static func stored(_ dir: String) throws -> [Snapshot] {
        try SnapshotLog.read(directory: dir).records.map { try SnapshotCodec.decode($0.payload) }
    }

    @Test func knownFramesAreExactAndMalformedBatchesAreCountedByReason() throws {
        let run = Run()
        let collector = try Collector(configuration: run.configuration())
        collector.start()
        var rng = SplitMix64(seed: 5)
        let fleet = SyntheticFleet(tenants: 5, users: 3_000)
        let now = Self.nowMicros()
        let frames = (0..<5_000).map { _ in fleet.frame(eventTimeMicros: now, &rng) }
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [run.ingest]))
        // The client drops (and counts) while its connection is coming up: wait for it
        // with probe frames of their own model, left out of the sums below.
        var probe = frames[0]
        probe.model = "probe"
        #expect(Self.wait(seconds: 10) {
            client.record(probe)
            _ = client.flush(timeoutMillis: 100)
            return collector.counters()["frames.accepted"]! > 0
        })
        let probesSent = client.counters.framesSent
        for frame in frames { client.record(frame) }
        let counters = client.close(timeoutMillis: 10_000)
        #expect(counters.framesSent == 5_000 + probesSent)
        // Three malformed batches from a plain PUSH socket.
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(run.ingest)
        let encoder = BatchEncoder(capacity: 4_096, producerID: 9)
        _ = try encoder.append(frames[0])
        let good = Array(encoder.finish(sequence: 1))
        var badMagic = good; badMagic[0] = 0x58
        try push.send(badMagic)
        try push.send(Array(good.prefix(good.count - 3)))
        try push.send([UInt8](repeating: 7, count: 3))
        #expect(Self.wait(seconds: 10) { collector.counters()["ingest.batches"]! == counters.batchesSent + 3 })
        #expect(collector.stop())
        let c = collector.counters()
        #expect(c["frames.accepted"] == 5_000 + probesSent)
        #expect(c.filter { $0.key.hasPrefix("ingest.rejected.") }.values.reduce(0, +) == 3)
        #expect(c["ingest.rejected.bad_magic", default: 0] >= 1)

        let snapshots = try Self.stored(run.dir)
        #expect(snapshots.reduce(0) { $0 + $1.requests } == 5_000 + probesSent, "every accepted frame is in a snapshot, once")
        let series = snapshots.flatMap(\.series).filter { $0.labels.model != "probe" }
        #expect(series.reduce(0) { $0 + $1.aggregate.requests } == 5_000)
        let latencySum = frames.reduce(0.0) { $0 + Double($1.totalLatencyMicros) }
        #expect(abs(series.reduce(0.0) { $0 + $1.aggregate.totalLatency.sum } - latencySum) <= 1e-9 * latencySum)
        let outputTokens = frames.reduce(UInt64(0)) { $0 + UInt64($1.outputTokens) }
        #expect(series.reduce(0.0) { $0 + $1.aggregate.outputTokens.sum } == Double(outputTokens))
        let errors = frames.filter { $0.status != .ok }.count
        #expect(series.reduce(0) { $0 + Int($1.aggregate.requests - $1.aggregate.statusCounts[0]) } == errors)
        // Quantiles within the digest's error, distinct users within the HLL's.
        var all = SeriesAggregate(sketches: snapshots[0].sketches)
        for s in series { try all.merge(s.aggregate) }
        let sorted = frames.map { Double($0.totalLatencyMicros) }.sorted()
        for q in [0.5, 0.9, 0.99] {
            let estimate = all.totalLatency.quantile(q)
            let rank = Double(sorted.firstIndex { $0 >= estimate } ?? sorted.count) / Double(sorted.count)
            #expect(abs(rank - q) <= 0.01, "q \(q): rank \(rank)")
        }
        let users = Set(frames.map(\.userHash).filter { $0 != 0 }).count
        #expect(abs(all.users.estimate - Double(users)) <= 0.05 * Double(users), "users \(users) ≈ \(all.users.estimate)")
    }

    /// A sink that never returns until released.
    final class StuckSink: SnapshotSink, @unchecked Sendable {
        let name = "stuck"
        let release = DispatchSemaphore(value: 0)
        func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) { release.wait() }
        func close() {}
    }

    @Test func aStuckSinkStopsNeitherIngestNorTheFileSink() throws {
        let run = Run()
        var configuration = run.configuration(window: 1, lateness: 0)
        configuration.sinkQueue = 1
        let stuck = StuckSink()
        defer { for _ in 0..<10 { stuck.release.signal() } }
        let collector = try Collector(configuration: configuration, extraSinks: [stuck])
        collector.start()
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [run.ingest]))
        var rng = SplitMix64(seed: 8)
        let fleet = SyntheticFleet(tenants: 3, users: 100)
        // Frames over four windows: four snapshots, while the stuck sink holds the first.
        let start = Date()
        while Date().timeIntervalSince(start) < 4 {
            for _ in 0..<50 { client.record(fleet.frame(eventTimeMicros: Self.nowMicros(), &rng)) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let sent = client.close(timeoutMillis: 10_000).framesSent
        #expect(Self.wait(seconds: 10) { collector.counters()["frames.accepted"]! == sent })
        #expect(!collector.stop(timeoutSeconds: 1), "the stuck sink is reported")
        let c = collector.counters()
        let snapshots = c["snapshots"]!
        #expect(snapshots >= 4)
        #expect(c["sink.file.delivered"] == snapshots, "the file sink got every snapshot")
        let stuckDropped = SinkDropReason.allCases.reduce(0) { $0 + c["sink.stuck.dropped.\($1.rawValue)"]! }
        #expect(stuckDropped >= snapshots - 2, "the stuck sink's losses are counted")
        #expect(try Self.stored(run.dir).reduce(0) { $0 + $1.requests } + c["dropped.late"]! == sent)
    }

    @Test func aSubscriberFillsAGapThroughTheReplayEndpoint() throws {
        let run = Run()
        let collector = try Collector(configuration: run.configuration(window: 1, lateness: 0))
        collector.start()
        defer { collector.stop() }
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [run.ingest]))
        defer { _ = client.close(timeoutMillis: 2_000) }
        var rng = SplitMix64(seed: 9)
        let fleet = SyntheticFleet(tenants: 3, users: 100)
        let context = try ZMQContext()
        let subscriber = try ZMQSocket(context: context, type: .sub)
        try subscriber.subscribe(PubSink.topic)
        try subscriber.setReceiveTimeout(milliseconds: 100)
        var first: UInt64? = nil
        var payload: [UInt8] = []
        let start = Date()
        // The subscriber joins late: the first snapshots are gone from the stream.
        while payload.isEmpty && Date().timeIntervalSince(start) < 15 {
            for _ in 0..<20 { client.record(fleet.frame(eventTimeMicros: Self.nowMicros(), &rng)) }
            Thread.sleep(forTimeInterval: 0.02)
            if first == nil && collector.counters()["snapshots"]! >= 2 {
                try subscriber.connect(run.pub)
                first = 0
            }
            if first != nil, let parts = try? subscriber.receiveMultipart(), parts.count == 2,
               let sequence = PubSink.sequence(inHeader: parts[0]) {
                if sequence >= 2 { payload = parts[1]; first = sequence }
            }
        }
        let seen = try #require(first)
        #expect(!payload.isEmpty && seen >= 2)
        let request = try ZMQSocket(context: context, type: .req)
        try request.setReceiveTimeout(milliseconds: 5_000)
        try request.connect(run.replay)
        try request.send("0 \(seen - 1)")
        let reply = try request.receiveMultipart()
        #expect(String(decoding: reply[0], as: UTF8.self) == "ok \(seen)")
        let filled = try reply.dropFirst().map { try SnapshotCodec.decode($0) }
        #expect(filled.map(\.sequences[0].first) == Array(0..<seen), "the gap is filled in order")
        try request.send("5 1")
        #expect(String(decoding: try request.receiveMultipart()[0], as: UTF8.self).hasPrefix("error"))
    }
}
