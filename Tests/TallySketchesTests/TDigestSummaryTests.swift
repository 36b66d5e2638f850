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
        #expect(summary.count == 1 && summary.quantile(0.5) == 42 && summary.holdsOneUnbufferedValue)
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
    /// as usual, byte for byte, at every count.
    @Test func insertingIntoASummaryKeepsItOne() throws {
        var rng = SplitMix64(seed: 9)
        var usual = TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248)
        var summary = usual
        for n in 1...600 {
            let value = Double(rng.next() % 1_000_000) / 8
            usual.insert(value)
            summary.insertSummarizing(value)
            #expect(summary.compactSerialized() == usual.summarized().compactSerialized(), "after \(n) values")
            #expect(summary.centroidCount == (n == 1 ? 0 : 1))
        }
        summary.insertSummarizing(.infinity)
        #expect(summary.rejected == 1 && summary.count == 600)
        // A digest with centroids of its own becomes a summary at its next value.
        usual.insertSummarizing(1)
        #expect(usual.centroidList.count == 1 && usual.count == 601)
    }
}
