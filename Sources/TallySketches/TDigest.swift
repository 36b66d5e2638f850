/// A merging t-digest (Dunning & Ertl, "Computing Extremely Accurate Quantiles
/// Using t-Digests", 2019): quantiles of a stream in a few hundred centroids, most
/// accurate at the tails, where latency SLOs live.
///
/// Values go into a buffer; when it is full, it is sorted and merged with the
/// centroids in one pass that lets a centroid grow while it spans at most one unit
/// of the scale function (``TDigestScale``). Passes alternate direction so that
/// neither tail is favoured. Exact `count`, `min`, `max` and `sum` are kept beside.
/// While the digest holds at most ``exactLimit`` values every centroid is a single
/// value, so small inputs are answered exactly. NaN and ±∞ are refused and counted
/// in ``rejected``, never stored.
///
/// Memory: two `Double` arrays of the centroids (≤ about `compression` of them),
/// the buffer (up to ``bufferCapacity`` values, grown on demand) and a merge
/// scratch area; nothing is allocated per value once they have grown.
public struct TDigest: Sendable {
    /// δ, 10 … 10,000: more gives more, smaller centroids (more accuracy, more bytes).
    public let compression: Int
    public let scale: TDigestScale
    /// Values buffered between merges.
    public let bufferCapacity: Int

    @usableFromInline var means: [Double] = []
    @usableFromInline var weights: [Double] = []
    @usableFromInline var buffer: [Double] = []
    @usableFromInline var scratchMeans: [Double] = []
    @usableFromInline var scratchWeights: [Double] = []
    /// Merge passes so far; their parity picks the direction of the next one.
    @usableFromInline var passes: UInt64 = 0

    @usableFromInline var stats = Stats()

    /// Exact statistics kept beside the centroids.
    @usableFromInline
    struct Stats: Sendable {
        @usableFromInline var count: UInt64 = 0
        @usableFromInline var min: Double = .infinity
        @usableFromInline var max: Double = -.infinity
        @usableFromInline var sum: Double = 0
        @usableFromInline var rejected: UInt64 = 0
        @usableFromInline init() {}
    }

    /// Values inserted (centroid weights plus buffered values).
    public var count: UInt64 { stats.count }
    /// Smallest value inserted; +∞ while empty.
    public var min: Double { stats.min }
    /// Largest value inserted; −∞ while empty.
    public var max: Double { stats.max }
    /// Sum of the values inserted.
    public var sum: Double { stats.sum }
    /// NaN and infinite values refused.
    public var rejected: UInt64 { stats.rejected }

    /// The defaults, chosen by measurement (Benchmarks/README.md, "Sketches").
    public static let defaultCompression = 230
    public static let defaultScale = TDigestScale.k2t
    /// Units of k a centroid may span in ``merged(_:)``'s single pass. Below 1: merged
    /// digests keep smaller centroids, which pays for the accuracy that combining
    /// independently built digests loses.
    public static let mergeSpan = 0.8
    /// No centroid holds more than `centroidCap / compression` of all values.
    public static let centroidCap = 4.0

    /// - Parameters:
    ///   - compression: δ, clamped to 10 … 10,000.
    ///   - bufferCapacity: values buffered between merges; `nil` picks 5·δ.
    public init(compression: Int = TDigest.defaultCompression, scale: TDigestScale = TDigest.defaultScale,
                bufferCapacity: Int? = nil) {
        self.compression = Swift.min(Swift.max(compression, 10), 10_000)
        self.scale = scale
        self.bufferCapacity = Swift.max(bufferCapacity ?? 5 * self.compression, 16)
    }

    /// Up to this many values the digest keeps every value as its own centroid.
    public var exactLimit: Int { compression / 2 }

    /// Centroids after the last merge (buffered values not included).
    public var centroidCount: Int { means.count }

    public var isEmpty: Bool { count == 0 }

    /// Adds one value; NaN and ±∞ are counted in ``rejected`` and ignored.
    @inlinable
    public mutating func insert(_ value: Double) {
        guard value.isFinite else {
            stats.rejected &+= 1
            return
        }
        buffer.append(value)
        stats.count &+= 1
        stats.sum += value
        if value < stats.min { stats.min = value }
        if value > stats.max { stats.max = value }
        if buffer.count >= bufferCapacity { compress() }
    }

    /// Adds `value` `weight` times in one centroid-sized step (weight ≥ 1).
    public mutating func insert(_ value: Double, weight: UInt64) {
        guard weight > 0 else { return }
        guard value.isFinite else {
            stats.rejected &+= weight
            return
        }
        if weight == 1 { return insert(value) }
        compress()
        scratchMeans.removeAll(keepingCapacity: true)
        scratchWeights.removeAll(keepingCapacity: true)
        var placed = false
        for i in means.indices {
            if !placed && value < means[i] {
                scratchMeans.append(value); scratchWeights.append(Double(weight)); placed = true
            }
            scratchMeans.append(means[i]); scratchWeights.append(weights[i])
        }
        if !placed { scratchMeans.append(value); scratchWeights.append(Double(weight)) }
        stats.count &+= weight
        stats.sum += value * Double(weight)
        if value < stats.min { stats.min = value }
        if value > stats.max { stats.max = value }
        mergePass(forward: passes & 1 == 0)
    }

    /// Merges the buffered values into the centroids. Queries and serialization do
    /// this themselves; call it to bound the work of a later query.
    public mutating func compress() {
        let n = buffer.count
        guard n > 0 else { return }
        let total = means.count + n
        // The merge scratch doubles as the sort's temporary buffer.
        scratchMeans.removeAll(keepingCapacity: true)
        scratchMeans.append(contentsOf: repeatElement(0, count: total))
        scratchWeights.removeAll(keepingCapacity: true)
        scratchWeights.append(contentsOf: repeatElement(0, count: total))
        buffer.withUnsafeMutableBufferPointer { values in
            scratchMeans.withUnsafeMutableBufferPointer { temporary in
                RadixSort.sort(values, temporary: temporary)
            }
        }
        // Merge the sorted buffer (weight 1 each) with the sorted centroids.
        buffer.withUnsafeBufferPointer { values in
            means.withUnsafeBufferPointer { centroidMeans in
                weights.withUnsafeBufferPointer { centroidWeights in
                    scratchMeans.withUnsafeMutableBufferPointer { outMeans in
                        scratchWeights.withUnsafeMutableBufferPointer { outWeights in
                            var i = 0, j = 0
                            let c = centroidMeans.count
                            for k in 0..<total {
                                if j == n || (i < c && centroidMeans[i] <= values[j]) {
                                    outMeans[k] = centroidMeans[i]; outWeights[k] = centroidWeights[i]; i &+= 1
                                } else {
                                    outMeans[k] = values[j]; outWeights[k] = 1; j &+= 1
                                }
                            }
                        }
                    }
                }
            }
        }
        buffer.removeAll(keepingCapacity: true)
        mergePass(forward: passes & 1 == 0)
    }

    /// One merge pass over the sorted scratch centroids into `means`/`weights`.
    @usableFromInline
    mutating func mergePass(forward: Bool, span: Double = 1) {
        passes &+= 1
        let n = Double(count) - Double(buffer.count)
        TDigest.mergeSorted(means: scratchMeans, weights: scratchWeights, total: n, forward: forward,
                            compression: Double(compression), scale: scale, exactLimit: exactLimit, span: span,
                            intoMeans: &means, intoWeights: &weights)
    }

    /// The core of the merging t-digest: walks sorted centroids (in either
    /// direction) and merges neighbours while the merged centroid spans at most one
    /// unit of k. With `total ≤ exactLimit` nothing is merged.
    static func mergeSorted(means inMeans: [Double], weights inWeights: [Double], total n: Double, forward: Bool,
                            compression delta: Double, scale: TDigestScale, exactLimit: Int, span: Double,
                            intoMeans outMeans: inout [Double], intoWeights outWeights: inout [Double]) {
        outMeans.removeAll(keepingCapacity: true)
        outWeights.removeAll(keepingCapacity: true)
        let count = inMeans.count
        guard count > 0 else { return }
        if n <= Double(exactLimit) {
            outMeans.append(contentsOf: inMeans)
            outWeights.append(contentsOf: inWeights)
            return
        }
        inMeans.withUnsafeBufferPointer { means in
            inWeights.withUnsafeBufferPointer { weights in
                var index = forward ? 0 : count - 1
                let step = forward ? 1 : -1
                var mean = means[index], weight = weights[index]
                var before = 0.0
                var limit = n * scale.q(scale.k(0, delta: delta, n: n) + span, delta: delta, n: n)
                // No centroid outweighs `cap`: it bounds the middle ones, which k2 makes widest.
                let cap = Swift.max(1, n * TDigest.centroidCap * span / delta)
                limit = Swift.min(limit, cap)
                index += step
                while index >= 0 && index < count {
                    let w = weights[index]
                    if before + weight + w <= limit {
                        weight += w
                        mean += (means[index] - mean) * w / weight
                    } else {
                        outMeans.append(mean); outWeights.append(weight)
                        before += weight
                        limit = Swift.min(n * scale.q(scale.k(before / n, delta: delta, n: n) + span, delta: delta, n: n),
                                          before + cap)
                        mean = means[index]; weight = w
                    }
                    index += step
                }
                outMeans.append(mean); outWeights.append(weight)
            }
        }
        if !forward {
            outMeans.reverse()
            outWeights.reverse()
        }
    }
}
