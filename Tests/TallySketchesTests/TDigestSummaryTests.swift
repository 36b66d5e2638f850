import Testing
import TallySynthetic
@testable import TallySketches

/// ``TDigest/summarized()``: the exact statistics in one centroid at the mean (split into
/// equal centroids past a centroid's 2³² − 1 values), in both encodings.
@Suite struct TDigestSummaryTests {
    @Test func keepsTheExactStatisticsInOneCentroid() throws {
        var rng = SplitMix64(seed: 3)
        var digest = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
        for _ in 0..<5_000 { digest.insert(Double(rng.next() % 100_000)) }  // integers: varint min, max, sum
        digest.insert(.nan)
        let summary = digest.summarized()
        #expect(summary.count == digest.count && summary.min == digest.min && summary.max == digest.max
                && summary.sum == digest.sum && summary.rejected == 1)
        #expect(digest.centroidList.count > 50 && summary.centroidList.count == 1)
        let only = try #require(summary.centroidList.first)
        #expect(only.weight == 5_000 && abs(only.mean - digest.sum / 5_000) <= 1e-6 * only.mean)
        #expect(summary.compression == 100 && summary.scale == .k2tRelative)
        // Both encodings carry it; the compact one in a few bytes.
        let compact = summary.compactSerialized()
        #expect(compact.count <= 24, "\(compact.count) bytes")
        let back = try TDigest(compactSerialized: compact, compression: 100, scale: .k2tRelative, meanKeyBits: 21)
        #expect(back.count == 5_000 && back.min == digest.min && back.max == digest.max && back.sum == digest.sum)
        #expect(back.centroidList.count == 1 && back.summarized().compactSerialized() == compact)
        #expect(try TDigest(serialized: summary.serialized()).centroidList.count == 1)
    }

    @Test func emptyAndOneValueDigestsAreTheirOwnSummary() {
        let empty = TDigest(compression: 100)
        #expect(empty.summarized().isEmpty && empty.summarized().centroidCount == 0)
        var one = TDigest(compression: 100)
        one.insert(42)
        let summary = one.summarized()
        #expect(summary.count == 1 && summary.quantile(0.5) == 42 && summary.holdsSmallValues)
    }

    /// More values than a centroid may hold: equal centroids at the mean, weights adding up.
    @Test func splitsWhatOneCentroidCannotHold() {
        var digest = TDigest(compression: 100)
        digest.insert(2, weight: 6_000_000_000)
        digest.insert(4, weight: 3_000_000_001)
        let summary = digest.summarized()
        let centroids = summary.centroidList
        #expect(summary.count == 9_000_000_001 && centroids.count == 3)
        #expect(centroids.reduce(0) { $0 + $1.weight } == 9_000_000_001)
        #expect(centroids.allSatisfy { $0.mean == centroids[0].mean && $0.weight <= TDigest.maxCentroidWeight })
        #expect(abs(centroids[0].mean - summary.sum / 9_000_000_001) < 1e-6)
    }

    /// Values inserted one by one as a summary give the summary of the same values inserted
    /// as usual, byte for byte, at every count; so do values taken by the statistics alone
    /// (``TDigest/insertIntoStatistics(_:)``) once settled by ``TDigest/summarized()``.
    @Test func insertingIntoASummaryKeepsItOne() throws {
        var rng = SplitMix64(seed: 9)
        var usual = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
        var summary = usual, waiting = usual
        for n in 1...600 {
            let value = Double(rng.next() % 1_000_000) / 8
            usual.insert(value)
            summary.insertSummarizing(value)
            waiting.insertIntoStatistics(value)
            #expect(summary.compactSerialized() == usual.summarized().compactSerialized(), "after \(n) values")
            #expect(summary.centroidCount == (n == 1 ? 0 : 1))
            #expect(waiting.count == usual.count && waiting.sum == usual.sum && waiting.min == usual.min
                    && waiting.max == usual.max, "after \(n) values")
            #expect(waiting.summarized().compactSerialized() == summary.compactSerialized(), "after \(n) values")
        }
        summary.insertSummarizing(.infinity)
        #expect(summary.rejected == 1 && summary.count == 600)
        waiting.insertIntoStatistics(.nan)
        waiting.insertIntoStatistics(-.infinity)
        #expect(waiting.rejected == 2 && waiting.count == 600)
        // A digest with centroids of its own becomes a summary at its next value.
        usual.insertSummarizing(1)
        #expect(usual.centroidList.count == 1 && usual.count == 601)
    }

    /// A digest with its own values (three small ones, then a buffer and centroids) that
    /// takes more into its statistics alone settles to the summary of all of them.
    @Test func statisticsAloneSettleOverWhatTheDigestHeld() throws {
        for held in [3, 400] {
            var usual = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
            var mixed = usual
            for i in 0..<held {
                usual.insert(Double(i) * 3)
                mixed.insert(Double(i) * 3)
            }
            for i in 0..<5 {
                usual.insert(Double(i) + 0.5)
                mixed.insertIntoStatistics(Double(i) + 0.5)
            }
            #expect(mixed.summarized().compactSerialized() == usual.summarized().compactSerialized(), "\(held) held")
            #expect(mixed.summarized().centroidList.count == 1)
        }
    }

    /// A digest that already is its own summary comes back as it is (the same centroid
    /// storage, no new array); one that is not (a merge pass made it, or a buffered value)
    /// is rebuilt.
    @Test func aSummaryIsItsOwnSummary() {
        var summary = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
        for value in [5.0, 9, 1, 7] { summary.insertSummarizing(value) }
        #expect(summary.isSummaryOfItsStatistics)
        func storage(_ d: TDigest) -> UnsafeRawPointer? {
            d.centroids.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        let again = summary.summarized()
        #expect(storage(again) == storage(summary) && again.compactSerialized() == summary.compactSerialized())
        // The same centroid after a merge pass: the pass count (which picks the next pass's
        // direction) differs from a summary's, so it is rebuilt.
        var passed = summary
        passed.passes = 1
        #expect(!passed.isSummaryOfItsStatistics)
        #expect(storage(passed.summarized()) != storage(passed) && passed.summarized().passes == 0)
        // A buffered value beside the centroid.
        var buffered = summary
        buffered.buffer = [3]
        #expect(!buffered.isSummaryOfItsStatistics)
        // A stale centroid (statistics taken alone) is not a summary of the statistics.
        var stale = summary
        stale.insertIntoStatistics(100)
        #expect(!stale.isSummaryOfItsStatistics && stale.summarized().isSummaryOfItsStatistics)
        #expect(stale.summarized().centroidList.first?.mean == Double(Float(122.0 / 5)))
    }

    /// The lean compact form (SNAPSHOT.md, lean summaries): count, rejected and the value or
    /// min, max and sum, ≥ 5 bytes less than the full form of a one-centroid summary; read back
    /// as the same summary, split past 2³² − 1 values as ``summarized()`` splits; bad bytes
    /// refused with an error.
    @Test func leanSummariesReadBackAsTheSameSummary() throws {
        func lean(_ d: TDigest) -> [UInt8] {
            var bytes: [UInt8] = []
            withUnsafePointer(to: d) { TDigest.compactSummarySerialize(at: $0, appendingTo: &bytes) }
            return bytes
        }
        func read(_ bytes: [UInt8]) throws -> TDigest { try TDigest(compactSummary: bytes, compression: 100, scale: .k2tRelative) }
        func pairs(_ d: TDigest) -> [[Double]] { d.centroidList.map { [$0.mean, $0.weight] } }
        var rng = SplitMix64(seed: 12)
        var summary = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
        for n in 0...300 {
            let bytes = lean(summary)
            let back = try read(bytes)
            #expect(back.compactSerialized() == summary.compactSerialized(), "after \(n) values")
            #expect(pairs(back) == pairs(summary) && back.rejected == summary.rejected)
            if n > 1 { #expect(bytes.count <= summary.compactSerialized().count - 5, "after \(n) values") }
            if n <= 1 { #expect(bytes == summary.compactSerialized(), "count ≤ 1: the same bytes as the full form") }
            summary.insertSummarizing(Double(rng.next() % 1_000_000) / 8)
        }
        // Past 2^32 − 1 values: the same split as summarized().
        var big = TDigest(compression: 100, scale: .k2tRelative)
        big.insert(2, weight: 6_000_000_000)
        big.insert(4, weight: 3_000_000_001)
        let split = big.summarized()
        let back = try read(lean(split))
        #expect(pairs(back) == pairs(split) && back.centroidList.count == 3 && back.count == 9_000_000_001)
        // Refused: a count past the bound, min > max, trailing and missing bytes.
        var tooMany: [UInt8] = []
        var n = TDigest.leanSummaryMaxCount + 1
        while n >= 0x80 { tooMany.append(UInt8(truncatingIfNeeded: n) | 0x80); n >>= 7 }
        tooMany += [UInt8(n), 0, 0, 4, 4]  // rejected 0, min 0, max 1, sum 1 (a number's integer form: 2 · zigzag)
        #expect(throws: SketchError.self) { try read(tooMany) }
        #expect(throws: SketchError.self) { try read([2, 0, 8, 4, 12]) }     // min 2 > max 1
        #expect(throws: SketchError.self) { try read([2, 0, 4, 8, 12, 0]) }  // a trailing byte
        #expect(throws: SketchError.self) { try read([2, 0, 4, 8]) }         // no sum
        let ok = try read([2, 0, 4, 8, 12])                                 // 1 and 2: min 1, max 2, sum 3
        #expect(ok.count == 2 && ok.centroidList.map(\.mean) == [1.5] && ok.centroidList.map(\.weight) == [2])
    }
}
