extension TDigest {
    /// Merges digests into one, deterministically: the result depends only on the
    /// multiset of the inputs' centroids and values, not on their order (centroids
    /// are sorted by mean, then weight, and merged in one forward pass; sums are
    /// added in sorted order). Exact for count, min, max, sum and rejected.
    ///
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when compressions or scales differ.
    public static func merged(_ digests: [TDigest]) throws(SketchError) -> TDigest {
        guard let first = digests.first else { return TDigest() }
        for digest in digests where digest.compression != first.compression || digest.scale != first.scale {
            throw .parameterMismatch(
                "t-digest compression \(first.compression)/\(digest.compression), scale \(first.scale)/\(digest.scale)")
        }
        var result = TDigest(compression: first.compression, scale: first.scale, bufferCapacity: first.bufferCapacity)
        // Centroids and buffered values as one 64-bit key each: the mean's order-preserving
        // 32-bit image (means are 32-bit floats) above the weight, so that sorting the keys
        // sorts by mean, then weight — integer sorting without a comparison closure, which
        // was half the cost of rolling 10,000 series up into the index's scopes.
        var keys: [UInt64] = []
        keys.reserveCapacity(digests.reduce(0) { $0 + $1.centroids.count + $1.buffer.count })
        var sums: [Double] = []
        sums.reserveCapacity(digests.count)
        for digest in digests {
            for c in digest.centroids { keys.append(UInt64(TDigest.orderedBits(c.mean)) << 32 | UInt64(c.weight)) }
            for value in digest.buffer { keys.append(UInt64(TDigest.orderedBits(value)) << 32 | 1) }
            result.stats.count &+= digest.count
            result.stats.rejected &+= digest.rejected
            result.stats.min = Swift.min(result.stats.min, digest.min)
            result.stats.max = Swift.max(result.stats.max, digest.max)
            sums.append(digest.sum)
        }
        keys.sort()
        result.stats.sum = sums.sorted().reduce(0, +)
        TDigest.withScratch(keys.count) { means, weights in
            for (i, key) in keys.enumerated() {
                means[i] = Double(TDigest.float(orderedBits: UInt32(truncatingIfNeeded: key >> 32)))
                weights[i] = Double(UInt32(truncatingIfNeeded: key))
            }
            result.mergePass(means: means, weights: weights, forward: true, span: TDigest.mergeSpan)
        }
        return result
    }

    /// `value`'s bits mapped so that unsigned order is numeric order (−0 before +0; no NaN here).
    @inline(__always)
    static func orderedBits(_ value: Float) -> UInt32 {
        let bits = value.bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    /// The inverse of ``orderedBits(_:)``.
    @inline(__always)
    static func float(orderedBits bits: UInt32) -> Float {
        Float(bitPattern: bits & 0x8000_0000 != 0 ? bits & 0x7FFF_FFFF : ~bits)
    }

    /// Merges `other` into this digest (see ``merged(_:)``); commutative.
    public mutating func merge(_ other: TDigest) throws(SketchError) {
        self = try TDigest.merged([self, other])
    }
}
