extension TDigest {
    /// The estimated value at quantile `q` (0 … 1), or NaN when empty or `q` is not
    /// in [0, 1]. Results stay within [``min``, ``max``]; with at most
    /// ``exactLimit`` values the answer is the exact order statistic of rank ⌊q·n⌋.
    ///
    /// Interpolates between centroid centres, treating single-value centroids as
    /// exact points and interpolating towards the exact ``min`` and ``max`` at the ends.
    public func quantile(_ q: Double) -> Double {
        guard count > 0, q >= 0, q <= 1 else { return .nan }
        if !buffer.isEmpty {
            var copy = self
            copy.compress()
            return copy.quantile(q)
        }
        let means = self.means, weights = self.weights
        let n = Double(count)
        let c = means.count
        if c == 1 || min == max { return c == 1 && weights[0] == 1 ? min : interpolateSingle(q) }
        let index = q * n
        if index <= 0 { return min }
        if index >= n { return max }

        // Left of the first centre: between min (rank 0) and the first mean.
        let firstHalf = weights[0] / 2
        if index < firstHalf {
            if weights[0] == 1 { return means[0] }
            // min is itself one of the values, at rank ½.
            if index < 1 { return min }
            return min + (means[0] - min) * (index - 1) / (firstHalf - 1)
        }
        var center = firstHalf
        for i in 0..<(c - 1) {
            let gap = (weights[i] + weights[i + 1]) / 2
            if index < center + gap {
                var left = 0.0, right = 0.0
                if weights[i] == 1 {
                    if index - center < 0.5 { return means[i] }
                    left = 0.5
                }
                if weights[i + 1] == 1 {
                    if center + gap - index <= 0.5 { return means[i + 1] }
                    right = 0.5
                }
                let z1 = index - center - left
                let z2 = center + gap - index - right
                return clamp((means[i] * z2 + means[i + 1] * z1) / (z1 + z2))
            }
            center += gap
        }
        // Right of the last centre: between the last mean and max.
        let lastHalf = weights[c - 1] / 2
        if weights[c - 1] == 1 { return means[c - 1] }
        if n - index <= 1 { return max }
        return clamp(means[c - 1] + (max - means[c - 1]) * (index - center) / (lastHalf - 1))
    }

    /// The estimated fraction of values ≤ `x` (0 … 1), or NaN when empty.
    public func cdf(_ x: Double) -> Double {
        guard count > 0, !x.isNaN else { return .nan }
        if !buffer.isEmpty {
            var copy = self
            copy.compress()
            return copy.cdf(x)
        }
        if x < min { return 0 }
        if x >= max { return 1 }
        let means = self.means, weights = self.weights
        let n = Double(count)
        let c = means.count
        if c == 1 { return (x - min) / (max - min) }
        if x < means[0] {
            // Between min and the first centre (rank w0/2).
            return weights[0] / 2 * (x - min) / (means[0] - min) / n
        }
        var center = weights[0] / 2
        for i in 0..<(c - 1) {
            let gap = (weights[i] + weights[i + 1]) / 2
            if x < means[i + 1] {
                if means[i + 1] == means[i] { return (center + gap) / n }
                let fraction = (x - means[i]) / (means[i + 1] - means[i])
                var rank = center + gap * fraction
                // A single-value centroid is a step, not a ramp.
                if weights[i] == 1 && weights[i + 1] == 1 { rank = center + 0.5 }
                return rank / n
            }
            center += gap
        }
        let lastHalf = weights[c - 1] / 2
        return (center + lastHalf * (x - means[c - 1]) / (max - means[c - 1])) / n
    }

    /// The mean of all values inserted, or NaN when empty.
    public var mean: Double { count == 0 ? .nan : sum / Double(count) }

    @inline(__always)
    func clamp(_ value: Double) -> Double { Swift.min(Swift.max(value, min), max) }

    /// One centroid (or all values equal): spread uniformly between min and max.
    private func interpolateSingle(_ q: Double) -> Double {
        min == max ? min : min + (max - min) * q
    }
}
