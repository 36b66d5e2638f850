import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// A window table builds a series' aggregate only when its open stash fills (its 32nd
/// frame); a series with fewer frames has its aggregate built from its frames when read
/// (at the seal). Either way the aggregate answers what a plain ``SeriesAggregate`` fed the
/// same frames in the same order answers.
@Suite struct StashedSeriesTests {
    /// Frame `n` of a series: varied values, an error class on every third frame, a
    /// category on every other one, users and sessions that repeat.
    static func values(_ n: Int, _ rng: inout SplitMix64) -> FrameValues {
        var v = BucketedSeriesTests.values(n, &rng)
        v.errorClass = n % 3 == 2 ? UInt32(40 + n % 5) : SymbolTable.none
        v.status = n % 3 == 2 ? .error : .ok
        v.categoryID = n % 2 == 0 ? UInt16(n % 7) : WireLimits.noCategory
        v.userHash = UInt64(n % 4) + 1
        v.sessionHash = UInt64(n / 2) + 1
        return v
    }

    /// Every counter, distinct count and exact statistic equal, and the digests' quantiles
    /// bit for bit (below 50 values a digest keeps each value: both hold the same ones).
    static func expectSame(_ a: SeriesAggregate, _ b: SeriesAggregate, _ label: String) {
        #expect(a.requests == b.requests, "\(label): requests")
        #expect(a.statusCounts == b.statusCounts, "\(label): statuses")
        #expect(a.errorClasses == b.errorClasses, "\(label): error classes")
        #expect(a.categories == b.categories, "\(label): categories")
        #expect(a.users.estimate == b.users.estimate && a.sessions.estimate == b.sessions.estimate, "\(label): distinct")
        let digests: [(String, TDigest, TDigest)] = [
            ("queue", a.queueTime, b.queueTime), ("ttft", a.timeToFirstToken, b.timeToFirstToken),
            ("latency", a.totalLatency, b.totalLatency), ("tpot", a.timePerOutputToken, b.timePerOutputToken),
            ("input", a.inputTokens, b.inputTokens), ("output", a.outputTokens, b.outputTokens), ("cost", a.cost, b.cost),
        ]
        for (name, x, y) in digests {
            #expect(x.count == y.count && x.min == y.min && x.max == y.max && x.sum == y.sum, "\(label) \(name): statistics")
            guard x.count > 0 else { continue }
            for q in stride(from: 0.0, through: 1.0, by: 0.05) where x.quantile(q) != y.quantile(q) {
                Issue.record("\(label) \(name): quantile \(q) \(x.quantile(q)) against \(y.quantile(q))")
            }
        }
    }

    /// Series of 1 … 45 frames (unbuilt up to 31, built from 32 on; then a stash folded
    /// every 8 frames), each read twice: a read of an unbuilt series changes nothing, so the
    /// second read answers the same.
    @Test(arguments: [1, 2, 3, 8, 9, 17, 30, 31, 32, 33, 39, 40, 45])
    func aSeriesAnswersLikeItsReference(frames: Int) throws {
        var rng = SplitMix64(seed: UInt64(frames))
        let key = SeriesKey(model: 3)
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters())
        var reference = SeriesAggregate(sketches: SketchParameters())
        for n in 0..<frames {
            let v = Self.values(n, &rng)
            table.add(BucketedSeriesTests.record(key, v))
            reference.add(v)
        }
        Self.expectSame(try #require(table.aggregate(key)), reference, "\(frames) frames, first read")
        Self.expectSame(try #require(table.aggregate(key)), reference, "\(frames) frames, second read")
    }

    /// A series read while unbuilt and then fed past its first full stash: the later read
    /// holds every frame, none twice.
    @Test func aSeriesReadBeforeItsBuildKeepsEveryFrame() throws {
        var rng = SplitMix64(seed: 99)
        let key = SeriesKey(model: 5)
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters())
        var reference = SeriesAggregate(sketches: SketchParameters())
        #expect(WindowTable.openStashCapacity == 30, "built at the 32nd frame, as the reads below assume")
        for n in 0..<45 {
            let v = Self.values(n, &rng)
            table.add(BucketedSeriesTests.record(key, v))
            reference.add(v)
            if n == 4 || n == 7 || n == 12 || n == 33 || n == 41 {
                Self.expectSame(try #require(table.aggregate(key)), reference, "after \(n + 1) frames")
            }
        }
        Self.expectSame(try #require(table.aggregate(key)), reference, "45 frames")
    }

    /// The symbols a snapshot names include the error classes of frames still in an unbuilt
    /// series' stash, not only its first frame's.
    @Test func symbolsOfStashedFramesAreCollected() {
        var rng = SplitMix64(seed: 5)
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters())
        let key = SeriesKey(model: 3)
        for n in 0..<3 {
            var v = Self.values(n, &rng)
            v.errorClass = n == 2 ? 77 : SymbolTable.none  // only the third (stashed) frame has one
            table.add(BucketedSeriesTests.record(key, v))
        }
        var used = SymbolSet()
        table.collectSymbols(into: &used)
        #expect(used.contains(77), "the stashed frame's error class")
        #expect(used.contains(3), "the model")
    }
}
