/// The merge pass of the merging t-digest, and the sorted sequences it walks.
///
/// A pass reads centroids in order of mean (ascending or descending), through a
/// ``TDigestMergeSource``: either one sorted array pair (re-merging centroids), or the
/// sorted buffer and the centroids merged on the fly, so that a buffer merge neither
/// writes nor reads an intermediate merged list.
extension TDigest {
    /// The core of the merging t-digest: takes `source`'s `count` centroids in its order
    /// and merges neighbours while the merged centroid spans at most `span` units of k.
    /// With `total ≤ exactLimit` nothing is merged.
    ///
    /// **Ties.** Consecutive inputs of the same mean are read as one run. A run of at least
    /// three inputs that would fill at least half a centroid at its position is never mixed
    /// with other values: it becomes a single value, the rest, and a single value, all of
    /// its mean, so a quantile whose rank falls inside the run returns the run's value
    /// (integer token counts, capped lengths, timeouts at a fixed limit), not an
    /// interpolation between runs. Such runs are at least half a centroid each, so they
    /// add at most about two centroids per centroid the scale allows. Two inputs with the
    /// same 32-bit mean are taken as tied values; for continuous data that is rare and
    /// harmless (the run's range is a point).
    ///
    /// Writes the result to `means` and `weights` (at least `count` long; outputs never
    /// outnumber the inputs read so far) in the walk's direction: ascending from slot 0
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
            let step = TDigestScaleStep(scale: scale, delta: delta, n: n, span: span)
            // No centroid outweighs `cap`: it bounds the middle ones, which k2 makes widest,
            // and keeps every weight within a centroid's 32 bits.
            let cap = Swift.min(Swift.max(1, n * TDigest.centroidCap * span / delta), TDigest.maxCentroidWeight)
            let maxWeight = TDigest.maxCentroidWeight
            @inline(__always) func emit(_ m: Double, _ w: Double) {
                means[out] = m; weights[out] = w; out += direction
            }
            // Closes the open centroid. Under a relative span bound, a centroid that holds one
            // group of ≥ 3 equal inputs (tied values no neighbour was close enough to join) is
            // closed as a run, edged by two single values, so every rank inside it answers
            // its value rather than an interpolation towards a distant neighbour.
            @inline(__always) func close() {
                guard weight > 0 else { return }
                if relative != 0 && openGroups == 1 && openInputs >= 3 && weight >= 3 {
                    emit(mean, 1); emit(mean, weight - 2); emit(mean, 1)
                } else {
                    emit(mean, weight)
                }
            }
            // The open centroid (weight 0: none), the first mean merged into it, and the
            // weight emitted before it.
            var mean = 0.0, weight = 0.0, before = 0.0, first = 0.0
            // Groups merged into the open centroid, and the inputs of its first group.
            var openGroups = 0, openInputs = 0
            // The scale's bound on a centroid's relative value span (0: none).
            let relative = scale.relativeSpan
            // The open centroid's weight limit, computed when first needed (NaN: not yet):
            // under a relative span bound most centroids of sparse data never get a neighbour,
            // and the limit costs a logarithm and an exponential in the tails.
            var limit = Double.nan
            @inline(__always) func openLimit() -> Double {
                if limit.isNaN { limit = Swift.min(n * step.next(before / n), before + cap) }
                return limit
            }
            // Inputs of one mean are taken as a group (a run of tied values), so that a
            // large run can be kept as its own centroids (see ``mergeSorted`` above).
            var (groupMean, groupWeight) = source.next()
            var groupInputs = 1
            for read in 1...count {
                var m = 0.0, w = 0.0
                if read < count {
                    (m, w) = source.next()
                    if m == groupMean {
                        groupWeight += w; groupInputs &+= 1
                        continue
                    }
                }
                let start = before + weight
                if groupInputs < 3 || groupWeight - 2 > maxWeight
                    || 2 * groupWeight < Swift.min(n * step.next(start / n), start + cap) - start {
                    if weight > 0
                        && (relative == 0 || abs(groupMean - first) <= relative * Swift.max(abs(first), abs(groupMean)))
                        && start + groupWeight <= openLimit() {
                        weight += groupWeight
                        mean += (groupMean - mean) * groupWeight / weight
                        openGroups &+= 1
                    } else {
                        close()
                        before = start
                        // Only a group of several inputs can outweigh one centroid; its chunks
                        // never outnumber its inputs.
                        var rest = groupWeight
                        while rest > maxWeight {
                            emit(groupMean, maxWeight); before += maxWeight; rest -= maxWeight
                        }
                        limit = .nan
                        mean = groupMean; weight = rest; first = groupMean
                        openGroups = 1; openInputs = groupInputs
                    }
                } else {
                    // A run: never mixed with other values, edged by two single values so that
                    // every rank inside it answers its value (``quantile(_:)`` treats a
                    // weight-1 centroid as an exact point). Three outputs for ≥ 3 inputs.
                    close()
                    emit(groupMean, 1); emit(groupMean, groupWeight - 2); emit(groupMean, 1)
                    before = start + groupWeight
                    weight = 0
                    limit = .nan
                }
                groupMean = m; groupWeight = w; groupInputs = 1
            }
            close()
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
