import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// A live cohort aggregate's summarized distributions take each value into their exact
/// statistics alone (``TDigest/insertIntoStatistics(_:)``); the aggregate read from the table
/// has them settled into summaries, whatever the snapshot is told to summarize.
@Suite struct LiveCohortSummaryTests {
    /// 40 frames (the aggregate built at the 32nd, still collecting) and 200 (past the
    /// 64-request bucketing threshold).
    @Test(arguments: [40, 200])
    func aLiveCohortsSummariesAreSettledWhenRead(frames: Int) throws {
        let summaries: SummarizedDigests = [.queueTime, .inputTokens, .outputTokens]
        let table = WindowTable(startMicros: 0, maxSeries: 1_000, sketches: SketchParameters(),
                                cohortSummaries: summaries)
        var key = SeriesKey(model: 10, route: 11)
        key.appendBreakdown(key: 20, value: 21)
        var rng = SplitMix64(seed: 5)
        var queue: [Double] = [], input: [Double] = [], latency: [Double] = []
        for n in 0..<frames {
            let q = UInt32(rng.next() % 5_000), i = UInt32(rng.next() % 3_000), l = UInt32(20_000 + rng.next() % 80_000)
            queue.append(Double(q)); input.append(Double(i)); latency.append(Double(l))
            table.add(FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0, values: FrameValues(
                userHash: UInt64(n + 1), sessionHash: 0, cost: 0.25, queueTimeMicros: q, timeToFirstTokenMicros: 100,
                totalLatencyMicros: l, inputTokens: i, outputTokens: 7, cachedInputTokens: 0, errorClass: 0,
                categoryID: WireLimits.noCategory, safetyKinds: [], status: .ok, outcome: OutcomeBits(task: .success),
                safetySeverity: .none)))
        }
        let cohort = try #require(table.aggregate(key.cohortKey(0)))
        #expect(cohort.requests == UInt64(frames))
        for (name, digest, values) in [("queue", cohort.queueTime, queue), ("input", cohort.inputTokens, input),
                                       ("output", cohort.outputTokens, [Double](repeating: 7, count: frames))] {
            let sum = values.reduce(0, +)
            #expect(digest.count == UInt64(frames) && digest.sum == sum && digest.min == values.min()!
                    && digest.max == values.max()!, "\(name)")
            let centroids = digest.centroidList
            let mean = min(max(sum / Double(frames), values.min()!), values.max()!)
            #expect(centroids.count == 1 && centroids.first?.weight == Double(frames)
                    && centroids.first?.mean == Double(Float(mean)), "\(name): \(centroids)")
            let back = try TDigest(compactSerialized: digest.compactSerialized(), compression: digest.compression,
                                   scale: digest.scale, meanKeyBits: 21)
            #expect(back.count == digest.count && back.centroidList.count == 1, "\(name) read back")
        }
        // The distributions not summarized keep their values: the latency's median lies
        // among the exact middle values (within 1 % of them, the front end's bucket).
        let sorted = latency.sorted()
        let median = cohort.totalLatency.quantile(0.5)
        #expect(cohort.totalLatency.count == UInt64(frames) && cohort.totalLatency.centroidList.count > 1)
        #expect(median >= 0.99 * sorted[frames / 2 - 2] && median <= 1.01 * sorted[frames / 2 + 1], "median \(median)")
    }
}
