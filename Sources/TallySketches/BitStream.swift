/// Writes bits most-significant first into bytes; the last byte is zero-padded.
struct BitWriter {
    var bytes: [UInt8] = []
    private var current: UInt64 = 0
    private var filled = 0

    /// Appends the low `count` bits of `value` (count ≤ 57).
    @inline(__always)
    mutating func write(_ value: UInt64, bits count: Int) {
        guard count > 0 else { return }
        current = current << UInt64(count) | (value & ((1 << UInt64(count)) - 1))
        filled += count
        while filled >= 8 {
            filled -= 8
            bytes.append(UInt8(truncatingIfNeeded: current >> UInt64(filled)))
        }
        current &= (1 << UInt64(filled)) - 1
    }

    /// `count` one bits then a zero: unary `count`.
    mutating func unary(_ count: Int) {
        var left = count
        while left >= 32 { write(0xFFFF_FFFF, bits: 32); left -= 32 }
        write((1 << UInt64(left)) - 1, bits: left)
        write(0, bits: 1)
    }

    /// Flushes the partial byte (zero-padded) and hands the bytes to `target` (swapped in:
    /// for a stream that took over its caller's buffer, which then holds both parts).
    mutating func finish(into target: inout [UInt8]) {
        if filled > 0 { bytes.append(UInt8(truncatingIfNeeded: current << UInt64(8 - filled))) }
        filled = 0
        current = 0
        swap(&bytes, &target)
    }

    /// Flushes the partial byte (zero-padded) and returns the bytes.
    mutating func finish() -> [UInt8] {
        if filled > 0 { bytes.append(UInt8(truncatingIfNeeded: current << UInt64(8 - filled))) }
        filled = 0
        current = 0
        return bytes
    }
}

/// Reads bits most-significant first from a byte range, with bounds checks.
struct BitReader {
    let bytes: UnsafeRawBufferPointer
    let end: Int
    var bitOffset: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int) {
        self.bytes = bytes
        end = bytes.count * 8
        bitOffset = start * 8
    }

    mutating func bit() throws(SketchError) -> UInt64 {
        guard bitOffset < end else { throw .truncated(field: "bit stream") }
        let byte = bytes[bitOffset >> 3]
        let value = UInt64(byte >> UInt8(7 - (bitOffset & 7))) & 1
        bitOffset += 1
        return value
    }

    /// The next `count` bits (0 … 64) as an unsigned number, the first bit most significant;
    /// a byte's worth at a time.
    mutating func read(bits count: Int) throws(SketchError) -> UInt64 {
        guard count <= end - bitOffset else { throw .truncated(field: "bit stream") }
        var value: UInt64 = 0
        var left = count
        while left > 0 {
            let used = bitOffset & 7
            let take = Swift.min(8 - used, left)
            let byte = UInt64(bytes[bitOffset >> 3])
            value = value << UInt64(take) | (byte >> UInt64(8 - used - take)) & ((1 << UInt64(take)) - 1)
            left -= take
            bitOffset += take
        }
        return value
    }

    /// Unary: ones until a zero; at most `limit` ones.
    mutating func unary(limit: Int) throws(SketchError) -> Int {
        var count = 0
        // Whole bytes of ones at a time.
        while bitOffset & 7 == 0, end - bitOffset > 8, bytes[bitOffset >> 3] == 0xFF, count + 8 <= limit {
            count += 8
            bitOffset += 8
        }
        while try bit() == 1 {
            count += 1
            guard count <= limit else { throw .invalidField(field: "bit stream", detail: "unary run over \(limit)") }
        }
        return count
    }

    /// The byte after the last bit read; the padding bits before it must be zero.
    func finish() throws(SketchError) -> Int {
        let next = (bitOffset + 7) >> 3
        if bitOffset & 7 != 0 {
            let padding = bytes[bitOffset >> 3] & UInt8(0xFF >> (bitOffset & 7))
            guard padding == 0 else { throw .invalidField(field: "bit stream", detail: "non-zero padding") }
        }
        return next
    }
}
