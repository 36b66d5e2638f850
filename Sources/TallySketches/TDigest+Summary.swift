extension TDigest {
    /// The digest reduced to its exact statistics: count, min, max, sum and rejected kept,
    /// the values replaced by one centroid at the mean (clamped to [min, max]) holding all of
    /// them, or ⌈count / (2³² − 1)⌉ equal ones when one centroid cannot hold that many.
    ///
    /// A summary answers the mean exactly and a quantile not at all (any quantile it gives
    /// is an interpolation between min, the mean and max): where one is written, readers
    /// must know it is one (SNAPSHOT.md, "Cohort aggregates", `cohort_summaries`). It costs a
    /// few bytes in any digest encoding. An empty or one-value digest is returned as is.
    public func summarized() -> TDigest {
        guard stats.count > 1 else { return self }
        // Already its own summary (kept by ``insertSummarizing(_:)``, or settled once): the
        // same digest without a new centroid array (a snapshot summarizes every cohort's
        // summaries again when it is built).
        if isSummaryOfItsStatistics { return self }
        var result = TDigest(compression: compression, scale: scale, bufferCapacity: bufferCapacity)
        result.stats = stats
        let mean = stats.summaryMean
        let parts = (stats.count + UInt64(UInt32.max) - 1) / UInt64(UInt32.max)
        var left = stats.count
        result.centroids.reserveCapacity(Int(parts))
        for part in 0..<parts {
            let weight = left / (parts - part)  // equal parts, the remainder spread over the last ones
            result.centroids.append(Centroid(mean: mean, weight: Double(weight)))
            left -= weight
        }
        return result
    }

    /// Adds `value` to a digest kept as a summary (``summarized()``), which it stays: the
    /// exact statistics updated and the one centroid moved to the new mean (no buffer, no
    /// merge pass: `aggregate-cohorts` 67 Ir a frame below front ends; the centroid array is
    /// allocated once, at the second value). NaN and ±∞ are counted in ``rejected``. For a digest that is empty or
    /// a summary: one that holds other centroids or buffered values becomes a summary here.
    @inlinable @inline(__always)
    public mutating func insertSummarizing(_ value: Double) {
        insertIntoStatistics(value)
        guard value.isFinite else { return }  // counted in rejected
        guard centroids.count == 1, buffer.isEmpty, stats.count <= UInt64(UInt32.max) else {
            settleSummary()
            return
        }
        let mean = stats.summaryMean
        centroids.withUnsafeMutableBufferPointer { only in
            only[0].mean = TDigest.buffered(mean)
            only[0].weight = UInt32(truncatingIfNeeded: stats.count)
        }
    }

    /// Whether ``summarized()`` would give this digest back: no buffer, no merge pass, one
    /// centroid at the clamped mean holding every value (at most 2³² − 1 of them).
    @usableFromInline
    var isSummaryOfItsStatistics: Bool {
        guard buffer.isEmpty, passes == 0, centroids.count == 1, stats.count > 1,
              stats.count <= UInt64(UInt32.max) else { return false }
        let mean = stats.summaryMean
        return centroids[0] == Centroid(mean: mean, weight: Double(stats.count))
    }

    /// Adds `value` to the exact statistics alone (count, sum, min and max; NaN and ±∞ to
    /// ``rejected``) and leaves the centroids, buffer and small values as they were: a
    /// summary in waiting. Its count, sum, min, max and mean are exact at once, but nothing
    /// may read it as a digest (serialize, merge or query it) before it is settled by
    /// ``summarized()``, which places the centroid from the statistics alone. For an
    /// aggregate that settles its summaries once, when its window seals (a live cohort
    /// aggregate's): ``insertSummarizing(_:)`` places the centroid at every value, a
    /// division and the centroid array's uniqueness check each time.
    @inlinable @inline(__always)
    public mutating func insertIntoStatistics(_ value: Double) {
        guard value.isFinite else {
            stats.rejected &+= 1
            return
        }
        stats.count &+= 1
        stats.sum += value
        if value < stats.min { stats.min = value }
        if value > stats.max { stats.max = value }
    }

    /// ``insertSummarizing(_:)``'s other cases, after the statistics took the value: the
    /// first value (kept in the statistics alone), the second (the centroid array
    /// allocated), or a digest that was not a summary.
    @usableFromInline @inline(never)
    mutating func settleSummary() {
        if stats.count == 1 && centroids.isEmpty && buffer.isEmpty { return }  // held in stats alone
        self = summarized()
    }
}

extension TDigest {
    /// Counts a lean summary may hold: ≤ 4,096 centroids of 2³² − 1 (≈ 1.8 × 10¹³ values),
    /// so that a few bytes cannot make a reader allocate more than 64 KiB of centroids.
    public static let leanSummaryMaxCount = UInt64(UInt32.max) * 4_096

    /// The **lean** compact form of a summary (SNAPSHOT.md, "t-digest bytes, compact", lean
    /// summaries): count, rejected, then the value (count 1) or min, max and sum (count > 1)
    /// as ``CompactNumber``s, and no centroids, which a reader places from those
    /// (``summarized()``). 2–29 bytes; the full compact form of the same summary adds its
    /// centroid count, Rice parameter and bit stream (5–7 bytes for counts up to ~1,000).
    /// For a digest that is not a summary the centroids are lost: call it on summaries only.
    public static func compactSummarySerialize(at digest: UnsafePointer<TDigest>, appendingTo bytes: inout [UInt8]) {
        var writer = ByteWriter()
        swap(&writer.bytes, &bytes)
        defer { swap(&writer.bytes, &bytes) }
        _ = TDigest.writeCompactStatistics(digest.pointee.stats, to: &writer)  // no centroids after
    }

    /// Reads a lean summary (``compactSummarySerialize(at:appendingTo:)``) as the
    /// ``summarized()`` digest of its statistics.
    /// - Throws: ``SketchError`` on a truncated or trailing field, a non-finite number,
    ///   min > max, or a count over ``leanSummaryMaxCount``; never traps on bad bytes.
    public init(compactSummary bytes: [UInt8], compression: Int, scale: TDigestScale) throws(SketchError) {
        guard (10...10_000).contains(compression) else {
            throw .invalidField(field: "compression", detail: "\(compression) not in 10…10000")
        }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SketchError) -> TDigest in
                var reader = ByteReader(raw)
                var digest = TDigest(compression: compression, scale: scale)
                _ = try TDigest.readCompactStatistics(&reader, into: &digest)
                guard digest.stats.count <= TDigest.leanSummaryMaxCount else {
                    throw .invalidField(field: "count", detail: "\(digest.stats.count) over \(TDigest.leanSummaryMaxCount) in a summary")
                }
                try reader.expectEnd()
                return digest.summarized()
            }
        }
        self = try result.get()
    }
}

extension TDigest.Stats {
    /// Where a summary's centroid sits: sum / count, clamped to [min, max] (the rounding of
    /// the sum can put it just outside). For a count of at least one.
    @inlinable
    var summaryMean: Double { Swift.min(Swift.max(sum / Double(count), min), max) }
}
