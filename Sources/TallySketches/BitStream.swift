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
///
/// Reads go through a window of up to 56 bits (``peek()``): the eight bytes from the read
/// position, loaded as one big-endian word (or the bytes left, zero-padded, near the end)
/// and shifted past the bits already read. A read of up to 56 bits is then one load and a
/// shift, and a unary or Elias-gamma run is counted by one `leadingZeroBitCount` a window.
/// With reads byte by byte and runs bit by bit, a compact digest took ~390 instructions a
/// centroid to read back, ~330 with the window and the centroids written in place
/// (Benchmarks/README.md, "Snapshot reads a word at a time").
/// Bad input: a read past the end throws ``SketchError/truncated(field:)``; nothing is read
/// outside `bytes`.
struct BitReader {
    let bytes: UnsafeRawBufferPointer
    /// Bits in `bytes`.
    let end: Int
    /// Bits read so far, from the start of `bytes`.
    var bitOffset: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int) {
        self.bytes = bytes
        end = bytes.count * 8
        bitOffset = start * 8
    }

    /// The next bits, left-aligned: at least the next `min(56, end − bitOffset)` are the stream's,
    /// the bits after the stream's end are zero. Call only while `bitOffset < end`.
    @inline(__always)
    func peek() -> UInt64 {
        let byte = bitOffset &>> 3
        let count = bytes.count
        if byte &+ 8 <= count {
            return load(at: byte) &<< UInt64(bitOffset & 7)
        }
        if count >= 8 {
            // The last eight bytes, moved up past those already behind the read position.
            return load(at: count &- 8) &<< UInt64((byte &- (count &- 8)) &* 8 &+ (bitOffset & 7))
        }
        return peekShort()
    }

    /// Eight bytes at `byte` as a big-endian word (`byte + 8 ≤ bytes.count`).
    @inline(__always)
    private func load(at byte: Int) -> UInt64 {
        UInt64(bigEndian: bytes.baseAddress.unsafelyUnwrapped.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
    }

    /// ``peek()`` in a range of fewer than eight bytes, a byte at a time.
    @inline(never)
    private func peekShort() -> UInt64 {
        let byte = bitOffset >> 3
        var word: UInt64 = 0
        for i in 0..<8 { word = word << 8 | (byte + i < bytes.count ? UInt64(bytes[byte + i]) : 0) }
        return word << UInt64(bitOffset & 7)
    }

    /// The next bit.
    @inline(__always)
    mutating func bit() throws(SketchError) -> UInt64 {
        guard bitOffset < end else { throw .truncated(field: "bit stream") }
        let value = peek() &>> 63
        bitOffset &+= 1
        return value
    }

    /// The next `count` bits (0 … 64) as an unsigned number, the first bit most significant.
    @inline(__always)
    mutating func read(bits count: Int) throws(SketchError) -> UInt64 {
        guard count <= end &- bitOffset else { throw .truncated(field: "bit stream") }
        guard count > 0 else { return 0 }
        if count > 56 {
            // Two windows: all but the last 32 bits, then those.
            let high = peek() &>> UInt64(96 &- count)
            bitOffset &+= count &- 32
            let low = peek() &>> 32
            bitOffset &+= 32
            return high &<< 32 | low
        }
        let value = peek() &>> UInt64(64 &- count)
        bitOffset &+= count
        return value
    }

    /// Unary: ones until a zero (consumed); at most `limit` ones. More throws
    /// ``SketchError/invalidField(field:detail:)``; the stream ending first, truncated.
    @inline(__always)
    mutating func unary(limit: Int) throws(SketchError) -> Int {
        var count = 0
        while true {
            let available = Swift.min(56, end &- bitOffset)
            guard available > 0 else { throw .truncated(field: "bit stream") }
            let ones = Swift.min((~peek()).leadingZeroBitCount, available)
            count &+= ones
            guard count <= limit else { throw .invalidField(field: "bit stream", detail: "unary run over \(limit)") }
            if ones < available {
                bitOffset &+= ones &+ 1
                return count
            }
            bitOffset &+= available
        }
    }

    /// Zeros until a one (consumed): the length prefix of an Elias-gamma code. Nil, having
    /// read past the `limit` zeros, when there are more than `limit` (the caller names the
    /// field); the stream ending first throws truncated.
    @inline(__always)
    mutating func zerosBeforeOne(limit: Int) throws(SketchError) -> Int? {
        var count = 0
        while true {
            let available = Swift.min(56, end &- bitOffset)
            guard available > 0 else { throw .truncated(field: "bit stream") }
            let zeros = Swift.min(peek().leadingZeroBitCount, available)
            count &+= zeros
            if count > limit { return nil }
            if zeros < available {
                bitOffset &+= zeros &+ 1
                return count
            }
            bitOffset &+= available
        }
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
