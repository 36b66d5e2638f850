import Testing
import TallySynthetic
@testable import TallySketches

/// |rank(estimate) − q| in ppm against sorted exact data (rank = midpoint of ties).
func rankErrorPPM(_ estimate: Double, _ q: Double, _ sorted: [Double]) -> Double {
    var below = 0, atOrBelow = 0
    var lo = 0, hi = sorted.count
    while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] < estimate { lo = mid + 1 } else { hi = mid } }
    below = lo
    hi = sorted.count
    while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] <= estimate { lo = mid + 1 } else { hi = mid } }
    atOrBelow = lo
    return abs((Double(below) + Double(atOrBelow)) / 2 / Double(sorted.count) - q) * 1e6
}

func sample(_ distribution: Distribution, _ n: Int, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<n).map { _ in distribution.sample(&rng) }
}

@Suite struct TDigestAccuracyTests {
    /// 10^5 values of each shape (the full 10^6 run is `tally-sketch accuracy`).
    /// Bounds are the 10^6 goals loosened for the smaller n.
    @Test(arguments: Distribution.accuracySuite.map(\.name))
    func rankErrorsWithinBounds(name: String) throws {
        let distribution = Distribution.accuracySuite.first { $0.name == name }!.distribution
        let data = sample(distribution, 100_000, seed: 7)
        var digest = TDigest()
        for x in data { digest.insert(x) }
        let sorted = data.sorted()
        let bounds: [(Double, Double)] = [(0.5, 3_000), (0.9, 1_600), (0.99, 200), (0.999, 60), (0.9999, 20)]
        let restored = try TDigest(serialized: digest.serialized())
        for (q, bound) in bounds {
            let error = rankErrorPPM(restored.quantile(q), q, sorted)
            #expect(error <= bound, "\(name) q=\(q): \(error) ppm > \(bound)")
        }
        #expect(digest.serialized().count <= 1_024)
        #expect(digest.count == 100_000)
        #expect(digest.min == sorted.first && digest.max == sorted.last)
    }

    @Test func sortedAndReverseSortedInput() {
        let data = (0..<50_000).map(Double.init)
        for input in [data, Array(data.reversed())] {
            var digest = TDigest()
            for x in input { digest.insert(x) }
            for q in [0.01, 0.5, 0.99, 0.999] {
                #expect(rankErrorPPM(digest.quantile(q), q, data) <= 2_000, "q=\(q)")
            }
        }
    }

    @Test func manyTiesAndDiscreteValues() {
        var rng = SplitMix64(seed: 3)
        let data = (0..<50_000).map { _ in Double(rng.next() % 5) }  // 0…4
        var digest = TDigest()
        for x in data { digest.insert(x) }
        let sorted = data.sorted()
        for q in [0.1, 0.3, 0.5, 0.7, 0.9] {
            let estimate = digest.quantile(q)
            let exact = sorted[Int(q * Double(sorted.count))]
            #expect(abs(estimate - exact) <= 1, "q=\(q): \(estimate) vs \(exact)")
        }
        #expect(digest.quantile(0) == 0 && digest.quantile(1) == 4)
    }

    /// The integer path (no finiteness check, no clamp) builds the very same digest as
    /// inserting the same values as `Double`, above 2²⁴ (where `Float` rounds) included,
    /// over both merge directions.
    @Test func integerInsertsEqualDoubleInserts() {
        var rng = SplitMix64(seed: 11)
        var viaInteger = TDigest(compression: 100, bufferCapacity: 248)
        var viaDouble = TDigest(compression: 100, bufferCapacity: 248)
        for i in 0..<20_000 {
            let value = i % 3 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(rng.next() % 5_000)
            viaInteger.insert(integer: value)
            viaDouble.insert(Double(value))
        }
        #expect(viaInteger.serialized() == viaDouble.serialized())
        #expect(viaInteger.centroidCount > 0 && viaInteger.count == 20_000)
    }

    @Test func allEqualValues() {
        var digest = TDigest()
        for _ in 0..<10_000 { digest.insert(42.5) }
        for q in [0.0, 0.001, 0.5, 0.999, 1.0] { #expect(digest.quantile(q) == 42.5) }
        #expect(digest.cdf(42.5) == 1 && digest.cdf(42.4) == 0)
    }

    @Test func tinyInputsAreExact() {
        var one = TDigest()
        one.insert(7)
        #expect(one.quantile(0) == 7 && one.quantile(0.5) == 7 && one.quantile(1) == 7)
        var two = TDigest()
        two.insert(2); two.insert(1)
        #expect(two.quantile(0.25) == 1 && two.quantile(0.75) == 2)
        var three = TDigest()
        for x in [3.0, 1, 2] { three.insert(x) }
        #expect(three.quantile(0.5) == 2 && three.quantile(0.1) == 1 && three.quantile(0.9) == 3)
        #expect(three.sum == 6 && three.mean == 2)
        // Up to exactLimit values every quantile is an exact order statistic.
        var small = TDigest()
        let values = (0..<small.exactLimit).map { Double($0 * 3 % 101) }
        for x in values { small.insert(x) }
        let sorted = values.sorted()
        for q in stride(from: 0.0, through: 0.99, by: 0.01) {
            #expect(small.quantile(q) == sorted[Int(q * Double(sorted.count))])
        }
        #expect(TDigest().quantile(0.5).isNaN)
    }

    @Test func nanAndInfinitiesAreRejectedAndCounted() {
        var digest = TDigest()
        for x in [1.0, .nan, .infinity, 2.0, -.infinity] { digest.insert(x) }
        digest.insert(.nan, weight: 5)
        #expect(digest.count == 2 && digest.rejected == 8)
        #expect(digest.min == 1 && digest.max == 2 && digest.sum == 3)
    }

    @Test func weightedInsertCountsExactly() {
        var digest = TDigest()
        digest.insert(10, weight: 1_000)
        digest.insert(20, weight: 3_000)
        #expect(digest.count == 4_000 && digest.sum == 70_000)
        #expect(digest.quantile(0.1) == 10 && digest.quantile(0.9) == 20)
    }

    /// A centroid holds at most 2³² − 1 values: heavier weights become several
    /// centroids, and the bytes of a heavier one are refused rather than wrapped.
    @Test func weightsBeyond32BitsSplitAndRoundTrip() throws {
        var digest = TDigest()
        digest.insert(7, weight: 10_000_000_000)
        digest.insert(9, weight: 3)
        #expect(digest.count == 10_000_000_003 && digest.centroidCount >= 3)
        #expect(digest.quantile(0.5) == 7 && digest.quantile(1) == 9)
        let back = try TDigest(serialized: digest.serialized())
        #expect(back.count == digest.count && back.quantile(0.5) == 7)
        // version, scale, compression 100, count 2^32, rejected 0, min, max, sum, one centroid of weight 2^32.
        var heavy: [UInt8] = [1, 4, 100, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0]
        for value in [1.0, 1.0, 4_294_967_296.0] {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { heavy += $0 }
        }
        heavy += [1]  // one centroid, at 1.0
        var key = TDigest.meanKey(1.0)
        while key >= 0x80 { heavy.append(UInt8(key & 0x7F) | 0x80); key >>= 7 }
        heavy.append(UInt8(key))
        heavy += [0x80, 0x80, 0x80, 0x80, 0x20]  // zigzag(2^32)
        #expect(throws: SketchError.self) { try TDigest(serialized: heavy) }
        heavy.replaceSubrange((heavy.count - 5)..., with: [0xFE, 0xFF, 0xFF, 0xFF, 0x1F])  // zigzag(2^32 − 1)
        heavy.replaceSubrange(4...8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])  // count 2^32 − 1
        #expect((try? TDigest(serialized: heavy))?.count == 4_294_967_295)
    }

    @Test func cdfInvertsQuantile() {
        let data = sample(.lognormal(mu: 0, sigma: 1), 50_000, seed: 11)
        var digest = TDigest()
        for x in data { digest.insert(x) }
        for q in [0.1, 0.5, 0.9, 0.99] {
            #expect(abs(digest.cdf(digest.quantile(q)) - q) < 0.002, "q=\(q)")
        }
    }
}

@Suite struct TDigestMergeTests {
    func parts(_ count: Int, each: Int, seed: UInt64) -> ([TDigest], [Double]) {
        let data = sample(.exponential(rate: 1), count * each, seed: seed)
        let digests = (0..<count).map { i in
            var d = TDigest()
            for x in data[(i * each)..<((i + 1) * each)] { d.insert(x) }
            return d
        }
        return (digests, data)
    }

    @Test func mergeIsDeterministicWhateverTheOrder() throws {
        let (digests, _) = parts(10, each: 5_000, seed: 21)
        let forward = try TDigest.merged(digests).serialized()
        var rng = SplitMix64(seed: 5)
        for _ in 0..<5 {
            let shuffled = digests.shuffled(using: &rng)
            #expect(try TDigest.merged(shuffled).serialized() == forward)
        }
        var ab = digests[0], ba = digests[1]
        try ab.merge(digests[1])
        try ba.merge(digests[0])
        #expect(ab.serialized() == ba.serialized(), "pairwise merge is commutative")
    }

    /// The builder fed one digest at a time (as the index feeds it, in place) gives what
    /// `merged(_:)` gives for the whole list, whatever the order; a digest of another
    /// compression is refused and leaves the merge as it was.
    @Test func mergeBuilderMatchesMergedAndRefusesOtherParameters() throws {
        let (digests, _) = parts(40, each: 300, seed: 8)
        let expected = try TDigest.merged(digests).serialized()
        var rng = SplitMix64(seed: 9)
        for _ in 0..<3 {
            var merge = TDigest.Merge(like: digests[0])
            for digest in digests.shuffled(using: &rng) { try merge.add(digest) }
            #expect(merge.result().serialized() == expected)
        }
        var merge = TDigest.Merge(like: digests[0])
        try merge.add(digests[0])
        #expect(throws: SketchError.self) { try merge.add(TDigest(compression: 50)) }
        let result = merge.result()
        let alone = try TDigest.merged([digests[0]])
        #expect(result.count == digests[0].count && result.serialized() == alone.serialized())
        #expect(TDigest.Merge(like: digests[0]).result().count == 0)
    }

    @Test func mergedExactFieldsAndAccuracy() throws {
        let (digests, data) = parts(100, each: 2_000, seed: 22)
        let merged = try TDigest.merged(digests)
        #expect(merged.count == UInt64(data.count))
        #expect(merged.min == data.min()! && merged.max == data.max()!)
        #expect(abs(merged.sum - data.reduce(0, +)) < 1e-6 * data.reduce(0, +))
        let sorted = data.sorted()
        for (q, bound) in [(0.5, 3_000.0), (0.9, 1_500), (0.99, 200), (0.999, 50)] {
            #expect(rankErrorPPM(merged.quantile(q), q, sorted) <= bound, "q=\(q)")
        }
        #expect(merged.serialized().count <= 1_024)
    }

    @Test func repeatedPairwiseMergesKeepAccuracy() throws {
        let (digests, data) = parts(64, each: 1_000, seed: 23)
        var level = digests
        while level.count > 1 {
            level = try stride(from: 0, to: level.count, by: 2).map { try TDigest.merged([level[$0], level[$0 + 1]]) }
        }
        let sorted = data.sorted()
        for (q, bound) in [(0.5, 5_000.0), (0.99, 400), (0.999, 100)] {
            #expect(rankErrorPPM(level[0].quantile(q), q, sorted) <= bound, "q=\(q)")
        }
    }

    @Test func mismatchedParametersAreAnError() {
        #expect(throws: SketchError.self) { try TDigest.merged([TDigest(compression: 100), TDigest(compression: 200)]) }
        #expect(throws: SketchError.self) { try TDigest.merged([TDigest(scale: .k2), TDigest(scale: .k3)]) }
    }
}

@Suite struct TDigestSerializationTests {
    static let digest: TDigest = {
        var d = TDigest()
        for x in sample(.pareto(scale: 1, alpha: 1.5), 20_000, seed: 31) { d.insert(x) }
        d.insert(.nan)
        return d
    }()

    @Test func roundTrip() throws {
        let bytes = Self.digest.serialized()
        let back = try TDigest(serialized: bytes)
        #expect(back.serialized() == bytes, "serialization is idempotent")
        #expect(back.count == Self.digest.count && back.rejected == 1)
        #expect(back.min == Self.digest.min && back.max == Self.digest.max && back.sum == Self.digest.sum)
        for q in [0.01, 0.5, 0.9, 0.99, 0.999] {
            let a = Self.digest.quantile(q), b = back.quantile(q)
            #expect(abs(a - b) <= 2e-5 * abs(a), "q=\(q): \(a) vs \(b)")  // means keep 17 significant bits
        }
        var one = TDigest()
        one.insert(-7.25)
        #expect(one.serialized().count == 14, "one value: 6 header bytes + the value")
        let oneBack = try TDigest(serialized: one.serialized())
        #expect(oneBack.count == 1 && oneBack.min == -7.25 && oneBack.max == -7.25 && oneBack.sum == -7.25)
        #expect(oneBack.quantile(0.5) == -7.25)
        let empty = try TDigest(serialized: TDigest().serialized())
        #expect(empty.isEmpty)
        var small = TDigest()
        for x in [1.5, -2.25, 3e10] { small.insert(x) }
        let smallBack = try TDigest(serialized: small.serialized())
        #expect([0.0, 0.5, 1.0].map(smallBack.quantile) == [-2.25, 1.5, 3e10])
    }

    @Test func malformedBytesAreRejected() {
        let bytes = Self.digest.serialized()
        func rejects(_ b: [UInt8]) -> Bool { (try? TDigest(serialized: b)) == nil }
        for length in 0..<bytes.count { #expect(rejects(Array(bytes.prefix(length))), "prefix \(length)") }
        #expect(rejects(bytes + [0]))
        var bad = bytes; bad[0] = 2; #expect(rejects(bad))                 // version
        bad = bytes; bad[1] = 9; #expect(rejects(bad))                     // scale
        bad = bytes; bad[2] = 5; bad[3] = 0; #expect(rejects(bad))         // compression 5
        // min > max
        var swapped = TDigest(); swapped.insert(1); swapped.insert(2)
        var s = swapped.serialized()
        let minAt = 2 + 2 + 1 + 1
        let minBytes = Array(s[minAt..<minAt + 8]), maxBytes = Array(s[minAt + 8..<minAt + 16])
        s.replaceSubrange(minAt..<minAt + 8, with: maxBytes)
        s.replaceSubrange(minAt + 8..<minAt + 16, with: minBytes)
        #expect(rejects(s))
    }

    @Test func randomCorruptionNeverTraps() {
        let bytes = Self.digest.serialized()
        var rng = SplitMix64(seed: 77)
        var rejected = 0
        for _ in 0..<3_000 {
            var b = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255) }
            if let d = try? TDigest(serialized: b) {
                // Whatever decodes is a usable digest.
                #expect(d.quantile(0.5) >= d.min && d.quantile(0.5) <= d.max)
            } else {
                rejected += 1
            }
        }
        #expect(rejected > 0)
    }

    @Test func postgreSQLTextFormat() throws {
        var digest = TDigest(compression: 100)
        for x in [1.0, 2.0, 2.0, 3.5] { digest.insert(x) }
        #expect(digest.postgreSQLText() == "flags 1 count 4 compression 100 centroids 4 (1.0, 1) (2.0, 1) (2.0, 1) (3.5, 1)")
        #expect(TDigest().postgreSQLText() == nil)
        let text = Self.digest.postgreSQLText()!
        #expect(text.hasPrefix("flags 1 count 20000 compression \(TDigest.defaultCompression) centroids "))
        // The counts in the text add up to the total.
        let counts = text.split(separator: "(").dropFirst().map { Int($0.split(separator: " ").last!.dropLast(1))! }
        #expect(counts.reduce(0, +) == 20_000)
    }
}
