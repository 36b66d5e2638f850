import TallySketches

/// A classic Prometheus histogram accumulated across windows: for each upper bound,
/// how many values were ≤ it since tallyd started; plus the count and the sum.
///
/// Each window adds its series' t-digests (``add(_:scale:)``): count and sum are exact;
/// a bucket's count is the digest's rank at the bound, exact for digests that keep each
/// value (fewer than δ/2 values) and within the digest's rank error otherwise.
struct CumulativeHistogram: Sendable {
    /// Upper bounds in exposition units (seconds, tokens), ascending; `+Inf` is implied.
    let bounds: [Double]
    /// Values ≤ `bounds[i]`, cumulative (non-decreasing in i).
    private(set) var cumulative: [Double]
    private(set) var count: Double = 0
    private(set) var sum: Double = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        cumulative = [Double](repeating: 0, count: bounds.count)
    }

    /// Adds a digest whose values are in units of which `unitsPer` make one exposition
    /// unit (µs: 1e6 a second; tokens: 1). Digest values are integers (µs, tokens) or close
    /// to it, so "≤ bound" is read as the rank below bound + ½ unit: a value exactly on a
    /// bound counts in that bucket, as Prometheus's `le` says.
    mutating func add(_ digest: TDigest, unitsPer: Double) {
        guard !digest.isEmpty else { return }
        let n = Double(digest.count)
        count += n
        sum += digest.sum / unitsPer
        let ranks = Self.ranks(digest, at: bounds.map { $0 * unitsPer + 0.5 })
        var previous = 0.0
        for i in bounds.indices {
            // Whole values per window and digest: monotone by construction.
            let whole = max(previous, min(n, ranks[i].rounded()))
            cumulative[i] += whole
            previous = whole
        }
    }

    /// The digest's estimated number of values ≤ each of `points` (ascending), in one
    /// sweep over its centroids: the same piecewise-linear rank as ``TDigest/cdf(_:)``
    /// (half of each centroid's weight on either side of its mean; a single value is a
    /// step), without a pass per point.
    static func ranks(_ digest: TDigest, at points: [Double]) -> [Double] {
        let n = Double(digest.count)
        let centroids = digest.centroidList
        let (low, high) = (digest.min, digest.max)
        var out = [Double](repeating: 0, count: points.count)
        var i = 0            // the first centroid whose mean is > x, as x grows
        var center = centroids.isEmpty ? 0 : centroids[0].weight / 2   // rank at centroid i−1's mean … kept for i
        for (p, x) in points.enumerated() {
            if x < low { out[p] = 0; continue }
            if x >= high { out[p] = n; continue }
            if centroids.count == 1 { out[p] = n * (x - low) / (high - low); continue }
            // Advance to the first centroid with mean > x; `center` is the rank at centroid i−1's mean.
            while i < centroids.count && centroids[i].mean <= x {
                if i > 0 { center += (centroids[i - 1].weight + centroids[i].weight) / 2 }
                i += 1
            }
            if i == 0 {
                let (mean, weight) = centroids[0]
                out[p] = mean > low ? weight / 2 * (x - low) / (mean - low) : 0
            } else if i == centroids.count {
                let (mean, weight) = centroids[i - 1]
                out[p] = high > mean ? center + weight / 2 * (x - mean) / (high - mean) : n
            } else {
                let (m0, w0) = centroids[i - 1], (m1, w1) = centroids[i]
                let gap = (w0 + w1) / 2
                out[p] = (w0 == 1 && w1 == 1) ? center + 0.5 : center + gap * (x - m0) / (m1 - m0)
            }
        }
        return out
    }
}
