/// Writes bits most-significant first into bytes; the last byte is zero-padded.
///
/// Bits gather in a 64-bit word, stored whole (big-endian, one store per eight bytes) into
/// the writer's own block, which doubles when full; ``finish(appendingTo:)`` appends the
/// block to an array in one copy. Appending each byte to an array instead cost a capacity
/// and uniqueness check per byte (Benchmarks/README.md, "Decode checks a word at a time;
/// the flush's scratch and bit streams").
/// Memory: the bytes written, rounded up to the block's size (its first size doubled as needed).
struct BitWriter: ~Copyable {
    private var block: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes stored in `block`.
    private var stored = 0
    /// The last `filled` (0 ..< 64) bits written, right-aligned.
    private var current: UInt64 = 0
    private var filled = 0

    /// A writer whose block starts with room for `expectedBytes` (it grows past them).
    init(expectedBytes: Int = 64) {
        capacity = Swift.max(expectedBytes, 16)
        block = SystemHeap.allocate(UInt8.self, capacity: capacity)
    }

    deinit { SystemHeap.free(block) }

    /// Appends the low `count` bits of `value` (count ≤ 57).
    @inline(__always)
    mutating func write(_ value: UInt64, bits count: Int) {
        guard count > 0 else { return }
        let bits = value & ((1 << UInt64(count)) - 1)
        let room = 64 - filled
        if count < room {
            current = current << UInt64(count) | bits
            filled += count
        } else {
            spill(bits, count: count, room: room)
        }
    }

    /// The word fills: its free low `room` bits (1 … 57) take the top of `bits`, it is stored
    /// most significant byte first, and the rest of `bits` starts the next word. Apart from
    /// ``write(_:bits:)`` so that the common case stays a few inlined instructions.
    @inline(never)
    private mutating func spill(_ bits: UInt64, count: Int, room: Int) {
        let rest = count - room
        if stored + 8 > capacity { grow() }
        let word = current << UInt64(room) | bits >> UInt64(rest)
        UnsafeMutableRawPointer(block + stored).storeBytes(of: word.bigEndian, as: UInt64.self)
        stored += 8
        current = bits & ((1 << UInt64(rest)) - 1)
        filled = rest
    }

    private mutating func grow() {
        let larger = SystemHeap.allocate(UInt8.self, capacity: 2 * capacity)
        larger.update(from: block, count: stored)
        SystemHeap.free(block)
        block = larger
        capacity *= 2
    }

    /// Appends the bytes written, the last partial byte zero-padded, to `target`; the
    /// writer is then empty.
    mutating func finish(appendingTo target: inout [UInt8]) {
        let tail = (filled + 7) / 8
        if stored + tail > capacity { grow() }
        let padded = current << UInt64(8 * tail - filled)
        for i in 0..<tail { block[stored + i] = UInt8(truncatingIfNeeded: padded >> UInt64(8 * (tail - 1 - i))) }
        target.append(contentsOf: UnsafeBufferPointer(start: block, count: stored + tail))
        stored = 0
        current = 0
        filled = 0
    }

    /// The bytes written, the last partial byte zero-padded.
    consuming func finish() -> [UInt8] {
        var bytes: [UInt8] = []
        finish(appendingTo: &bytes)
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
