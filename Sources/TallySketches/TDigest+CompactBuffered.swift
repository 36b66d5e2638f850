/// The compact form (SNAPSHOT.md, "t-digest bytes, compact") of a digest whose values are
/// all still in its buffer — at most ``TDigest/exactLimit`` of them, so each is its own
/// centroid of weight 1 — written straight into stack memory.
///
/// A window's digests are mostly this small (the demo's typical series holds 4 values in
/// each of its 7 digests). Written through ``ByteWriter`` and ``BitWriter``, every byte was
/// an array append and every number a call: ~2,000 instructions a 4-value digest. The
/// bytes are the same as the general path's (`TDigestOneValueTests` compares them at
/// 12, 21 and 28 key bits for 2 … 51 values, with ties and ±0).
extension TDigest {
    /// Whether ``compactSerializeBuffered(_:stats:bits:appendingTo:)`` applies: every value
    /// buffered, at least two, at most ``exactLimit``.
    var isCompactBuffered: Bool {
        centroids.isEmpty && buffer.count >= 2 && UInt64(buffer.count) == count && buffer.count <= exactLimit
    }

    /// Appends the compact bytes of a digest for which ``isCompactBuffered`` holds, given its
    /// buffered values (in any order) and its statistics.
    static func compactSerializeBuffered(_ values: UnsafeBufferPointer<Float>, stats: Stats, bits: Int,
                                         appendingTo bytes: inout [UInt8]) {
        let n = values.count
        let (min, max) = (stats.min, stats.max)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { scratch in
            let sorted = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            _ = sorted.initialize(fromContentsOf: values)
            RadixSort.sort(sorted, temporary: UnsafeMutableBufferPointer(rebasing: scratch[n...]))
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { keys in
                // The keys of the general path (``CompactMeanKeys``), kept non-decreasing.
                let rule = CompactMeanKeys(min: min, max: max, bits: bits)
                var previous: UInt64 = 0
                var lastBeforeMaximum: UInt64 = 0
                for i in 0..<n {
                    var key = rule.key(Double(sorted[i]))
                    lastBeforeMaximum = key
                    if i > 0 { key = Swift.max(key, previous) }
                    keys[i] = key
                    previous = key
                }
                // The Rice parameter from the span the general path takes: the last key before
                // the running maximum.
                let b = TDigest.riceParameter(span: Swift.max(lastBeforeMaximum, keys[0]) - keys[0], gaps: n - 1,
                                              limit: bits)
                // A bound on the size: the header's varints and numbers (≤ 58 bytes), then the
                // stream: the first key, each gap's quotient in unary, its stop bit and b low
                // bits, and one bit a weight (every weight is 1: Elias-gamma of zigzag(0) + 1).
                // The quotients add up to at most the whole span's (Σ⌊gᵢ/2ᵇ⌋ ≤ ⌊Σgᵢ/2ᵇ⌋), so
                // no pass over the gaps is needed; past the exact size by less than n bits.
                let spanQuotient = Int((keys[n - 1] - keys[0]) >> UInt64(b))
                let streamBits = bits + n + (n - 1) * (1 + b) + spanQuotient
                let bound = 58 + (streamBits + 7) / 8
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound + StackByteSink.slack) { out in
                    var sink = StackByteSink(out.baseAddress!)
                    sink.varint(stats.count)
                    sink.varint(stats.rejected)
                    sink.number(min)
                    sink.number(max)
                    sink.number(stats.sum)
                    sink.varint(UInt64(n))
                    sink.byte(UInt8(b))
                    sink.bits(keys[0], count: bits)
                    TDigest.writeGaps(of: UnsafeBufferPointer(keys), riceParameter: b, to: &sink)
                    var weights = n
                    while weights >= 32 {
                        sink.bits(0xFFFF_FFFF, count: 32)
                        weights -= 32
                    }
                    sink.bits((UInt64(1) << UInt64(weights)) - 1, count: weights)
                    let written = sink.finish() - out.baseAddress!
                    precondition(written <= bound, "compact digest overran its bound")
                    bytes.append(contentsOf: UnsafeBufferPointer(start: out.baseAddress!, count: written))
                }
            }
        }
    }
}
