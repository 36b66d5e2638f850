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
        var centroids: [(mean: Double, weight: Double)] = []
        centroids.reserveCapacity(digests.reduce(0) { $0 + $1.centroids.count + $1.buffer.count })
        var sums: [Double] = []
        for digest in digests {
            for c in digest.centroids { centroids.append((Double(c.mean), Double(c.weight))) }
            for value in digest.buffer { centroids.append((Double(value), 1)) }
            result.stats.count &+= digest.count
            result.stats.rejected &+= digest.rejected
            result.stats.min = Swift.min(result.stats.min, digest.min)
            result.stats.max = Swift.max(result.stats.max, digest.max)
            sums.append(digest.sum)
        }
        centroids.sort { $0.mean < $1.mean || ($0.mean == $1.mean && $0.weight < $1.weight) }
        result.stats.sum = sums.sorted().reduce(0, +)
        TDigest.withScratch(centroids.count) { means, weights in
            for (i, centroid) in centroids.enumerated() {
                means[i] = centroid.mean
                weights[i] = centroid.weight
            }
            result.mergePass(means: means, weights: weights, forward: true, span: TDigest.mergeSpan)
        }
        return result
    }

    /// Merges `other` into this digest (see ``merged(_:)``); commutative.
    public mutating func merge(_ other: TDigest) throws(SketchError) {
        self = try TDigest.merged([self, other])
    }
}
