import TallySketches

/// Distances between two t-digests of one metric (a baseline window and a current
/// one), computed from the digests alone: the index judges drift of latencies, token
/// counts and costs without the raw values.
///
/// Every distance inherits the digests' rank error (``DriftNoiseFloor/digestRankError``
/// per side), and sampling noise from finite windows; ``DriftNoiseFloor`` gives the
/// smallest value of each that means anything. Empty digests give `nil`.
public enum DigestDrift {
    /// The population standard deviation estimated from the centroids:
    /// √(Σ wᵢ(mᵢ − μ)²/n) with μ = Σ wᵢmᵢ/n, in the digest's units.
    ///
    /// The spread of values inside each centroid is left out, so this slightly
    /// underestimates the true standard deviation (exact while the digest holds at
    /// most ``TDigest/exactLimit`` values, each its own centroid). 0 when all values
    /// are equal; `nil` when the digest is empty.
    public static func standardDeviation(_ digest: TDigest) -> Double? {
        let centroids = digest.centroidList
        let n = centroids.reduce(0.0) { $0 + $1.weight }
        guard n > 0 else { return nil }
        let mean = centroids.reduce(0.0) { $0 + $1.weight * $1.mean } / n
        let squares = centroids.reduce(0.0) { $0 + $1.weight * ($1.mean - mean) * ($1.mean - mean) }
        return (squares / n).squareRoot()
    }

    /// `digest` with its buffer merged, so that repeated `cdf` and `quantile` calls do
    /// not each merge a copy.
    static func compressed(_ digest: TDigest) -> TDigest {
        var copy = digest
        copy.compress()
        return copy
    }
}
