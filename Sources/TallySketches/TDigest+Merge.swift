extension TDigest {
    /// The merge of `digests`, deterministic: the result depends only on the
    /// multiset of the inputs' centroids and values, not on their order (centroids
    /// are sorted by mean, then weight, and merged in one forward pass; sums are
    /// added in sorted order). Exact for count, min, max, sum and rejected.
    ///
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when compressions or scales differ.
    public static func merged(_ digests: [TDigest]) throws(SketchError) -> TDigest {
        guard let first = digests.first else { return TDigest() }
        let inputs = digests.reduce(0) { total, digest in
            total + digest.centroids.count + digest.buffer.count + (digest.holdsSmallValues ? Int(digest.count) : 0)
        }
        var merge = Merge(like: first, expecting: inputs)
        for digest in digests { try merge.add(digest) }
        return merge.result()
    }

    /// `value`'s bits mapped so that unsigned order is numeric order (−0 before +0; no NaN here).
    @inlinable @inline(__always)
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
