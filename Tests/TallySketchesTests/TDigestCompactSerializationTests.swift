import Testing
import TallySynthetic
@testable import TallySketches

/// The compact digest of snapshot version 2 (SNAPSHOT.md, "t-digest bytes, compact").
@Suite struct TDigestCompactSerializationTests {
    static func digest(_ values: [Double]) -> TDigest {
        var d = TDigest(compression: 100, scale: .k2tRelative)
        for v in values { d.insert(v) }
        return d
    }

    static func lognormal(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in (20_000 * (1 + 30 * unit(&rng) * unit(&rng))).rounded() }
    }

    static func unit(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / 9_007_199_254_740_992.0 }

    static func read(_ bytes: [UInt8], bits: Int = 21) throws -> TDigest {
        try TDigest(compactSerialized: bytes, compression: 100, scale: .k2tRelative, meanKeyBits: bits)
    }

    @Test(arguments: [0, 1, 2, 7, 50, 400, 20_000])
    func roundTripKeepsCountsExtremesAndWeights(n: Int) throws {
        let d = Self.digest(Self.lognormal(n, seed: UInt64(n)))
        let bytes = d.compactSerialized()
        let back = try Self.read(bytes)
        #expect(back.count == d.count && back.rejected == d.rejected)
        #expect(back.compactSerialized() == bytes, "re-encoding is byte exact")
        guard n > 0 else { #expect(bytes == [0, 0]); return }
        #expect(back.min == d.min && back.max == d.max && back.sum == d.sum)
        let a = d.centroidList, b = back.centroidList
        #expect(a.count == b.count && zip(a, b).allSatisfy { $0.weight == $1.weight })
        for (x, y) in zip(a, b) { #expect(abs(x.mean - y.mean) <= x.mean / 1024, "\(x.mean) vs \(y.mean)") }
        // Half of version 1 or less once there are centroids to code; full digests
        // (heavy middle centroids, weights in the hundreds) 0.7 or less.
        if n >= 50 {
            #expect(bytes.count * 10 <= d.serialized().count * (n >= 1_000 ? 7 : 5), "\(bytes.count) vs \(d.serialized().count)")
        }
    }

    @Test func numbersTakeTheIntegerFormWhenExact() throws {
        for (value, length) in [(0.0, 1), (-1.0, 1), (31.0, 1), (-32.0, 1), (32.0, 2), (9_007_199_254_740_992.0, 8),
                                (-9_007_199_254_740_992.0, 8), (0.5, 9), (-0.0, 9), (1e300, 9), (9_007_199_254_740_994.0, 9)] {
            var bytes: [UInt8] = []
            CompactNumber.append(value, to: &bytes)
            #expect(bytes.count == length, "\(value): \(bytes.count) bytes")
            let back = try bytes.withUnsafeBytes { raw throws(SketchError) -> Double in
                var r = ByteReader(raw)
                let v = try r.number("n")
                try r.expectEnd()
                return v
            }
            #expect(back == value && back.sign == value.sign, "\(value) read as \(back)")
        }
        #expect(CompactNumber.integer(prefix: 3) == nil && CompactNumber.integer(prefix: 1) == nil)
        #expect(CompactNumber.integer(prefix: (1 << 54 + 1) << 1) == nil, "beyond 2^53")
    }

    @Test func singleValuesAndNegativesRoundTrip() throws {
        for values in [[42.0], [0.125], [-3.5, 7, -1e6, 0], [5, 5, 5, 5]] {
            let d = Self.digest(values)
            let back = try Self.read(d.compactSerialized())
            #expect(back.min == d.min && back.max == d.max && back.sum == d.sum && back.count == d.count)
            #expect(back.quantile(0) == d.min && back.quantile(1) == d.max)
        }
    }

    /// A tied run keeps answering one value (its rounded key, within [min, max]) at every rank inside it.
    @Test func tiedRunsStayTied() throws {
        var values = Self.lognormal(3_000, seed: 9)
        values += Array(repeating: 30_000_000, count: 1_500)   // requests timed out at 30 s
        values += Array(repeating: 4_097, count: 2_000)        // a capped length
        let back = try Self.read(Self.digest(values).compactSerialized())
        let n = Double(values.count)
        let sorted = values.sorted()
        for q in stride(from: 0.05, to: 0.95, by: 0.01) {
            let exact = sorted[Int(q * n)]
            guard exact == 4_097 || exact == 30_000_000,
                  sorted[Int(q * n) - 30] == exact, sorted[min(values.count - 1, Int(q * n) + 30)] == exact else { continue }
            let got = back.quantile(q)
            #expect(abs(got - exact) <= exact / 1024, "q \(q): \(got) for a run of \(exact)")
            #expect(back.quantile(q + 0.002) == got, "one value across the run of \(exact)")
        }
        #expect(back.quantile(1) == 30_000_000, "max stays exact")
    }

    /// Means at the ends of the binary64 range: rounding never writes the key of ±∞.
    @Test func extremeValuesRoundToFiniteKeys() throws {
        for bits in [12, 21, 28] {
            // The sum stays finite: −max + … + max.
            let d = Self.digest([-Double.greatestFiniteMagnitude, -1, 0, 1, 1e300, Double.greatestFiniteMagnitude, 3])
            let back = try Self.read(d.compactSerialized(meanKeyBits: bits), bits: bits)
            #expect(back.count == d.count && back.min == d.min && back.max == d.max, "B = \(bits)")
            #expect(back.centroidList.allSatisfy { $0.mean.isFinite }, "B = \(bits)")
        }
    }

    /// Weights up to 2³² − 1 next to weights of 1: their differences' Elias-gamma codes take
    /// up to 67 bits, past one 56-bit write of the writer, and come back exact.
    @Test func weightsUpToTheirLimitRoundTrip() throws {
        var rng = SplitMix64(seed: 32)
        for bits in [12, 21, 28] {
            var d = TDigest(compression: 100, scale: .k2tRelative)
            var total: UInt64 = 0
            for i in 0..<40 {
                let weight = i % 2 == 0 ? 1 : UInt32.max - UInt32(truncatingIfNeeded: rng.next() % 1_000)
                d.centroids.append(TDigest.Centroid(mean: Double(1_000 + 10 * i), weight: Double(weight)))
                total += UInt64(weight)
            }
            d.stats.count = total
            (d.stats.min, d.stats.max, d.stats.sum) = (1_000, 1_390, 1e12)
            let bytes = d.compactSerialized(meanKeyBits: bits)
            let back = try Self.read(bytes, bits: bits)
            #expect(back.count == total, "B = \(bits)")
            #expect(back.centroidList.map(\.weight) == d.centroidList.map(\.weight), "B = \(bits)")
            #expect(back.compactSerialized(meanKeyBits: bits) == bytes, "B = \(bits): re-encoding is byte exact")
        }
    }

    @Test func malformedBytesAreRefusedWithoutTrapping() throws {
        let bytes = Self.digest(Self.lognormal(300, seed: 3)).compactSerialized()
        for length in 0..<bytes.count { #expect(throws: SketchError.self) { try Self.read(Array(bytes.prefix(length))) } }
        #expect(throws: SketchError.trailingBytes(1)) { try Self.read(bytes + [0]) }
        #expect(throws: SketchError.self) { try Self.read(bytes, bits: 11) }
        // A weight sum that is not the count (count 100 is one varint byte; 101 is written instead).
        let hundred = Self.digest(Self.lognormal(100, seed: 4)).compactSerialized()
        #expect(hundred[0] == 100)
        #expect(throws: SketchError.invalidField(field: "weights", detail: "sum 100 ≠ count 101")) {
            try Self.read([101] + hundred.dropFirst())
        }
        // Non-zero padding: the last byte's low bit set (the stream never ends on a full byte here).
        var padded = bytes; padded[padded.count - 1] |= 1
        if padded != bytes { #expect(throws: SketchError.self) { try Self.read(padded) } }
        // An odd number prefix other than the escape (min of a count-2 digest).
        #expect(throws: SketchError.self) { try Self.read([2, 0, 3, 2, 2, 1, 0, 0, 0, 0]) }
        // A Rice parameter over B.
        let two = Self.digest([1, 2]).compactSerialized()
        var rice = two; rice[6] = 22
        #expect(throws: SketchError.invalidField(field: "rice parameter", detail: "22 over 21")) { try Self.read(rice) }
        var rng = SplitMix64(seed: 77)
        for _ in 0..<2_000 {
            var b = bytes
            b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255)
            _ = try? Self.read(b)  // must not trap
        }
    }
}
