import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// Busy series in a window table go through histogram front ends (issue 16): what their
/// sealed aggregates answer, and what they take from the memory budget.
@Suite struct BucketedSeriesTests {
    static func values(_ n: Int, _ rng: inout SplitMix64) -> FrameValues {
        let latency = Distribution.lognormal(mu: 13.5, sigma: 0.6).sample(&rng)  // ~730 ms
        let ttft = latency * 0.2
        let output = UInt32(Distribution.lognormal(mu: 5, sigma: 0.8).sample(&rng).rounded(.up))
        return FrameValues(
            userHash: UInt64(n % 3_000) + 1, sessionHash: UInt64(n / 3) + 1,
            cost: Double(output) * 6e-6, queueTimeMicros: UInt32(Distribution.exponential(rate: 1e-3).sample(&rng)),
            timeToFirstTokenMicros: UInt32(ttft), totalLatencyMicros: UInt32(latency),
            inputTokens: UInt32(Distribution.lognormal(mu: 7, sigma: 1).sample(&rng).rounded(.up)),
            outputTokens: Swift.min(output, 1_024), cachedInputTokens: 0, errorClass: 0, categoryID: 1,
            safetyKinds: [], status: n % 50 == 0 ? .error : .ok, outcome: OutcomeBits(task: .success),
            safetySeverity: .none)
    }

    static func record(_ key: SeriesKey, _ values: FrameValues) -> FrameRecord {
        FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0, values: values)
    }

    /// Worst relative error of `digest` over q = 0.01 … 0.999 against `exact` (sorted).
    static func worstError(_ digest: TDigest, _ exact: [Double]) -> Double {
        QuantileCheck.worstValueError(sorted: exact) { digest.quantile($0) }.error
    }

    /// A series of 20,000 frames: counters and exact statistics equal the plain aggregate's,
    /// every quantile of the seven distributions within 1 % of the exact one.
    @Test func aBusySeriesAnswersLikeItsReference() throws {
        var rng = SplitMix64(seed: 7)
        let frames = (0..<20_000).map { Self.values($0, &rng) }
        let key = SeriesKey(model: 3)
        let memory = EngineMemory()
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters(), memory: memory)
        var reference = SeriesAggregate(sketches: SketchParameters())
        for v in frames {
            table.add(Self.record(key, v))
            reference.add(v)
        }
        let a = try #require(table.aggregate(key))
        #expect(a.requests == 20_000 && a.statusCounts == reference.statusCounts)
        #expect(a.users.estimate == reference.users.estimate)
        #expect(memory.usedBytes > EngineMemory.oneFrameSeriesBytes + EngineMemory.busySeriesBytes,
                "the histograms' allowance was reserved")
        #expect(table.histogramsRefused == 0)
        let exact: [(String, TDigest, TDigest, [Double])] = [
            ("queue", a.queueTime, reference.queueTime, frames.map { Double($0.queueTimeMicros) }),
            ("ttft", a.timeToFirstToken, reference.timeToFirstToken, frames.map { Double($0.timeToFirstTokenMicros) }),
            ("latency", a.totalLatency, reference.totalLatency, frames.map { Double($0.totalLatencyMicros) }),
            ("tpot", a.timePerOutputToken, reference.timePerOutputToken, frames.compactMap(\.timePerOutputTokenMicros)),
            ("input", a.inputTokens, reference.inputTokens, frames.map { Double($0.inputTokens) }),
            ("output", a.outputTokens, reference.outputTokens, frames.map { Double($0.outputTokens) }),
            ("cost", a.cost, reference.cost, frames.map(\.cost)),
        ]
        for (name, got, plain, values) in exact {
            #expect(got.count == plain.count && got.count == UInt64(values.count), "\(name)")
            #expect(got.min == plain.min && got.max == plain.max, "\(name)")
            #expect(abs(got.sum - plain.sum) <= 1e-9 * abs(plain.sum), "\(name)")
            let error = Self.worstError(got, values.sorted())
            #expect(error <= 0.01, "\(name): \(error * 100) %")
        }
        // Output tokens are capped at 1,024: every rank in the capped run answers 1,024.
        let capped = frames.filter { $0.outputTokens == 1_024 }.count
        if capped > 400 {
            let q = 1 - Double(capped / 2) / 20_000
            #expect(a.outputTokens.quantile(q) == 1_024)
        }
    }

    /// With no room for histograms the series stays on its digests: counts stay exact and
    /// nothing is reserved beyond the busy series' bytes.
    @Test func aSeriesRefusedHistogramsStaysExactOnItsDigests() throws {
        let one = EngineMemory.oneFrameSeriesBytes, busy = EngineMemory.busySeriesBytes
        let memory = EngineMemory(limitBytes: one + busy)
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters(), memory: memory)
        var rng = SplitMix64(seed: 9)
        let key = SeriesKey(model: 4)
        var latencies: [Double] = []
        for n in 0..<5_000 {
            let v = Self.values(n, &rng)
            latencies.append(Double(v.totalLatencyMicros))
            table.add(Self.record(key, v))
        }
        #expect(memory.usedBytes == one + busy, "no histogram bytes granted")
        #expect(table.foldedFrames == 0, "a refused allowance folds nothing")
        #expect(table.histogramsRefused == 1, "asked once, refused once: the series stays capped")
        let a = try #require(table.aggregate(key))
        #expect(a.requests == 5_000 && a.totalLatency.count == 5_000)
        #expect(Self.worstError(a.totalLatency, latencies.sorted()) <= 0.01)
    }

    /// Series below the threshold never reserve histogram bytes; the table gives back
    /// everything it reserved when freed.
    @Test func smallSeriesReserveNoHistogramsAndFreedTablesGiveAllBack() throws {
        let memory = EngineMemory(limitBytes: 1 << 30)
        var table: WindowTable? = WindowTable(startMicros: 0, maxSeries: 100, sketches: SketchParameters(),
                                              memory: memory)
        var rng = SplitMix64(seed: 3)
        for n in 0..<(50 * 40) { table!.add(Self.record(SeriesKey(model: UInt32(10 + n % 50)), Self.values(n, &rng))) }
        #expect(memory.usedBytes == 50 * (EngineMemory.oneFrameSeriesBytes + EngineMemory.busySeriesBytes))
        for n in 0..<2_000 { table!.add(Self.record(SeriesKey(model: 10), Self.values(n, &rng))) }
        #expect(memory.usedBytes > 50 * (EngineMemory.oneFrameSeriesBytes + EngineMemory.busySeriesBytes))
        #expect(table!.aggregate(SeriesKey(model: 10))?.requests == 2_040)
        table = nil
        #expect(memory.usedBytes == 0)
    }
}
