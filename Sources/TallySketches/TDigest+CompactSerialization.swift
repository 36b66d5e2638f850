/// The compact form of a t-digest inside a version-2 snapshot (SNAPSHOT.md, "t-digest
/// bytes, compact"): no version, scale or compression (the snapshot's header has them),
/// min, max and sum as ``CompactNumber``s, and the centroids in one bit stream: the first
/// mean's key in B bits, the differences between consecutive keys Rice-coded, the
/// differences between consecutive weights zigzagged and Elias-gamma-coded (1 bit for
/// a weight equal to the one before). At B = 21 a centroid of a ~100-value digest takes about a
/// byte (version 1: 3–4.5), and a decoded mean is within 2^−(B − 11) of its value
/// (2^−10 ≈ 0.1 % at 21).
extension TDigest {
    /// The key width tallyd writes: sign, exponent and 9 bits of mantissa.
    public static let compactMeanKeyBits = 21
    /// Key widths a compact digest may use.
    public static let compactMeanKeyBitsRange = 12...28

    /// The compact bytes (merging the buffer first, on a copy); `meanKeyBits` in
    /// ``compactMeanKeyBitsRange``.
    public func compactSerialized(meanKeyBits bits: Int = compactMeanKeyBits) -> [UInt8] {
        var bytes: [UInt8] = []
        compactSerialize(meanKeyBits: bits, appendingTo: &bytes)
        return bytes
    }

    /// ``compactSerialized(meanKeyBits:)``'s bytes appended to `bytes` (no array of its own:
    /// a snapshot's encoder reuses one buffer for every sketch).
    public func compactSerialize(meanKeyBits bits: Int = compactMeanKeyBits, appendingTo bytes: inout [UInt8]) {
        withUnsafePointer(to: self) { TDigest.compactSerialize(at: $0, meanKeyBits: bits, appendingTo: &bytes) }
    }

    /// ``compactSerialize(meanKeyBits:appendingTo:)`` of the digest at `digest`, read in place.
    /// A method call on a digest read through a pointer (a snapshot's series, in its encoder)
    /// copies the digest first, retaining and releasing its two arrays (~150 Ir); the small
    /// digests most windows hold are written here from their fields without that copy.
    public static func compactSerialize(at digest: UnsafePointer<TDigest>, meanKeyBits bits: Int = compactMeanKeyBits,
                                        appendingTo bytes: inout [UInt8]) {
        precondition(TDigest.compactMeanKeyBitsRange.contains(bits), "mean key bits \(bits)")
        let stats = digest.pointee.stats
        if stats.count <= 1 && stats.rejected < 0x80 {
            // Most digests of a window hold one value or none: count, rejected and the value
            // (the same bytes as the general path, without the writer's set-up).
            bytes.append(UInt8(truncatingIfNeeded: stats.count))
            bytes.append(UInt8(truncatingIfNeeded: stats.rejected))
            if stats.count == 1 { CompactNumber.append(stats.min, to: &bytes) }
            return
        }
        if digest.pointee.holdsSmallValues {
            // Two to four values, with no buffer yet: the same bytes as once buffered.
            digest.pointee.withSmallValues {
                TDigest.compactSerializeBuffered($0, stats: stats, bits: bits, appendingTo: &bytes)
            }
            return
        }
        if digest.pointee.isCompactBuffered {
            digest.pointee.buffer.withUnsafeBufferPointer {
                TDigest.compactSerializeBuffered($0, stats: stats, bits: bits, appendingTo: &bytes)
            }
            return
        }
        TDigest.compactSerializeCompressed(at: digest, bits: bits, appendingTo: &bytes)
    }

    /// The general path: its centroids written, read in place when nothing is buffered (a
    /// digest merged when its window sealed), else from a compressed copy.
    private static func compactSerializeCompressed(at digest: UnsafePointer<TDigest>, bits: Int,
                                                   appendingTo bytes: inout [UInt8]) {
        let stats = digest.pointee.stats
        var writer = ByteWriter()
        swap(&writer.bytes, &bytes)
        defer { swap(&writer.bytes, &bytes) }
        guard TDigest.writeCompactStatistics(stats, to: &writer) else { return }
        if digest.pointee.buffer.isEmpty {
            digest.pointee.centroids.withUnsafeBufferPointer {
                writeCentroids($0, min: stats.min, max: stats.max, bits: bits, appendingTo: &writer.bytes)
            }
            return
        }
        var copy = digest.pointee
        copy.compress()
        copy.centroids.withUnsafeBufferPointer {
            writeCentroids($0, min: stats.min, max: stats.max, bits: bits, appendingTo: &writer.bytes)
        }
    }

    /// The statistics every compact form starts with (the full one and a lean summary):
    /// count and rejected as varints, then the value (count 1) or min, max and sum (count > 1)
    /// as ``CompactNumber``s. Returns whether centroids may follow (count > 1).
    static func writeCompactStatistics(_ stats: Stats, to writer: inout ByteWriter) -> Bool {
        writer.varint(stats.count)
        writer.varint(stats.rejected)
        guard stats.count > 0 else { return false }
        CompactNumber.append(stats.min, to: &writer.bytes)
        guard stats.count > 1 else { return false }
        CompactNumber.append(stats.max, to: &writer.bytes)
        CompactNumber.append(stats.sum, to: &writer.bytes)
        return true
    }

    /// Reads what ``writeCompactStatistics(_:to:)`` wrote into `digest` (a one-value digest
    /// gets its centroid). Returns whether centroids follow (count > 1).
    /// - Throws: ``SketchError`` on a truncated or non-finite field, or min > max.
    static func readCompactStatistics(_ reader: inout ByteReader, into digest: inout TDigest) throws(SketchError) -> Bool {
        digest.stats.count = try reader.varint("count")
        digest.stats.rejected = try reader.varint("rejected")
        guard digest.count > 0 else { return false }
        if digest.count == 1 {
            let value = try reader.number("value")
            (digest.stats.min, digest.stats.max, digest.stats.sum) = (value, value, value)
            digest.centroids = [Centroid(mean: value, weight: 1)]
            return false
        }
        digest.stats.min = try reader.number("min")
        digest.stats.max = try reader.number("max")
        digest.stats.sum = try reader.number("sum")
        guard digest.min <= digest.max else { throw .invalidField(field: "min/max", detail: "min > max") }
        return true
    }

    /// The centroid part of the compact form: their count, the Rice parameter, and the bit
    /// stream of keys and weights, for a digest of extremes `min` and `max`.
    ///
    /// Two passes over the centroids: the first takes their keys and the stream's exact
    /// length in bits, the second writes the stream through a ``StackByteSink`` into
    /// temporary memory of that size, appended to `bytes` at once. Through a ``BitWriter``
    /// (an array append per byte) a busy series' centroids cost ~161 instructions each,
    /// this way ~140 (Benchmarks/README.md, "Compact digests written through the sink").
    static func writeCentroids(_ centroids: UnsafeBufferPointer<Centroid>, min: Double, max: Double, bits: Int,
                               appendingTo bytes: inout [UInt8]) {
        let k = centroids.count
        let rule = CompactMeanKeys(min: min, max: max, bits: bits)
        let first = rule.key(Double(centroids[0].mean))
        let b = TDigest.riceParameter(span: Swift.max(rule.key(Double(centroids[k - 1].mean)), first) - first,
                                      gaps: k - 1, limit: bits)
        let shift = UInt64(truncatingIfNeeded: b)
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: k) { keys in
            // Means are sorted, so keys are; max() only guards the rounding's monotonicity.
            // Each gap takes its quotient in unary, a stop bit and b low bits; each weight
            // difference, zigzagged plus one (`coded`, n + 1 significant bits), 2n + 1 bits.
            var streamBits = bits
            var previousKey = first
            var previousWeight: Int64 = 1
            for i in 0..<k {
                let key = Swift.max(rule.key(Double(centroids[i].mean)), previousKey)
                keys[i] = key
                if i > 0 { streamBits &+= Int(truncatingIfNeeded: (key &- previousKey) &>> shift) &+ 1 &+ b }
                previousKey = key
                let weight = Int64(centroids[i].weight)
                let coded = TDigest.zigzag(weight &- previousWeight) &+ 1
                previousWeight = weight
                streamBits &+= 2 &* (63 &- coded.leadingZeroBitCount) &+ 1
            }
            let header = 10 + 1  // the centroid count's varint, the Rice parameter
            let size = header + (streamBits + 7) / 8
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size + StackByteSink.slack) { out in
                var sink = StackByteSink(out.baseAddress!)
                sink.varint(UInt64(k))
                sink.byte(UInt8(b))
                sink.bits(first, count: bits)
                TDigest.writeGaps(of: UnsafeBufferPointer(keys), riceParameter: b, to: &sink)
                var previous: Int64 = 1
                for i in 0..<k {
                    let weight = Int64(centroids[i].weight)
                    let coded = TDigest.zigzag(weight &- previous) &+ 1  // below 2^34: weights are 32-bit
                    previous = weight
                    let n = 63 &- coded.leadingZeroBitCount
                    if 2 &* n &+ 1 <= 56 {
                        sink.fittingBits(coded, count: 2 &* n &+ 1)  // n zeros, then coded's n + 1 bits
                    } else {
                        sink.fittingBits(0, count: n)
                        sink.fittingBits(coded, count: n &+ 1)
                    }
                }
                let written = sink.finish() - out.baseAddress!
                precondition(written <= size, "compact digest overran its size")
                bytes.append(contentsOf: UnsafeBufferPointer(start: out.baseAddress!, count: written))
            }
        }
    }

    /// The Rice codes of the gaps between consecutive `keys` (non-decreasing, below 2^28),
    /// with parameter `b` (0 … 28): each gap's quotient in unary, a stop bit, its b low bits.
    /// One write a gap up to 56 bits (≤ 31 + 1 + 28 once quotients of 32 or more have been
    /// written as runs of 32 ones), else two.
    @inline(__always)
    static func writeGaps(of keys: UnsafeBufferPointer<UInt64>, riceParameter b: Int, to sink: inout StackByteSink) {
        let shift = UInt64(truncatingIfNeeded: b)
        let low = (UInt64(1) &<< shift) &- 1
        for i in 1..<Swift.max(keys.count, 1) {
            let gap = keys[i] &- keys[i &- 1]
            var quotient = gap &>> shift
            while quotient >= 32 {
                sink.fittingBits(0xFFFF_FFFF, count: 32)
                quotient &-= 32
            }
            let unary = ((1 &<< quotient) &- 1) &<< 1
            let length = Int(truncatingIfNeeded: quotient) &+ 1 &+ b
            if length <= 56 {
                sink.fittingBits(unary &<< shift | gap & low, count: length)
            } else {
                sink.fittingBits(unary, count: length &- b)
                sink.fittingBits(gap & low, count: b)
            }
        }
    }

    /// The key a compact digest writes for a centroid's mean, given the digest's `min` and `max`.
    ///
    /// A mean equal to max is rounded up and one equal to min down: the reader's clamp to
    /// [min, max] then gives them back exactly, so runs at the extremes (timeouts at a fixed
    /// bound, lengths capped at a limit) keep answering their value. Equal exactly: a mean
    /// that only rounds to max's Float (e.g. one decoded from a nearest key) keeps the nearest
    /// key, so decoding and encoding again gives the same bytes. At the ends of the binary64
    /// range rounding may reach the key of +∞ (or, below the lowest finite key, keys that
    /// decode to NaN): such keys step to the finite ends.
    struct CompactMeanKeys {
        let min: Double, max: Double, bits: Int
        let minKey: UInt64, maxKey: UInt64, positiveInfinity: UInt64, lowestFinite: UInt64
        /// Bits ``TDigest/meanKey(_:bits:rounding:)`` drops (36 … 52), and half a key's step
        /// (its `.nearest` rounding), computed once instead of for every mean.
        let drop: UInt64, half: UInt64

        init(min: Double, max: Double, bits: Int) {
            (self.min, self.max, self.bits) = (min, max, bits)
            drop = UInt64(64 - bits)
            half = 1 << (drop - 1)
            minKey = TDigest.meanKey(min, bits: bits, rounding: .down)
            maxKey = TDigest.meanKey(max, bits: bits, rounding: .up)
            positiveInfinity = TDigest.meanKey(.infinity, bits: bits, rounding: .down)
            lowestFinite = TDigest.meanKey(-.infinity, bits: bits, rounding: .up)
        }

        @inline(__always)
        func key(_ mean: Double) -> UInt64 {
            let key = mean == max ? maxKey : mean == min ? minKey : nearestKey(mean)
            return key >= positiveInfinity ? positiveInfinity - 1 : Swift.max(key, lowestFinite)
        }

        /// `TDigest.meanKey(mean, bits: bits)` (rounding to the nearest key), with the
        /// shift and the half step precomputed and the shifts unchecked (`drop` < 64).
        @inline(__always)
        func nearestKey(_ mean: Double) -> UInt64 {
            let ordered = TDigest.orderedImage(mean)
            let (rounded, overflow) = ordered.addingReportingOverflow(half)
            return (overflow ? ordered : rounded) &>> drop
        }
    }

    /// The Rice parameter for `gaps` differences adding up to `span`: ⌊log2(mean · ln 2)⌋,
    /// near the optimum for geometric-like gaps, within 0 … `limit`.
    static func riceParameter(span: UInt64, gaps: Int, limit: Int) -> Int {
        guard gaps > 0 else { return 0 }
        let scaled = Double(span) / Double(gaps) * 0.693_147_180_559_945_3
        guard scaled >= 2 else { return 0 }
        return Swift.min(limit, 63 - UInt64(scaled).leadingZeroBitCount)
    }

    /// Reads compact bytes written with `compression`, `scale` and `meanKeyBits` (the
    /// snapshot header's), validating every field.
    /// - Throws: ``SketchError`` naming the first fault; never traps on bad bytes.
    public init(compactSerialized bytes: [UInt8], compression: Int, scale: TDigestScale,
                meanKeyBits bits: Int) throws(SketchError) {
        guard (10...10_000).contains(compression) else {
            throw .invalidField(field: "compression", detail: "\(compression) not in 10…10000")
        }
        guard TDigest.compactMeanKeyBitsRange.contains(bits) else {
            throw .invalidField(field: "mean key bits", detail: "\(bits) not in 12…28")
        }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SketchError) in try TDigest.readCompact(raw, compression: compression, scale: scale, bits: bits) }
        }
        self = try result.get()
    }

    static func readCompact(_ raw: UnsafeRawBufferPointer, compression: Int, scale: TDigestScale,
                            bits: Int) throws(SketchError) -> TDigest {
        var reader = ByteReader(raw)
        var digest = TDigest(compression: compression, scale: scale)
        guard try readCompactStatistics(&reader, into: &digest) else {
            try reader.expectEnd()
            return digest
        }
        let k = try reader.varint("centroid count")
        // Every centroid takes at least one bit (its weight), so K is bounded by the bytes left.
        guard k >= 1, k <= digest.count, k <= UInt64(reader.remaining) * 8 else {
            throw .invalidField(field: "centroid count", detail: "\(k) for count \(digest.count)")
        }
        let b = Int(try reader.u8("rice parameter"))
        guard b <= bits else { throw .invalidField(field: "rice parameter", detail: "\(b) over \(bits)") }
        var stream = BitReader(raw, from: reader.offset)
        let keyLimit: UInt64 = 1 << UInt64(bits)
        var key = try stream.read(bits: bits)
        let n = Int(k)
        // The means first (as the digest keeps them, 32-bit), then the weights straight into
        // the centroids: no array append (a uniqueness check a call) and no conversion call a
        // centroid. Both are sized by K up front, and K ≤ 8 × the bytes left (above): at most
        // 12 bytes a bit of input, whatever K claims (the arrays grown a centroid at a time
        // before held up to 16 bytes a centroid).
        try withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { (means) throws(SketchError) in
            for i in 0..<n {
                if i > 0 {
                    let quotient = try stream.unary(limit: Int(keyLimit >> UInt64(b)))
                    let difference = UInt64(quotient) << UInt64(b) | (try stream.read(bits: b))
                    key += difference
                    guard key < keyLimit else { throw .invalidField(field: "mean[\(i)]", detail: "key wider than \(bits) bits") }
                }
                let mean = TDigest.mean(fromKey: key, bits: bits)
                guard mean.isFinite else { throw .invalidField(field: "mean[\(i)]", detail: "not finite") }
                means[i] = TDigest.buffered(Swift.min(Swift.max(mean, digest.min), digest.max))
            }
            var failure: SketchError?
            let count = digest.count
            digest.centroids = [Centroid](unsafeUninitializedCapacity: n) { centroids, initialized in
                var total: UInt64 = 0
                var previous: Int64 = 1
                do throws(SketchError) {
                    for i in 0..<n {
                        // zigzag(±(2^32 − 2)) + 1 < 2^33: more zeros cannot make a weight in range.
                        guard let zeros = try stream.zerosBeforeOne(limit: 33) else {
                            throw .invalidField(field: "weight[\(i)]", detail: "difference over 2^33")
                        }
                        let coded = UInt64(1) << UInt64(zeros) | (try stream.read(bits: zeros))
                        let w = previous + TDigest.unzigzag(coded - 1)
                        guard w >= 1, w <= Int64(UInt32.max) else {
                            throw .invalidField(field: "weight[\(i)]", detail: "\(w) not in 1 … 2^32 − 1")
                        }
                        previous = w
                        total += UInt64(w)
                        guard total <= count else { throw .invalidField(field: "weight[\(i)]", detail: "weights exceed count \(count)") }
                        (centroids.baseAddress.unsafelyUnwrapped + i).initialize(to: Centroid(rounded: means[i], weight: UInt32(w)))
                        initialized = i + 1
                    }
                    guard total == count else {
                        throw .invalidField(field: "weights", detail: "sum \(total) ≠ count \(count)")
                    }
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
        let end = try stream.finish()
        guard end == raw.count else { throw .trailingBytes(raw.count - end) }
        return digest
    }
}
