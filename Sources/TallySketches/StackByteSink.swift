/// Bytes and most-significant-first bits written through a pointer into memory the caller
/// sized (no bounds checks: the caller computes the size or a bound on it first, and adds
/// ``slack`` bytes: each bit write stores a whole word). Bytes (``byte(_:)``,
/// ``varint(_:)``, ``number(_:)``) come before the bits, never between them.
struct StackByteSink {
    /// Bytes past the exact size that a bit write may store into (and leave past the end).
    static let slack = 8
    private var next: UnsafeMutablePointer<UInt8>
    /// The bits not yet in a whole byte (``filled`` of them, 0 … 7), at the top of the word.
    private var current: UInt64 = 0
    private var filled = 0

    @inline(__always)
    init(_ start: UnsafeMutablePointer<UInt8>) { next = start }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        next.pointee = value
        next += 1
    }

    /// Unsigned LEB128, as ``ByteWriter/varint(_:)``.
    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            byte(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        byte(UInt8(v))
    }

    /// A ``CompactNumber``: its prefix, then the binary64 little-endian when escaped.
    @inline(__always)
    mutating func number(_ value: Double) {
        let prefix = CompactNumber.prefix(of: value)
        varint(prefix)
        if prefix == CompactNumber.escape {
            UnsafeMutableRawPointer(next).storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
            next += 8
        }
    }

    /// The low `count` (0 … 56) bits of `value`, after the bits written so far. Stores the
    /// 8 bytes from the write position at once (those past the whole bytes written are
    /// written again by the next write, or left past the end): no loop over the bytes.
    @inline(__always)
    mutating func bits(_ value: UInt64, count: Int) {
        fittingBits(value & ((1 &<< UInt64(count)) &- 1), count: count)
    }

    /// ``bits(_:count:)`` of a `value` below 2^`count`, which needs no mask.
    @inline(__always)
    mutating func fittingBits(_ value: UInt64, count: Int) {
        assert(count >= 0 && count <= 56, "a bit write of \(count) bits")
        assert(value >> UInt64(count) == 0, "\(value) has more than \(count) bits")
        // filled + count ≤ 63; a shift of 64 (nothing pending, count 0) wraps to 0 with a 0 value.
        current |= value &<< UInt64(64 &- filled &- count)
        filled &+= count
        UnsafeMutableRawPointer(next).storeBytes(of: current.bigEndian, as: UInt64.self)
        let whole = filled &>> 3
        next += whole
        current = current &<< UInt64(whole &<< 3)
        filled &= 7
    }

    /// Writes the partial byte (zero-padded) and returns the end of what was written.
    @inline(__always)
    mutating func finish() -> UnsafeMutablePointer<UInt8> {
        if filled > 0 { byte(UInt8(truncatingIfNeeded: current &>> 56)) }
        filled = 0
        return next
    }
}
