extension TDigest {
    /// The centroids in ascending order of mean, as `(mean, weight)` pairs widened to
    /// `Double` (means at the digest's 32-bit precision; weights are exact counts).
    ///
    /// Read-only, for statistics computed from the digest alone (drift distances,
    /// variance estimates). Buffered values are merged into a copy first, so the
    /// weights always sum to ``count``; the digest itself is not changed. Empty when
    /// the digest is empty.
    public var centroidList: [(mean: Double, weight: Double)] {
        if !buffer.isEmpty || holdsSmallValues {
            var copy = self
            copy.compress()
            return copy.centroidList
        }
        return centroids.map { (Double($0.mean), Double($0.weight)) }
    }
}
