/// Values added to an empty digest all at once: a series built when its window seals hands
/// each digest its 5 … 31 values together (`SeriesAggregate.addAll`), where one
/// ``insert(integer:)`` a value cost ~115 instructions — the checks of the small-value
/// path, the buffer's capacity and uniqueness, the statistics — for a few of real work.
extension TDigest {
    /// Adds `values` in order: the same digest, bit for bit, as ``insert(integer:)`` of each
    /// in turn. An empty digest taking more than ``smallCapacity`` and fewer than
    /// ``bufferCapacity`` values (no merge on the way) gets them in one pass and one copy
    /// into its buffer (sized to them unless it has room); any other is added to value by value.
    public mutating func insert(integers values: UnsafeBufferPointer<UInt32>) {
        guard takesAtOnce(values.count) else {
            for value in values { insert(integer: value) }
            return
        }
        // An integer is exact in a Double, and its Float is finite: `buffered` of it is `Float(value)`.
        insertAtOnce(values) { Double($0) }
    }

    /// Adds `values` in order: the same digest, bit for bit, as ``insert(_:)`` of each in
    /// turn (the same rule as ``insert(integers:)`` for when it is one pass; values that are
    /// not all finite are added one by one, each NaN or ±∞ counted in ``rejected``).
    public mutating func insert(contentsOf values: UnsafeBufferPointer<Double>) {
        guard takesAtOnce(values.count), values.allSatisfy(\.isFinite) else {
            for value in values { insert(value) }
            return
        }
        insertAtOnce(values) { $0 }
    }

    /// The one pass: the statistics in one loop, each value at the buffer's precision into
    /// stack memory, then into the buffer in one copy.
    @inline(__always)
    private mutating func insertAtOnce<T>(_ values: UnsafeBufferPointer<T>, _ exact: (T) -> Double) {
        let n = values.count
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { narrow in
            // Strict comparisons, the first value first, as one insert after another: of
            // equal extremes (+0 and −0) the first is kept.
            var sum = 0.0, low = Double.infinity, high = -Double.infinity
            for i in 0..<n {
                let value = exact(values[i])
                sum += value
                if value < low { low = value }
                if value > high { high = value }
                narrow[i] = TDigest.buffered(value)
            }
            takeBuffered(UnsafeBufferPointer(narrow), sum: sum, min: low, max: high)
        }
    }

    /// Whether `n` values go in at once: an empty digest, more of them than it keeps inline
    /// and fewer than its buffer takes before a merge.
    private func takesAtOnce(_ n: Int) -> Bool {
        n > TDigest.smallCapacity && n < bufferCapacity && stats.count == 0 && buffer.isEmpty && centroids.isEmpty
    }

    /// The end state of an empty digest after inserting `narrow`'s values one by one: the
    /// buffer holds them in order, the statistics count them.
    private mutating func takeBuffered(_ narrow: UnsafeBufferPointer<Float>, sum: Double, min: Double, max: Double) {
        if buffer.capacity < narrow.count { buffer.reserveCapacity(narrow.count) }
        buffer.append(contentsOf: narrow)
        stats.count = UInt64(narrow.count)
        stats.sum += sum
        stats.min = min
        stats.max = max
    }
}
