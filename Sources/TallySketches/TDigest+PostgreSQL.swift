extension TDigest {
    /// The digest in the text input format of the PostgreSQL `tdigest` extension
    /// (flags 1: centroids as means): `flags 1 count N compression C centroids K
    /// (mean, count) …`, means in Swift's shortest round-trip form (full precision).
    /// Empty digests have no valid text form there; this returns `nil` for them.
    public func postgreSQLText() -> String? {
        guard count > 0 else { return nil }
        var digest = self
        digest.compress()
        var text = "flags 1 count \(count) compression \(compression) centroids \(digest.centroids.count)"
        for centroid in digest.centroids {
            text += " (\(Double(centroid.mean)), \(centroid.weight))"
        }
        return text
    }
}

extension TDigest {
    /// A digest from the `tdigest` extension's binary form, as `tdigest_send(column)`
    /// returns it (its text form prints means with six decimals, too few for costs):
    /// big-endian `flags` i32, `count` i64, `compression` i32, `centroids` i32, then per
    /// centroid a f64 and a count i64 — the mean when flags bit 0 is set, else the sum.
    ///
    /// The centroids are kept as they are (means in this digest's 32-bit precision);
    /// `compression` and `scale` are this digest's own (the extension's compression is
    /// only checked to be in range). The form holds no minimum, maximum or sum: min and
    /// max are the first and last centroid means, the sum is `sum` when the caller knows
    /// it exactly (Tally's rows keep some sums in columns), else Σ mean × count.
    /// - Throws: ``SketchError`` for a truncated form, trailing bytes, a count that is
    ///   not the centroids' total, a zero or oversized centroid count, a mean that is not
    ///   finite or means out of order. Never traps on bad bytes.
    public init(postgreSQLSend bytes: [UInt8], compression: Int = TDigest.defaultCompression,
                scale: TDigestScale = TDigest.defaultScale, sum: Double? = nil) throws(SketchError) {
        var offset = 0
        func read(_ size: Int, _ field: String) throws(SketchError) -> UInt64 {
            guard bytes.count - offset >= size else { throw .truncated(field: field) }
            var value: UInt64 = 0
            for i in 0..<size { value = value << 8 | UInt64(bytes[offset + i]) }
            offset += size
            return value
        }
        let flags = try read(4, "flags")
        let count = try read(8, "count")
        let theirs = try read(4, "compression")
        let n = Int(try read(4, "centroids"))
        guard (10...100_000).contains(theirs) else { throw .invalidField(field: "compression", detail: "\(theirs)") }
        guard n <= (bytes.count - offset) / 16 else { throw .truncated(field: "centroids") }
        self.init(compression: compression, scale: scale)
        var total: UInt64 = 0, exactSum = 0.0, previous = -Double.infinity
        centroids.reserveCapacity(n)
        for i in 0..<n {
            let value = Double(bitPattern: try read(8, "centroid[\(i)].mean"))
            let weight = try read(8, "centroid[\(i)].count")
            guard weight > 0, weight <= UInt64(UInt32.max) else {
                throw .invalidField(field: "centroid[\(i)].count", detail: "\(weight)")
            }
            let mean = flags & 1 == 1 ? value : value / Double(weight)
            guard mean.isFinite, mean >= previous else { throw .invalidField(field: "centroid[\(i)].mean", detail: "\(mean)") }
            previous = mean
            let (sumOfWeights, overflow) = total.addingReportingOverflow(weight)
            guard !overflow else { throw .invalidField(field: "count", detail: "centroid counts overflow") }
            total = sumOfWeights
            exactSum += mean * Double(weight)
            centroids.append(Centroid(mean: mean, weight: Double(weight)))
        }
        guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
        guard total == count else { throw .invalidField(field: "count", detail: "\(count), centroids hold \(total)") }
        if n > 0 {
            stats.count = total
            stats.min = Double(centroids[0].mean)
            stats.max = Double(centroids[n - 1].mean)
            stats.sum = sum ?? exactSum
        }
    }
}
