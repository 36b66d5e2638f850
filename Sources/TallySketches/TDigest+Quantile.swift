extension TDigest {
    /// The estimated value at quantile `q` (0 … 1), or NaN when empty or `q` is not
    /// in [0, 1]. Results stay within [``min``, ``max``]; with at most
    /// ``exactLimit`` values the answer is the exact order statistic of rank ⌊q·n⌋.
    ///
    /// Interpolates between centroid centres, treating single-value centroids as
    /// exact points and interpolating towards the exact ``min`` and ``max`` at the ends.
    public func quantile(_ q: Double) -> Double {
        guard count > 0, q >= 0, q <= 1 else { return .nan }
        // One value held in the statistics alone needs no centroid (min = max).
        if !buffer.isEmpty || (count > 1 && holdsSmallValues) {
            var copy = self
            copy.compress()
            return copy.quantile(q)
        }
        // Reads the centroids in place: building `means` and `weights` arrays per call made
        // every quantile allocate twice (drift statistics ask for hundreds per digest).
        return centroids.withUnsafeBufferPointer { cs in quantile(q, cs) }
    }

    /// Centroid means are `Float`s: a single value's mean may round to just outside the
    /// exact [min, max], so every mean returned is clamped.
    private func quantile(_ q: Double, _ cs: UnsafeBufferPointer<Centroid>) -> Double {
        @inline(__always) func mean(_ i: Int) -> Double { Double(cs[i].mean) }
        @inline(__always) func weight(_ i: Int) -> Double { Double(cs[i].weight) }
        let n = Double(count)
        let c = cs.count
        if c == 1 || min == max { return c == 1 && weight(0) == 1 ? min : interpolateSingle(q) }
        let index = q * n
        if index <= 0 { return min }
        if index >= n { return max }

        // Left of the first centre: between min (rank 0) and the first mean.
        let firstHalf = weight(0) / 2
        if index < firstHalf {
            if weight(0) == 1 { return clamp(mean(0)) }
            // min is itself one of the values, at rank ½.
            if index < 1 { return min }
            return clamp(min + (mean(0) - min) * (index - 1) / (firstHalf - 1))
        }
        var center = firstHalf
        for i in 0..<(c - 1) {
            let gap = (weight(i) + weight(i + 1)) / 2
            if index < center + gap {
                var left = 0.0, right = 0.0
                if weight(i) == 1 {
                    if index - center < 0.5 { return clamp(mean(i)) }
                    left = 0.5
                }
                if weight(i + 1) == 1 {
                    if center + gap - index <= 0.5 { return clamp(mean(i + 1)) }
                    right = 0.5
                }
                let z1 = index - center - left
                let z2 = center + gap - index - right
                let estimate = (mean(i) * z2 + mean(i + 1) * z1) / (z1 + z2)
                // Under a relative span bound the rank lies in centroid i or i + 1, whose
                // values are all within the bound of its mean: stay in that band rather than
                // interpolate across the gap to a distant neighbour.
                let span = scale.relativeSpan
                if span > 0 {
                    let m = index < center + weight(i) / 2 ? mean(i) : mean(i + 1)
                    let band = span * abs(m)
                    return clamp(Swift.min(Swift.max(estimate, m - band), m + band))
                }
                return clamp(estimate)
            }
            center += gap
        }
        // Right of the last centre: between the last mean and max.
        let lastHalf = weight(c - 1) / 2
        if weight(c - 1) == 1 { return clamp(mean(c - 1)) }
        if n - index <= 1 { return max }
        return clamp(mean(c - 1) + (max - mean(c - 1)) * (index - center) / (lastHalf - 1))
    }

    /// The estimated fraction of values ≤ `x` (0 … 1), or NaN when empty.
    public func cdf(_ x: Double) -> Double {
        guard count > 0, !x.isNaN else { return .nan }
        if !buffer.isEmpty || (count > 1 && holdsSmallValues) {
            var copy = self
            copy.compress()
            return copy.cdf(x)
        }
        if x < min { return 0 }
        if x >= max { return 1 }
        // Values near ±Double.greatestFiniteMagnitude make the interpolation's spans
        // overflow (found by fuzzing: cdf = inf); the fraction is kept within 0 … 1.
        let fraction = centroids.withUnsafeBufferPointer { cs in cdf(x, cs) }
        return fraction.isNaN ? 0.5 : Swift.min(1, Swift.max(0, fraction))
    }

    private func cdf(_ x: Double, _ cs: UnsafeBufferPointer<Centroid>) -> Double {
        @inline(__always) func mean(_ i: Int) -> Double { Double(cs[i].mean) }
        @inline(__always) func weight(_ i: Int) -> Double { Double(cs[i].weight) }
        let n = Double(count)
        let c = cs.count
        if c == 1 { return (x - min) / (max - min) }
        if x < mean(0) {
            // Between min and the first centre (rank w0/2).
            return weight(0) / 2 * (x - min) / (mean(0) - min) / n
        }
        var center = weight(0) / 2
        for i in 0..<(c - 1) {
            let gap = (weight(i) + weight(i + 1)) / 2
            if x < mean(i + 1) {
                if mean(i + 1) == mean(i) { return (center + gap) / n }
                let fraction = (x - mean(i)) / (mean(i + 1) - mean(i))
                var rank = center + gap * fraction
                // A single-value centroid is a step, not a ramp.
                if weight(i) == 1 && weight(i + 1) == 1 { rank = center + 0.5 }
                return rank / n
            }
            center += gap
        }
        let lastHalf = weight(c - 1) / 2
        return (center + lastHalf * (x - mean(c - 1)) / (max - mean(c - 1))) / n
    }

    /// The mean of all values inserted, or NaN when empty.
    public var mean: Double { count == 0 ? .nan : sum / Double(count) }

    @inline(__always)
    func clamp(_ value: Double) -> Double { Swift.min(Swift.max(value, min), max) }

    /// One centroid (or all values equal): spread uniformly between min and max, clamped
    /// (min + (max − min) · 1 may round past max: −5 + 5 = 0 when max is −2.3e−218).
    private func interpolateSingle(_ q: Double) -> Double {
        min == max ? min : clamp(min + (max - min) * q)
    }
}
