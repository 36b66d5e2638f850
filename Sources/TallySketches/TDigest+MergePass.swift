/// The merge pass of the merging t-digest, and the sorted sequences it walks.
///
/// A pass reads centroids in order of mean (ascending or descending), through a
/// ``TDigestMergeSource``: either one sorted array pair (re-merging centroids), or the
/// sorted buffer and the centroids merged on the fly, so that a buffer merge neither
/// writes nor reads an intermediate merged list.
extension TDigest {
    /// The core of the merging t-digest: takes `source`'s `count` centroids in its order
    /// and merges neighbours while the merged centroid spans at most `span` units of k.
    /// With `total ≤ exactLimit` nothing is merged. Writes the result to `means` and
    /// `weights` (at least `count` long) in the walk's direction: ascending from slot 0
    /// or descending from slot `count − 1`, so a source that reads the same arrays is
    /// never overtaken (a forward pass writes at or before the slot it read; a backward
    /// pass at or after). The merged centroids end up, ascending, in the first `returned` slots.
    @inline(__always)
    static func mergeSorted<Source: TDigestMergeSource>(
        _ source: inout Source, count: Int, into means: UnsafeMutableBufferPointer<Double>,
        weights: UnsafeMutableBufferPointer<Double>, total n: Double, compression delta: Double,
        scale: TDigestScale, exactLimit: Int, span: Double
    ) -> Int {
        guard count > 0 else { return 0 }
        let forward = Source.isAscending
        let direction = forward ? 1 : -1
        var out = forward ? 0 : count - 1
        if n <= Double(exactLimit) {
            for _ in 0..<count {
                let (mean, weight) = source.next()
                means[out] = mean; weights[out] = weight; out += direction
            }
        } else {
            var (mean, weight) = source.next()
            var before = 0.0
            let step = TDigestScaleStep(scale: scale, delta: delta, n: n, span: span)
            // No centroid outweighs `cap`: it bounds the middle ones, which k2 makes widest,
            // and keeps every weight within a centroid's 32 bits.
            let cap = Swift.min(Swift.max(1, n * TDigest.centroidCap * span / delta), TDigest.maxCentroidWeight)
            var limit = Swift.min(n * step.next(0), cap)
            for _ in 1..<count {
                let (m, w) = source.next()
                if before + weight + w <= limit {
                    weight += w
                    mean += (m - mean) * w / weight
                } else {
                    means[out] = mean; weights[out] = weight; out += direction
                    before += weight
                    limit = Swift.min(n * step.next(before / n), before + cap)
                    mean = m; weight = w
                }
            }
            means[out] = mean; weights[out] = weight; out += direction
        }
        if forward { return out }
        let first = out + 1, kept = count - first
        if first > 0 {
            for i in 0..<kept {  // ascending copy: safe for this overlap (destination below source)
                means[i] = means[i + first]
                weights[i] = weights[i + first]
            }
        }
        return kept
    }
}

/// Centroids (mean, weight) in ascending or descending order of mean, one per
/// ``next()``; callers take exactly as many as there are.
protocol TDigestMergeSource {
    /// Ascending (a forward pass) or descending (a backward pass).
    static var isAscending: Bool { get }
    mutating func next() -> (mean: Double, weight: Double)
}

/// Sorted centroids in two parallel arrays, walked in either direction.
struct TDigestSortedArrays<Direction: TDigestWalkDirection>: TDigestMergeSource {
    let means: UnsafeMutableBufferPointer<Double>
    let weights: UnsafeMutableBufferPointer<Double>
    var index: Int

    init(means: UnsafeMutableBufferPointer<Double>, weights: UnsafeMutableBufferPointer<Double>) {
        self.means = means
        self.weights = weights
        index = Direction.isAscending ? 0 : means.count - 1
    }

    static var isAscending: Bool { Direction.isAscending }

    @inline(__always)
    mutating func next() -> (mean: Double, weight: Double) {
        defer { index &+= Direction.isAscending ? 1 : -1 }
        return (means[index], weights[index])
    }
}

/// The sorted buffer (weight 1 each) and the sorted centroids, merged as they are
/// read. Ascending, a centroid comes before a buffered value of equal mean;
/// descending, after it: both walks read the same merged sequence.
struct TDigestBufferAndCentroids<Direction: TDigestWalkDirection>: TDigestMergeSource {
    let values: UnsafeBufferPointer<Float>
    let centroids: UnsafeBufferPointer<TDigest.Centroid>
    /// Next value and centroid to read (one below the first, walking down).
    var value: Int
    var centroid: Int

    init(values: UnsafeBufferPointer<Float>, centroids: UnsafeBufferPointer<TDigest.Centroid>) {
        self.values = values
        self.centroids = centroids
        value = Direction.isAscending ? 0 : values.count - 1
        centroid = Direction.isAscending ? 0 : centroids.count - 1
    }

    static var isAscending: Bool { Direction.isAscending }

    @inline(__always)
    mutating func next() -> (mean: Double, weight: Double) {
        let takeCentroid: Bool
        if Direction.isAscending {
            takeCentroid = value == values.count
                || (centroid < centroids.count && centroids[centroid].mean <= values[value])
        } else {
            takeCentroid = value < 0 || (centroid >= 0 && centroids[centroid].mean > values[value])
        }
        if takeCentroid {
            let c = centroids[centroid]
            centroid &+= Direction.isAscending ? 1 : -1
            return (Double(c.mean), Double(c.weight))
        }
        let v = values[value]
        value &+= Direction.isAscending ? 1 : -1
        return (Double(v), 1)
    }
}

/// The direction of a merge pass, as a type so that each walk compiles to its own loop.
protocol TDigestWalkDirection { static var isAscending: Bool { get } }
enum TDigestAscending: TDigestWalkDirection { static var isAscending: Bool { true } }
enum TDigestDescending: TDigestWalkDirection { static var isAscending: Bool { false } }
