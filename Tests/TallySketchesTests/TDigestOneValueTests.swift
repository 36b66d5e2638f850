import Testing
import TallySynthetic
@testable import TallySketches

/// A digest's first value is kept in its exact statistics alone, with no buffer, and its
/// next few beside it in the digest (``TDigest/holdsSmallValues``). Each test holds such a
/// digest to one that holds the same values as a centroid (read back from its serialized
/// form) or in its buffer, operation by operation.
@Suite struct TDigestOneValueTests {
    static let values: [Double] = [0, -0.0, 7, -3.25, 0.1, 1e-300, 3.4e38, 1e39, -1e300, 123_456_789.123]

    static func one(_ value: Double) -> TDigest {
        var digest = TDigest(compression: 100, bufferCapacity: 32)
        digest.insert(value)
        return digest
    }

    static func asCentroid(_ value: Double) throws -> TDigest {
        let digest = try TDigest(serialized: one(value).serialized())
        #expect(!digest.holdsSmallValues && digest.centroidCount == 1)
        return digest
    }

    /// The same value in the buffer, as every first value was kept before: a buffer
    /// reserved first takes it like any later value.
    static func buffered(_ value: Double) -> TDigest {
        var digest = TDigest(compression: 100, bufferCapacity: 32)
        digest.reserveBuffer()
        digest.insert(value)
        #expect(!digest.holdsSmallValues && digest.buffer.count == 1)
        return digest
    }

    @Test(arguments: values) func holdsNoBufferAndAnswersAsACentroid(value: Double) throws {
        let one = Self.one(value)
        #expect(one.holdsSmallValues && one.buffer.capacity == 0 && one.centroids.isEmpty)
        #expect(one.count == 1 && one.min == value && one.max == value && one.sum == value)
        let reference = try Self.asCentroid(value)
        #expect(one.serialized() == Self.buffered(value).serialized())
        for q in [0.0, 0.01, 0.5, 0.99, 1.0, -1, 2] {
            #expect(one.quantile(q).bitPattern == reference.quantile(q).bitPattern, "q \(q)")
        }
        for x in [value - 1, value, value + 1, .nan] {
            #expect(one.cdf(x).bitPattern == reference.cdf(x).bitPattern, "x \(x)")
        }
        #expect(one.centroidList.map(\.mean) == reference.centroidList.map(\.mean))
        #expect(one.centroidList.map(\.weight) == [1])
        #expect(one.serialized() == reference.serialized())
        #expect(one.compactSerialized() == reference.compactSerialized())
        #expect(one.postgreSQLText() == reference.postgreSQLText())
        var compressed = one
        compressed.compress()
        #expect(!compressed.holdsSmallValues && compressed.centroidCount == 1)
        #expect(compressed.serialized() == reference.serialized())
    }

    /// Values after the first, weighted inserts and merges give the bytes they gave when
    /// the first value was buffered.
    @Test(arguments: [1, 2, 31, 32, 300]) func laterValuesAndMergesAgree(more: Int) throws {
        var rng = SplitMix64(seed: UInt64(more))
        for value in Self.values {
            var one = Self.one(value), reference = Self.buffered(value)
            var other = TDigest(compression: 100, bufferCapacity: 32)
            for _ in 0..<more {
                let x = Double(rng.next() % 10_000) / 7
                one.insert(x); reference.insert(x); other.insert(x)
            }
            #expect(one.serialized() == reference.serialized(), "\(value) + \(more)")
            #expect(one.holdsSmallValues == (1 + more <= TDigest.smallCapacity))
            #expect(try TDigest.merged([Self.one(value), other]).serialized()
                    == TDigest.merged([Self.buffered(value), other]).serialized())
            var merge = TDigest.Merge(like: other)
            try merge.add(Self.one(value)); try merge.add(Self.one(value + 1)); try merge.add(other)
            let merged = merge.result()
            #expect(merged.count == other.count + 2 && merged.min == Swift.min(value, other.min))
            #expect(merged.centroidList.reduce(0) { $0 + $1.weight } == Double(merged.count))
        }
        var weighted = Self.one(5), reference = Self.buffered(5)
        weighted.insert(9, weight: 3); reference.insert(9, weight: 3)
        #expect(weighted.serialized() == reference.serialized() && weighted.count == 4 && weighted.quantile(0.1) == 5)
    }

    /// Refused values before the first kept one do not hide it.
    @Test func refusedValuesFirst() throws {
        var digest = TDigest()
        digest.insert(.nan); digest.insert(.infinity); digest.insert(12)
        #expect(digest.holdsSmallValues && digest.rejected == 2 && digest.quantile(0.5) == 12)
        let back = try TDigest(serialized: digest.serialized())
        #expect(back.count == 1 && back.rejected == 2 && back.quantile(0.5) == 12)
    }

    /// A digest of at most ``TDigest/exactLimit`` buffered values writes its compact form from
    /// its buffer sorted on the stack; the bytes are those of the same digest compressed first.
    @Test func smallBufferedDigestsWriteTheBytesOfTheirCompressedForm() {
        var rng = SplitMix64(seed: 21)
        for n in [2, 3, 4, 7, 19, 20, 31, 32, 49, 50, 51] {
            // The last pool gives runs of equal keys and one huge gap: Rice quotients past 32.
            for pool in [[0.0, -0.0, 1, 1, 2.5], [3, 3, 3], [], [1e-40, -1e38, 7, 1e39], [0, 0, 0, 0, 0, 0, 0, 1e30]] {
                var digest = TDigest(compression: 100, bufferCapacity: 64)
                for _ in 0..<n {
                    digest.insert(pool.isEmpty ? Double(rng.next() % 100_000) / 3 - 10_000 : pool[Int(rng.next() % UInt64(pool.count))])
                }
                var compressed = digest
                compressed.compress()
                #expect(digest.centroids.isEmpty && !compressed.centroids.isEmpty)
                for bits in [12, 21, 28] {
                    #expect(digest.compactSerialized(meanKeyBits: bits) == compressed.compactSerialized(meanKeyBits: bits),
                            "\(n) values of \(pool), \(bits) bits")
                }
            }
        }
    }

    /// Two to ``TDigest/smallCapacity`` values held without a buffer, and the value after
    /// them, answer and serialize as the same values buffered did, whatever their order and
    /// signs of zero; merges and weighted inserts see them all.
    @Test func smallDigestsAnswerAsBufferedOnes() throws {
        #expect(MemoryLayout<TDigest>.stride == 80, "the size TDigest's doc comment states")
        var rng = SplitMix64(seed: 4)
        let pool: [Double] = [0, -0.0, 7, 7, -3.25, 1e-300, 3.4e38, 1e39, -1e300, 123_456_789.123, 1]
        for n in 2...(TDigest.smallCapacity + 1) {
            for trial in 0..<60 {
                let values = (0..<n).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
                var small = TDigest(compression: 100, bufferCapacity: 32)
                var reference = TDigest(compression: 100, bufferCapacity: 32)
                reference.reserveBuffer()
                for value in values { small.insert(value); reference.insert(value) }
                let context = "\(values) (trial \(trial))"
                #expect(small.holdsSmallValues == (n <= TDigest.smallCapacity) && small.buffer.isEmpty == (n <= TDigest.smallCapacity), "\(context)")
                #expect(small.withSmallValues { Array($0) } == (n <= TDigest.smallCapacity ? values.map { TDigest.buffered($0) } : []), "\(context)")
                #expect(small.count == UInt64(n) && small.min == reference.min && small.max == reference.max && small.sum == reference.sum)
                for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0, -1, 2] {
                    #expect(small.quantile(q).bitPattern == reference.quantile(q).bitPattern, "q \(q) \(context)")
                }
                for x in values + [.nan, -1e301, 1e301] {
                    #expect(small.cdf(x).bitPattern == reference.cdf(x).bitPattern, "x \(x) \(context)")
                }
                #expect(small.centroidList.map(\.mean) == reference.centroidList.map(\.mean), "\(context)")
                #expect(small.serialized() == reference.serialized(), "\(context)")
                for bits in [12, 21, 28] {
                    #expect(small.compactSerialized(meanKeyBits: bits) == reference.compactSerialized(meanKeyBits: bits), "\(context)")
                }
                #expect(small.postgreSQLText() == reference.postgreSQLText(), "\(context)")
                #expect(small.summarized().serialized() == reference.summarized().serialized(), "\(context)")
                let other = Self.one(5)
                #expect(try TDigest.merged([small, other]).serialized() == TDigest.merged([reference, other]).serialized())
                var merge = TDigest.Merge(like: other)
                try merge.add(small); try merge.add(other)
                #expect(merge.result().count == UInt64(n + 1))
                var weighted = small, weightedReference = reference
                weighted.insert(9, weight: 3); weightedReference.insert(9, weight: 3)
                #expect(weighted.serialized() == weightedReference.serialized() && !weighted.holdsSmallValues)
                var compressed = small
                compressed.compress()
                #expect(!compressed.holdsSmallValues && compressed.centroidList.reduce(0) { $0 + $1.weight } == Double(n))
                #expect(compressed.serialized() == reference.serialized())
            }
        }
    }
}
