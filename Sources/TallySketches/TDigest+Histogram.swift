extension TDigest {
    /// The digest of `histogram`'s values and `rest`'s, with `rest`'s compression, scale and
    /// buffer capacity: what a ``HistogramFrontEnd`` becomes when its window seals.
    ///
    /// Each bucket is one input of its count at its mean. A bucket whose values were all
    /// equal, with at least three of them, goes in as a run (three inputs of that value), so
    /// the merge pass keeps it unmixed and a quantile whose rank falls inside it answers
    /// that value (``mergeSorted``'s ties). `rest` is compressed first (its buffered values
    /// sorted and merged; ``HistogramFrontEnd/prepare(_:)`` has usually done so), then its centroids and the buckets, both ascending, are read as one
    /// sorted sequence by a two-way merge (no sort), and one merge pass, forward, builds the
    /// result: deterministic. Exact count, sum, min and max are the two parts' together;
    /// `rest`'s rejected values stay counted.
    public init(histogram: LogLinearHistogram, plus rest: TDigest) {
        var rest = rest
        rest.compress()  // nothing to do unless the histogram refused values since bucketing began
        self.init(compression: rest.compression, scale: rest.scale, bufferCapacity: rest.bufferCapacity)
        stats = rest.stats  // its count; the histogram's is added from its buckets below
        stats.sum = histogram.sum + rest.stats.sum
        stats.min = Swift.min(stats.min, histogram.min)
        stats.max = Swift.max(stats.max, histogram.max)
        // Upper bound of the inputs: three a bucket (a tied run), one a centroid. The buckets
        // holding values are at most the block's width and at most the values in it; the
        // zeros come in parts of ≤ Int32.max (``LogLinearHistogram/forEachBucket(_:)``). A busy
        // series' 100 values so need ~6 KB of scratch, not the ~60 KB of a full-width block,
        // which the allocator's large-size path served at ~3,800 instructions a digest.
        let zeroParts = Int((histogram.zeros + UInt64(Int32.max) - 1) / UInt64(Int32.max))
        let buckets = Swift.min(histogram.width, Int(histogram.occupied)) + zeroParts
        let capacity = 3 * buckets + rest.centroids.count
        var held: UInt64 = 0
        TDigest.withScratch(capacity) { means, weights in
            var total = 0
            rest.centroids.withUnsafeBufferPointer { sorted in
                var next = 0
                @inline(__always) func put(_ mean: Double, _ weight: Double) {
                    means[total] = mean; weights[total] = weight; total += 1
                }
                /// The centroids below `mean` (a bucket's, at the digest's 32-bit precision) go first.
                @inline(__always) func centroids(before mean: Float) {
                    while next < sorted.count && sorted[next].mean < mean {
                        put(Double(sorted[next].mean), Double(sorted[next].weight)); next += 1
                    }
                }
                histogram.forEachBucket { wide, n, tied in
                    held &+= UInt64(n)
                    let mean = TDigest.buffered(wide)
                    centroids(before: mean)
                    let m = Double(mean)
                    if tied && n >= 3 {
                        put(m, 1); put(m, Double(n - 2)); put(m, 1)
                    } else {
                        put(m, Double(n))
                    }
                }
                while next < sorted.count {
                    put(Double(sorted[next].mean), Double(sorted[next].weight)); next += 1
                }
            }
            stats.count &+= held
            guard total > 0 else { return }
            mergePass(means: UnsafeMutableBufferPointer(rebasing: means[0..<total]),
                      weights: UnsafeMutableBufferPointer(rebasing: weights[0..<total]), forward: true, span: 1)
        }
    }
}
