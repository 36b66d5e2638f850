/// Bytes and most-significant-first bits written through a pointer into memory the caller
/// sized (no bounds checks: the caller computes the exact size first).
struct StackByteSink {
    private var next: UnsafeMutablePointer<UInt8>
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

    /// The low `count` (0 … 57) bits of `value`, after the bits written so far.
    @inline(__always)
    mutating func bits(_ value: UInt64, count: Int) {
        guard count > 0 else { return }
        current = current << UInt64(count) | (value & ((1 << UInt64(count)) - 1))
        filled += count
        while filled >= 8 {
            filled -= 8
            byte(UInt8(truncatingIfNeeded: current >> UInt64(filled)))
        }
        current &= (1 << UInt64(filled)) - 1
    }

    /// Writes the partial byte (zero-padded) and returns the end of what was written.
    @inline(__always)
    mutating func finish() -> UnsafeMutablePointer<UInt8> {
        if filled > 0 { byte(UInt8(truncatingIfNeeded: current << UInt64(8 - filled))) }
        filled = 0
        return next
    }
}
