/// A merging t-digest (Dunning & Ertl, "Computing Extremely Accurate Quantiles
/// Using t-Digests", 2019): quantiles of a stream in a few hundred centroids, most
/// accurate at the tails, where latency SLOs live.
///
/// Values go into a buffer; when it is full, it is sorted and merged with the
/// centroids in one pass that lets a centroid grow while it spans at most one unit
/// of the scale function (``TDigestScale``). Passes alternate direction so that
/// neither tail is favoured. Exact `count`, `min`, `max` and `sum` are kept beside.
/// While the digest holds at most ``exactLimit`` values every centroid is a single
/// value, so small inputs are answered exactly (at 32-bit precision, see below).
/// NaN and ±∞ are refused and counted in ``rejected``, never stored.
///
/// Buffered values are kept as 32-bit floats (relative rounding ≤ 6·10⁻⁸, below any
/// quantile error the digest has; magnitudes beyond ±3.4·10³⁸ clamp): half the
/// buffer's memory and half the radix-sort passes. The exact statistics stay
/// `Double`.
///
/// Centroids are stored in 8 bytes each (``Centroid``): the mean at 32-bit
/// precision like the buffer, the weight as an exact 32-bit count (merges never let a
/// centroid outweigh 2³² − 1). Merges compute in `Double` in a scratch area
/// allocated per merge, never per value.
///
/// Memory: 80 bytes inline (with room for a small digest's first four values, which need
/// no buffer), one array of the centroids (at most about `compression`, 8 bytes each,
/// grown to what a merge needs plus 8) and the buffer (up to ``bufferCapacity``
/// values, 4 bytes each, grown in two steps). Per-series digests in the
/// aggregation core use a small buffer (TallyCore `SketchParameters`).
public struct TDigest: Sendable {
    @usableFromInline var centroids: [Centroid] = []
    @usableFromInline var buffer: [Float] = []
    @usableFromInline var stats = Stats()
    @usableFromInline let storedBufferCapacity: UInt32
    @usableFromInline let storedCompression: UInt16
    /// Merge passes so far, wrapping; their parity picks the direction of the next one.
    @usableFromInline var passes: UInt8 = 0
    /// The scale function; a merge of ``TDigestScale/k2t`` and ``TDigestScale/k2tRelative``
    /// digests takes the latter (``TDigestScale/mergesWith(_:)``).
    public internal(set) var scale: TDigestScale
    /// A small digest's values (``holdsSmallValues``): its first ``smallCapacity`` values,
    /// kept here, in the order they came, before it has a buffer. Declared last, after the
    /// one-byte fields, so that it costs 8 bytes of the digest's stride (72 → 80), not 16.
    @usableFromInline var smallValues = InlineArray<4, Float>(repeating: 0)

    /// δ, 10 … 10,000: more gives more, smaller centroids (more accuracy, more bytes).
    public var compression: Int { Int(storedCompression) }
    /// Values buffered between merges.
    @inlinable public var bufferCapacity: Int { Int(storedBufferCapacity) }

    /// One centroid: the mean of its values at 32-bit precision (magnitudes beyond
    /// `Float`'s range clamp, as buffered values do) and how many values it holds.
    @usableFromInline
    struct Centroid: Sendable, Equatable {
        @usableFromInline var mean: Float
        @usableFromInline var weight: UInt32

        /// `mean` rounded to 32 bits; `weight` must be 1 … 2³² − 1.
        @usableFromInline
        init(mean: Double, weight: Double) {
            self.mean = TDigest.buffered(mean)
            self.weight = UInt32(weight)
        }

        /// A mean already at 32 bits and a weight of 1 … 2³² − 1, as they are.
        @usableFromInline @inline(__always)
        init(rounded mean: Float, weight: UInt32) {
            self.mean = mean
            self.weight = weight
        }
    }

    /// The largest weight a centroid may have.
    public static let maxCentroidWeight = Double(UInt32.max)

    /// Centroid means, widened (off the per-value path: queries, serialization).
    var means: [Double] { centroids.map { Double($0.mean) } }
    /// Centroid weights, widened.
    var weights: [Double] { centroids.map { Double($0.weight) } }

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
    ///   - bufferCapacity: values buffered between merges, 16 … 2^24; `nil` picks 5·δ.
    ///     Small buffers save memory and cost more merge passes per value.
    public init(compression: Int = TDigest.defaultCompression, scale: TDigestScale = TDigest.defaultScale,
                bufferCapacity: Int? = nil) {
        let delta = Swift.min(Swift.max(compression, 10), 10_000)
        self.storedCompression = UInt16(delta)
        self.scale = scale
        self.storedBufferCapacity = UInt32(Swift.min(Swift.max(bufferCapacity ?? 5 * delta, 16), 1 << 24))
    }

    /// Up to this many values the digest keeps every value as its own centroid.
    public var exactLimit: Int { compression / 2 }

    /// Centroids after the last merge (buffered values not included).
    public var centroidCount: Int { centroids.count }

    public var isEmpty: Bool { count == 0 }

    /// Adds one value; NaN and ±∞ are counted in ``rejected`` and ignored.
    @inlinable
    public mutating func insert(_ value: Double) {
        guard value.isFinite else {
            stats.rejected &+= 1
            return
        }
        append(TDigest.buffered(value), exactly: value)
    }

    /// Adds one count or duration: the same as `insert(Double(value))` without the
    /// checks a `Double` needs (an integer is finite and within `Float`'s range).
    @inlinable
    public mutating func insert(integer value: UInt32) {
        append(Float(value), exactly: Double(value))
    }

    /// Buffers `narrow` (`value` at the buffer's precision) and counts `value` exactly.
    /// A digest's first ``smallCapacity`` values need no buffer (``holdsSmallValues``): the
    /// first is kept in ``stats`` alone, and from the second on they sit in ``smallValues``.
    /// Most series of a window see a few frames, and a buffer for them cost an allocation
    /// and a free (~330 and ~150 instructions; seven a series, one a digest).
    @inlinable @inline(__always)
    mutating func append(_ narrow: Float, exactly value: Double) {
        if buffer.count == buffer.capacity {
            if stats.count < UInt64(TDigest.smallCapacity) && buffer.isEmpty && centroids.isEmpty {
                appendSmall(narrow, exactly: value)
                return
            }
            reserveBuffer()
        }
        buffer.append(narrow)
        stats.count &+= 1
        stats.sum += value
        if value < stats.min { stats.min = value }
        if value > stats.max { stats.max = value }
        if buffer.count >= bufferCapacity { compress() }
    }

    /// ``append(_:exactly:)`` of a digest with fewer than ``smallCapacity`` values and no
    /// buffer: the first value in ``stats`` alone, the second moves it into ``smallValues``
    /// beside itself, later ones follow it there.
    @inlinable @inline(__always)
    mutating func appendSmall(_ narrow: Float, exactly value: Double) {
        let held = Int(truncatingIfNeeded: stats.count)
        if held == 0 {
            stats.count = 1
            stats.sum += value
            stats.min = value
            stats.max = value
            return
        }
        if held == 1 { smallValues[0] = TDigest.buffered(stats.min) }
        smallValues[held] = narrow
        stats.count &+= 1
        stats.sum += value
        if value < stats.min { stats.min = value }
        if value > stats.max { stats.max = value }
    }

    /// Grows the buffer in two steps, to ``initialBufferCapacity`` and then to
    /// ``bufferCapacity``, rather than by doubling: every doubling leaves the block it
    /// replaced free in the allocator, which in a table of busy series stayed resident
    /// (the two steps saved 1.4 KB a series in `tally-kernels memory-busy`).
    /// A small digest (``holdsSmallValues``) first buffers its values, in their order.
    @usableFromInline
    mutating func reserveBuffer() {
        let small = holdsSmallValues
        let capacity = bufferCapacity
        buffer.reserveCapacity(buffer.capacity < TDigest.initialBufferCapacity
            ? Swift.min(TDigest.initialBufferCapacity, capacity) : capacity)
        if small { withSmallValues { buffer.append(contentsOf: $0) } }
    }

    /// Room for `n` values in one allocation, for an empty digest about to take a known
    /// number of them (a series built when its window seals): its buffer gets `n` slots (at
    /// most ``bufferCapacity``) instead of growing to ``initialBufferCapacity`` and then to
    /// ``bufferCapacity`` (2 KB at δ = 100) as they come. Nothing for a digest that holds
    /// values, or for n ≤ ``smallCapacity`` (those need no buffer). Changes no value.
    public mutating func reserveValues(_ n: Int) {
        guard stats.count == 0, buffer.capacity == 0, centroids.isEmpty, n > TDigest.smallCapacity else { return }
        buffer.reserveCapacity(Swift.min(n, bufferCapacity))
    }

    /// Whether the digest's values are held without a buffer or centroids: one value in
    /// ``stats`` alone (its ``min``, ``max`` and ``sum``), or 2 … ``smallCapacity`` of them
    /// in ``smallValues`` — the state of a digest after its first few values
    /// (``append(_:exactly:)``). ``compress()`` buffers them and merges them, so every reader
    /// of the centroids that compresses first sees them; readers that read the buffer and
    /// centroids in place (merges, the compact form) read them through ``withSmallValues(_:)``.
    @inlinable
    var holdsSmallValues: Bool {
        stats.count != 0 && stats.count <= UInt64(TDigest.smallCapacity) && buffer.isEmpty && centroids.isEmpty
    }

    /// Calls `body` with a small digest's values (``holdsSmallValues``) at the buffer's
    /// precision, in the order they came; an empty buffer for any other digest.
    @inlinable
    func withSmallValues<R>(_ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        guard holdsSmallValues else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        var values = smallValues
        if stats.count == 1 { values[0] = TDigest.buffered(stats.min) }
        let count = Int(truncatingIfNeeded: stats.count)
        return withUnsafeBytes(of: &values) { raw in
            body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: Float.self), count: count))
        }
    }

    /// Values a digest holds before it buffers them (``holdsSmallValues``); below every
    /// digest's ``exactLimit`` (≥ 5).
    public static let smallCapacity = 4

    /// Values a digest's buffer first has room for; a digest with more grows it to
    /// ``bufferCapacity`` at once.
    public static let initialBufferCapacity = 24

    /// `value` at the buffer's 32-bit precision; magnitudes beyond `Float`'s range clamp
    /// to its largest finite value rather than become infinite.
    @inlinable @inline(__always)
    static func buffered(_ value: Double) -> Float {
        let narrow = Float(value)
        return narrow.isFinite ? narrow : (value < 0 ? -Float.greatestFiniteMagnitude : .greatestFiniteMagnitude)
    }

    /// Adds `value` `weight` times in one centroid-sized step (weight ≥ 1; weights
    /// above ``maxCentroidWeight`` go in as several centroids).
    public mutating func insert(_ value: Double, weight: UInt64) {
        guard weight > 0 else { return }
        guard value.isFinite else {
            stats.rejected &+= weight
            return
        }
        if weight == 1 { return insert(value) }
        let most = UInt64(UInt32.max)
        if weight > most {
            var left = weight
            while left > 0 {
                let part = Swift.min(left, most)
                insert(value, weight: part)
                left -= part
            }
            return
        }
        compress()
        // Centroids are sorted by mean; the new one goes after those of equal mean.
        let centroid = Centroid(mean: value, weight: Double(weight))
        let position = centroids.firstIndex { centroid.mean < $0.mean } ?? centroids.count
        centroids.insert(centroid, at: position)
        stats.count &+= weight
        stats.sum += value * Double(weight)
        if value < stats.min { stats.min = value }
        if value > stats.max { stats.max = value }
        mergePass(forward: passes & 1 == 0)
    }

    /// Merges the buffered values into the centroids. Queries and serialization do
    /// this themselves; call it to bound the work of a later query.
    ///
    /// The merge runs in a scratch area allocated for the call (one allocation per
    /// ``bufferCapacity`` values, never per value), so an idle digest holds no
    /// scratch: per-series digests stay at centroids + buffer.
    public mutating func compress() {
        if holdsSmallValues { reserveBuffer() }
        let n = buffer.count
        guard n > 0 else { return }
        let total = centroids.count + n
        // One allocation: merged means and weights (Double), then the sort's scratch (Float).
        let block = SystemHeap.allocate(Double.self, capacity: 2 * total + (n + 1) / 2)
        defer { SystemHeap.free(block) }
        let scratch = UnsafeMutableRawPointer(block)
        let outMeans = UnsafeMutableBufferPointer(start: block, count: total)
        let outWeights = UnsafeMutableBufferPointer(start: outMeans.baseAddress! + total, count: total)
        let sortScratch = UnsafeMutableBufferPointer(
            start: (scratch + 2 * total * MemoryLayout<Double>.stride).bindMemory(to: Float.self, capacity: n), count: n)
        buffer.withUnsafeMutableBufferPointer { values in RadixSort.sort(values, temporary: sortScratch) }
        passes &+= 1
        // The sorted buffer (weight 1 each) and the centroids are merged as the pass reads them.
        let n64 = Double(count), delta = Double(compression), scale = scale, exactLimit = exactLimit
        let kept = buffer.withUnsafeBufferPointer { values in
            centroids.withUnsafeBufferPointer { centroids in
                func walk<Direction: TDigestWalkDirection>(_: Direction.Type) -> Int {
                    var source = TDigestBufferAndCentroids<Direction>(values: values, centroids: centroids)
                    return TDigest.mergeSorted(&source, count: total, into: outMeans, weights: outWeights, total: n64,
                                               compression: delta, scale: scale, exactLimit: exactLimit, span: 1)
                }
                return passes & 1 == 1 ? walk(TDigestAscending.self) : walk(TDigestDescending.self)
            }
        }
        buffer.removeAll(keepingCapacity: true)
        store(means: outMeans.baseAddress!, weights: outWeights.baseAddress!, count: kept)
    }

    /// Replaces the centroids, growing the array to just what is needed (doubling
    /// would waste up to half of every busy per-series digest).
    @usableFromInline
    mutating func store(means newMeans: UnsafePointer<Double>, weights newWeights: UnsafePointer<Double>, count: Int) {
        if centroids.capacity < count { centroids.reserveCapacity(count + 8) }
        if centroids.count > count {
            centroids.removeLast(centroids.count - count)
        } else if centroids.count < count {
            centroids.append(contentsOf: repeatElement(Centroid(mean: 0, weight: 1), count: count - centroids.count))
        }
        centroids.withUnsafeMutableBufferPointer { centroids in
            for i in 0..<count { centroids[i] = Centroid(mean: newMeans[i], weight: newWeights[i]) }
        }
    }

    /// One merge pass over the sorted centroids (widened to `Double` in a scratch area).
    @usableFromInline
    mutating func mergePass(forward: Bool, span: Double = 1) {
        TDigest.withScratch(centroids.count) { means, weights in
            for (i, centroid) in centroids.enumerated() {
                means[i] = Double(centroid.mean)
                weights[i] = Double(centroid.weight)
            }
            mergePass(means: means, weights: weights, forward: forward, span: span)
        }
    }

    /// One merge pass over sorted `means` and `weights`, which then replace the centroids.
    mutating func mergePass(means: UnsafeMutableBufferPointer<Double>, weights: UnsafeMutableBufferPointer<Double>,
                            forward: Bool, span: Double) {
        passes &+= 1
        let n = Double(count) - Double(buffer.count)
        func walk<Direction: TDigestWalkDirection>(_: Direction.Type) -> Int {
            var source = TDigestSortedArrays<Direction>(means: means, weights: weights)
            return TDigest.mergeSorted(&source, count: means.count, into: means, weights: weights, total: n,
                                       compression: Double(compression), scale: scale, exactLimit: exactLimit, span: span)
        }
        let kept = forward ? walk(TDigestAscending.self) : walk(TDigestDescending.self)
        store(means: means.baseAddress!, weights: weights.baseAddress!, count: kept)
    }

    /// Two `Double` buffers of `count` elements each for the duration of `body`.
    static func withScratch<R>(_ count: Int,
                               _ body: (UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> R) -> R {
        let scratch = SystemHeap.allocate(Double.self, capacity: Swift.max(2 * count, 1))
        defer { SystemHeap.free(scratch) }
        return body(UnsafeMutableBufferPointer(start: scratch, count: count),
                    UnsafeMutableBufferPointer(start: scratch + count, count: count))
    }
}
