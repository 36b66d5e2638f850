import Testing
import TallySynthetic
@testable import TallySketches

/// The log-linear histogram in front of the per-series digests (issue 16, "Per-frame cost"
/// and "Accuracy per series"): what it answers once sealed into a t-digest, against exact
/// order statistics, and what it holds in memory.
@Suite struct HistogramFrontEndTests {
    /// The per-series digest's parameters (TallyCore `SketchParameters`: δ = 100, the
    /// relative scale, 248-value buffer).
    static func seriesDigest() -> TDigest { TDigest(compression: 100, scale: .k2tRelative, bufferCapacity: 248) }

    /// `values` through a front end the way a busy series feeds it: the first 64 to the
    /// digest, then bucketing with `allowance` bytes. Returns the sealed digest.
    static func sealed(_ values: [Double], integers: Bool, allowance bytes: Int = 1 << 20,
                       bucketingAfter: Int = 64) -> (digest: TDigest, frontEnd: HistogramFrontEnd) {
        var frontEnd = HistogramFrontEnd(integers ? .integer : .float)
        var digest = seriesDigest()
        var allowance = HistogramAllowance(bytes: bytes, bucketing: false)
        for (i, x) in values.enumerated() {
            if i == bucketingAfter { allowance.bucketing = true }
            if integers { frontEnd.insert(integer: UInt32(x), digest: &digest, allowance: &allowance) }
            else { frontEnd.insert(x, digest: &digest, allowance: &allowance) }
        }
        let result = frontEnd.sealed(digest)
        return (result, frontEnd)
    }

    static func worstValueError(_ digest: TDigest, _ sorted: [Double]) -> (error: Double, at: Double) {
        QuantileCheck.worstValueError(sorted: sorted) { digest.quantile($0) }
    }

    /// What one value comes back as from its bucket: itself for integers below 2¹⁹, else
    /// within 2⁻¹⁹ of itself (the bucket's 12-bit position), as a tied bucket.
    static func roundTrip(_ insert: (inout LogLinearHistogram, inout HistogramAllowance) -> Bool,
                          mapping: LogLinearHistogram.Mapping) -> (Double, Bool) {
        var histogram = LogLinearHistogram(mapping: mapping)
        var allowance = HistogramAllowance(bytes: 1 << 20)
        #expect(insert(&histogram, &allowance))
        var result = (Double.nan, false)
        histogram.forEachBucket { mean, n, tied in
            #expect(n == 1)
            result = (mean, tied)
        }
        histogram.release()
        return result
    }

    @Test func integersComeBackFromTheirBucketsExactlyBelow2To19() {
        var values = Array(UInt32(0)..<5_000) + [1 << 19 - 1, 1 << 19, 30_000_000, 4_000_000_000, .max]
        var x = 5_000.0
        while x < 4e9 { values.append(UInt32(x)); x *= 1.37 }
        for v in values {
            let (mean, tied) = Self.roundTrip({ $0.insert(integer: v, allowance: &$1) }, mapping: .integer)
            #expect(tied)
            if v < 1 << 19 { #expect(mean == Double(v), "\(v)") }
            else { #expect(abs(mean - Double(v)) <= Double(v) / Double(1 << 19), "\(v): \(mean)") }
        }
        // 128 buckets an octave, in ascending order of value.
        var histogram = LogLinearHistogram(mapping: .integer)
        var allowance = HistogramAllowance(bytes: 1 << 20)
        for v in UInt32(1 << 19)..<UInt32(1 << 20) where v % 7 == 0 { _ = histogram.insert(integer: v, allowance: &allowance) }
        var means: [Double] = []
        histogram.forEachBucket { mean, _, tied in means.append(mean); #expect(!tied) }
        #expect(means.count == 128 && means == means.sorted())
        #expect(histogram.allocatedBytes == 128 * 4)
        histogram.release()
    }

    /// The integer buckets are the log-linear layout the type describes, index 128·s + (v >> s)
    /// with s = max(0, ⌊log₂ v⌋ − 7), whatever arithmetic finds it (the binary64 bits from 256
    /// on); and a bucket of different values answers the middle of its range.
    @Test func integerBucketsAreTheLogLinearLayout() {
        var values: [UInt32] = Array(0..<1_100) + [.max, .max - 1, 1 << 31, (1 << 31) - 1]
        for e in 8..<32 {
            let p = UInt32(1) << UInt32(e)
            values += [p - 1, p, p + 1, p + p / 3, p | (p - 1) / 5]
        }
        var rng = SplitMix64(seed: 19)
        // Random values of every magnitude: 32 random bits shifted right by 0 … 31.
        for _ in 0..<20_000 { values.append(UInt32(truncatingIfNeeded: rng.next()) >> UInt32(rng.next() % 32)) }
        for v in values {
            let s = UInt32(Swift.max(0, (31 - (v | 1).leadingZeroBitCount) - 7))
            let want = Int(128 * s) + Int(v >> s)
            var histogram = LogLinearHistogram(mapping: .integer)
            var allowance = HistogramAllowance(bytes: 1 << 20)
            #expect(histogram.insert(integer: v, allowance: &allowance))
            let slots = UnsafeBufferPointer(start: histogram.buckets, count: histogram.width)
            let found = slots.firstIndex { $0 != 0 }.map { histogram.low + $0 }
            #expect(found == want, "\(v)")
            histogram.release()
            // Two values at the ends of the bucket's range: its middle.
            guard s > 0 else { continue }
            let start = (v >> s) << s, end = start + ((1 << s) - 1)
            var mixed = LogLinearHistogram(mapping: .integer)
            allowance = HistogramAllowance(bytes: 1 << 20)
            #expect(mixed.insert(integer: start, allowance: &allowance) && mixed.insert(integer: end, allowance: &allowance))
            var means: [Double] = []
            mixed.forEachBucket { mean, n, tied in means.append(mean); #expect(n == 2 && !tied) }
            #expect(means == [Double(start) + Double(UInt64(1) << UInt64(s)) / 2], "\(v)")
            mixed.release()
        }
    }

    /// The scan at seal skips empty buckets eight at a time: sparse buckets anywhere in a
    /// group of eight (integers below 256 have a bucket each) all come back, with their counts.
    @Test func sparseBucketsAllComeBack() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            var histogram = LogLinearHistogram(mapping: .integer)
            var allowance = HistogramAllowance(bytes: 1 << 20)
            var model: [UInt32: UInt32] = [:]
            for _ in 0..<Int(rng.next() % 12) {
                let v = UInt32(rng.next() % 256), times = UInt32(1 + rng.next() % 3)
                for _ in 0..<times { #expect(histogram.insert(integer: v, allowance: &allowance)) }
                model[v, default: 0] += times
            }
            var seen: [(Double, UInt32)] = []
            histogram.forEachBucket { mean, n, _ in seen.append((mean, n)) }
            #expect(seen.map(\.0) == model.keys.sorted().map(Double.init))
            #expect(seen.map(\.1) == model.keys.sorted().map { model[$0]! })
            // The count is the buckets' (no count a value); the occupied buckets bound the
            // seal's scratch (`TDigest(histogram:plus:)`).
            #expect(histogram.count == UInt64(model.values.reduce(0, +)))
            #expect(Int(histogram.occupied) == model.count && histogram.isEmpty == model.isEmpty)
            histogram.release()
            #expect(histogram.isEmpty && histogram.count == 0 && histogram.occupied == 0)
        }
    }

    /// A bucket's bits against a model of what it holds: its count, and whether its values
    /// were all equal (then it answers the first one); a bucket at its count limit refuses
    /// further values and leaves its bits as they were.
    @Test func bucketsCountAndTellTiesFromMixedValues() {
        var rng = SplitMix64(seed: 16)
        for _ in 0..<300 {
            var histogram = LogLinearHistogram(mapping: .integer)
            var allowance = HistogramAllowance(bytes: 1 << 20)
            // Values in four buckets of the octave from 2¹⁹ (4,096 apart, each value its own
            // 12-bit position): each bucket fed one value or a mix.
            var model: [Int: (first: UInt32, count: UInt32, tied: Bool)] = [:]
            for _ in 0..<Int(1 + rng.next() % 40) {
                let index = Int(rng.next() % 4)
                // Mixed values: anywhere in the bucket, or one bit (the lowest or highest of
                // the 12-bit position) away from the usual 1,100.
                let position = [1_100, 1_100, 1_100, 1_100 ^ 1, 1_100 ^ 2_048, Int(rng.next() % 4_096)][Int(rng.next() % 6)]
                let v = UInt32((1 << 19) + index * 4_096 + position)
                #expect(histogram.insert(integer: v, allowance: &allowance))
                let old = model[index]
                model[index] = (old?.first ?? v, (old?.count ?? 0) + 1, (old?.tied ?? true) && (old?.first ?? v) == v)
            }
            var seen: [(mean: Double, n: UInt32, tied: Bool)] = []
            histogram.forEachBucket { mean, n, tied in seen.append((mean, n, tied)) }
            let expected = model.keys.sorted().map { model[$0]! }
            #expect(seen.map(\.n) == expected.map(\.count))
            #expect(seen.map(\.tied) == expected.map(\.tied))
            for (bucket, want) in zip(seen, expected) where want.tied {
                #expect(bucket.mean == Double(want.first), "a tied bucket answers its value")
            }
            histogram.release()
        }
        // A bucket at its count limit (the full slot's literal is that count's bits).
        #expect(LogLinearHistogram.fullSlot == UInt32(LogLinearHistogram.maxBucketCount) << LogLinearHistogram.countShift)
        var histogram = LogLinearHistogram(mapping: .integer)
        var allowance = HistogramAllowance(bytes: 1 << 20)
        var taken = 0
        while taken <= LogLinearHistogram.maxBucketCount && histogram.insert(integer: 300, allowance: &allowance) { taken += 1 }
        #expect(taken == LogLinearHistogram.maxBucketCount)
        #expect(!histogram.insert(integer: 300, allowance: &allowance) && !histogram.insert(integer: 301, allowance: &allowance))
        #expect(histogram.insert(integer: 302, allowance: &allowance))
        var buckets: [(Double, UInt32, Bool)] = []
        histogram.forEachBucket { buckets.append(($0, $1, $2)) }
        #expect(buckets.count == 2 && buckets[0] == (300, UInt32(LogLinearHistogram.maxBucketCount), true)
            && buckets[1] == (302, 1, true))
        #expect(histogram.count == UInt64(LogLinearHistogram.maxBucketCount) + 1)
        histogram.release()
    }

    @Test func fractionsComeBackFromTheirBucketsWithin2ToMinus19() {
        var x = 1e-6
        while x < 1e9 {
            let (mean, tied) = Self.roundTrip({ $0.insert(positive: Float(x), exactly: x, allowance: &$1) }, mapping: .float)
            #expect(tied)
            #expect(abs(mean - x) <= x / Double(1 << 18), "\(x): \(mean)")
            x *= 1.09
        }
        var histogram = LogLinearHistogram(mapping: .float)
        var allowance = HistogramAllowance(bytes: 1 << 20)
        for i in 0..<10_000 { _ = histogram.insert(positive: Float(1 + Double(i) / 10_000), exactly: 0, allowance: &allowance) }
        var count = 0
        histogram.forEachBucket { _, _, _ in count += 1 }
        #expect(count == 128, "128 buckets between 1 and 2")
        histogram.release()
    }

    /// Issue 16: relative value error ≤ 1 % at every q in [0.01, 0.999] for series with
    /// ≥ 1,000 values; exact count, min, max and sum.
    @Test(arguments: Distribution.accuracySuite.map(\.name), [1_000, 100_000])
    func continuousDataStaysWithinOnePercent(name: String, count: Int) throws {
        let distribution = Distribution.accuracySuite.first { $0.name == name }!.distribution
        var rng = SplitMix64(seed: 16)
        let values = (0..<count).map { _ in distribution.sample(&rng) }
        let sorted = values.sorted()
        // As fractions (cost, time per token) and as integer microseconds (latencies).
        let micros = values.map { ($0 * 1_000).rounded() }
        for (label, data, integers) in [("float", values, false), ("µs", micros, true)] {
            let (digest, frontEnd) = Self.sealed(data, integers: integers)
            let exact = integers ? micros.sorted() : sorted
            // Past the 64th, the histogram takes all but what lies beyond its 10 octaves (uniform
            // and exponential values near 0 go on to the digest).
            #expect(frontEnd.histogram.count >= UInt64(count - 64) * 98 / 100, "\(label): \(frontEnd.histogram.count)")
            #expect(digest.count == UInt64(count))
            #expect(digest.min == exact.first! && digest.max == exact.last!)
            let sum = data.reduce(0, +)
            #expect(abs(digest.sum - sum) <= 1e-9 * abs(sum))
            let (error, q) = Self.worstValueError(digest, exact)
            #expect(error <= 0.01, "\(name) \(label) n=\(count): \(error * 100) % at q=\(q)")
        }
    }

    /// Issue 16, "Ties": a quantile whose rank falls inside a run of equal values returns
    /// that value, for runs of ≥ 1 % of the values (integer token counts, capped lengths,
    /// timeouts, small counts).
    @Test(arguments: TiedData.suite.map(\.name))
    func aRankInsideARunAnswersItsValue(name: String) throws {
        let tied = TiedData.suite.first { $0.name == name }!.data
        // Timeouts are in seconds: as microseconds they are integers like every latency.
        let scale = name == "timeouts" ? 1_000_000.0 : 1
        let data = tied.values(100_000, seed: 11).map { ($0 * scale).rounded() }
        let sorted = data.sorted()
        let (digest, _) = Self.sealed(data, integers: true)
        let (checked, wrong) = TDigestTiesTests.misses(digest, sorted, minimumRun: 1_000)
        #expect(checked > 0)
        #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(checked): \(wrong.prefix(4))")
        let (error, q) = Self.worstValueError(digest, sorted)
        #expect(error <= 0.01 || name == "timeouts", "\(name): \(error * 100) % at q=\(q)")
        // Sealed digests of parts merge like any digests, ties kept.
        var parts: [TDigest] = []
        for part in 0..<10 {
            parts.append(Self.sealed(Array(data[(part * 10_000)..<((part + 1) * 10_000)]), integers: true).digest)
        }
        let merged = try TDigest.merged(parts)
        #expect(merged.count == 100_000)
        let (_, wrongMerged) = TDigestTiesTests.misses(merged, sorted, minimumRun: 2_000)
        #expect(wrongMerged.isEmpty, "\(name) merged: \(wrongMerged.prefix(4))")
    }

    /// Growth spends the allowance and never passes it; a refused value goes to the digest,
    /// so the sealed digest still counts every value exactly.
    @Test func growthStaysWithinTheAllowance() {
        var rng = SplitMix64(seed: 5)
        let values = (0..<20_000).map { _ in Distribution.lognormal(mu: 12, sigma: 1.5).sample(&rng).rounded() }
        var frontEnd = HistogramFrontEnd(.integer)
        var digest = Self.seriesDigest()
        var allowance = HistogramAllowance(bytes: 1_024)
        for x in values { frontEnd.insert(integer: UInt32(x), digest: &digest, allowance: &allowance) }
        #expect(frontEnd.histogram.allocatedBytes <= 1_024)
        #expect(allowance.bytes >= 0)
        #expect(allowance.wanted, "values outside the block asked for more room")
        #expect(digest.count > 0 && frontEnd.histogram.count > 0)
        #expect(digest.count + frontEnd.histogram.count == 20_000)
        let sealed = frontEnd.sealed(digest)
        #expect(sealed.count == 20_000)
        #expect(sealed.min == values.min()! && sealed.max == values.max()!)
        let (error, q) = Self.worstValueError(sealed, values.sorted())
        #expect(error <= 0.01, "\(error * 100) % at q=\(q)")
        frontEnd.release()
        #expect(frontEnd.histogram.allocatedBytes == 0 && frontEnd.histogram.count == 0)
    }

    /// The block is never wider than `maxBuckets`: values past it go to the digest.
    @Test func theBlockStaysWithinItsWidthBound() {
        var frontEnd = HistogramFrontEnd(.integer)
        var digest = Self.seriesDigest()
        var allowance = HistogramAllowance(bytes: 1 << 30)
        var x: UInt32 = 1
        var inserted = 0
        while x < UInt32.max / 3 {
            frontEnd.insert(integer: x, digest: &digest, allowance: &allowance)
            inserted += 1
            x = x * 3 / 2 + 1
        }
        #expect(frontEnd.histogram.width <= LogLinearHistogram.maxBuckets)
        #expect(!allowance.wanted, "the width bound is not a want of bytes")
        #expect(digest.count > 0)
        #expect(frontEnd.sealed(digest).count == UInt64(inserted))
        frontEnd.release()
    }

    /// Negative, NaN, infinite and zero fractions: zeros are bucketed, the rest go to the
    /// digest (which counts NaN and ±∞ as rejected), nothing is lost.
    @Test func unusualFractionsAreKeptOrCounted() {
        var frontEnd = HistogramFrontEnd(.float)
        var digest = Self.seriesDigest()
        var allowance = HistogramAllowance(bytes: 1 << 16)
        for x in [0.0, 0, 0, -2.5, .nan, .infinity, 1e-3, 2e-3, 1e40] {
            frontEnd.insert(x, digest: &digest, allowance: &allowance)
        }
        let sealed = frontEnd.sealed(digest)
        #expect(sealed.count == 7, "three zeros, −2.5, 1e-3, 2e-3, 1e40")
        #expect(sealed.rejected == 2)
        #expect(sealed.min == -2.5 && sealed.max == 1e40)
        #expect(sealed.quantile(0.3) == 0, "the zeros answer 0")
        frontEnd.release()
    }
}

/// The k2t-relative scale (snapshot scale byte 5) beside k2t.
@Suite struct RelativeScaleTests {
    @Test func k2tAndK2tRelativeMergeIntoK2tRelativeAndNothingElseMixes() throws {
        var old = TDigest(compression: 100, scale: .k2t)
        var new = TDigest(compression: 100, scale: .k2tRelative)
        for i in 0..<5_000 { old.insert(Double(i)); new.insert(Double(i) + 0.5) }
        let merged = try TDigest.merged([old, new])
        #expect(merged.scale == .k2tRelative && merged.count == 10_000)
        #expect(try TDigest.merged([new, old]).scale == .k2tRelative, "order does not matter")
        #expect(try TDigest.merged([old, old]).scale == .k2t)
        #expect(throws: SketchError.self) { try TDigest.merged([TDigest(compression: 100, scale: .k1), new]) }
        #expect(merged.min == 0 && merged.max == 4_999.5)
        // k2t-relative parts merge into a digest within 1 % everywhere (a k2t part's wide
        // centroids keep their width: a mixed merge is only as accurate as its k2t inputs).
        var other = TDigest(compression: 100, scale: .k2tRelative)
        for i in 0..<5_000 { other.insert(Double(i) + 0.25) }
        let both = try TDigest.merged([new, other])
        for q in stride(from: 0.01, through: 0.99, by: 0.01) {
            let exact = 5_000 * q
            #expect(abs(both.quantile(q) - exact) / exact <= 0.01, "q=\(q): \(both.quantile(q))")
        }
        let restored = try TDigest(serialized: merged.serialized())
        #expect(restored.scale == .k2tRelative)
        #expect(restored.serialized()[1] == 5, "the scale byte")
    }

    /// The same values: k2t-relative keeps more, narrower centroids in the dense middle.
    @Test func relativeCentroidsAreNarrowerThanK2t() {
        var k2t = TDigest(compression: 100, scale: .k2t)
        var relative = TDigest(compression: 100, scale: .k2tRelative)
        var rng = SplitMix64(seed: 8)
        for _ in 0..<100_000 {
            let x = Distribution.uniform(low: 100, high: 200).sample(&rng)
            k2t.insert(x); relative.insert(x)
        }
        k2t.compress(); relative.compress()
        #expect(relative.centroidCount > k2t.centroidCount)
        // No answer strays 1 % from the truth.
        for q in stride(from: 0.01, through: 0.99, by: 0.01) {
            let exact = 100 + 100 * q
            #expect(abs(relative.quantile(q) - exact) / exact <= 0.01, "q=\(q)")
        }
    }
}
