import TallySketches

extension DigestDrift {
    /// The first Wasserstein (earth mover's) distance ∫₀¹ |Q_b(q) − Q_c(q)| dq between the
    /// digests' quantile functions, divided by the baseline's standard deviation
    /// (``standardDeviation(_:)``): how far the distribution moved, in baseline standard
    /// deviations (a shift of the mean by k·σ with the same shape gives k). ≥ 0.
    ///
    /// The integral is the midpoint rule over `steps` levels (i + ½)/steps.
    /// `nil` when either digest is empty, `steps` < 1, or the baseline's standard
    /// deviation is 0 (all its values equal).
    public static func wassersteinNormalized(_ baseline: TDigest, _ current: TDigest, steps: Int = 512) -> Double? {
        guard steps >= 1, !current.isEmpty, let sd = standardDeviation(baseline), sd > 0 else { return nil }
        let b = compressed(baseline), c = compressed(current)
        let total = (0..<steps).reduce(0.0) { sum, i in
            let q = (Double(i) + 0.5) / Double(steps)
            return sum + abs(b.quantile(q) - c.quantile(q))
        }
        return total / Double(steps) / sd
    }
}
