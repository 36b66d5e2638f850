/// The dense registers of a ``HyperLogLog``: m six-bit values (0 … 63; a register
/// never exceeds 64 − p + 1 ≤ 61) packed into exactly 6·m/8 bytes, copied on write.
///
/// Six bits instead of a byte a register, and no array header, so the block is an
/// allocator size class of its own: 3,072 bytes at p = 12 where `[UInt8]` took
/// 4,096 + 32 and so a 5,120-byte block (`tally-kernels memory-busy`). Register i
/// sits at bits 6i … 6i + 5, little-endian across the bytes; a read or a write
/// touches one byte or two neighbouring ones.
///
/// An empty value (`count` 0) allocates nothing. Indices outside `0..<count` trap,
/// like an array's; values above 63 are cut to their low six bits.
public struct HyperLogLogRegisters: Sendable, Equatable, RandomAccessCollection, MutableCollection {
    @usableFromInline var storage: Storage?
    public let count: Int

    /// Owns the packed bytes; shared between copies until one of them writes.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        @usableFromInline let bytes: UnsafeMutablePointer<UInt8>
        @usableFromInline let byteCount: Int

        init(byteCount: Int) {
            self.byteCount = byteCount
            bytes = SystemHeap.allocate(UInt8.self, capacity: byteCount)
            bytes.initialize(repeating: 0, count: byteCount)
        }

        @usableFromInline func copy() -> Storage {
            let copy = Storage(byteCount: byteCount)
            copy.bytes.update(from: bytes, count: byteCount)
            return copy
        }

        deinit { SystemHeap.free(bytes) }
    }

    /// No registers (a sketch in exact mode).
    public init() {
        storage = nil
        count = 0
    }

    /// `count` registers, all 0. `count` is a multiple of 4 (m = 2^p, p ≥ 4).
    public init(zeros count: Int) {
        precondition(count >= 0 && count % 4 == 0, "register count \(count) is not a multiple of 4")
        self.count = count
        storage = count == 0 ? nil : Storage(byteCount: count / 4 * 3)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inlinable @inline(__always)
    public subscript(index: Int) -> UInt8 {
        get {
            precondition(index >= 0 && index < count, "register index \(index) out of 0..<\(count)")
            let bytes = storage.unsafelyUnwrapped.bytes
            let bit = 6 &* index, byte = bit >> 3, shift = UInt16(bit & 7)
            let word = shift <= 2 ? UInt16(bytes[byte]) : UInt16(bytes[byte]) | UInt16(bytes[byte &+ 1]) << 8
            return UInt8(truncatingIfNeeded: word >> shift) & 63
        }
        set {
            precondition(index >= 0 && index < count, "register index \(index) out of 0..<\(count)")
            if !isKnownUniquelyReferenced(&storage) { storage = storage.unsafelyUnwrapped.copy() }
            let bytes = storage.unsafelyUnwrapped.bytes
            let bit = 6 &* index, byte = bit >> 3, shift = UInt16(bit & 7)
            let value = UInt16(newValue & 63) << shift, mask = UInt16(63) << shift
            if shift <= 2 {
                bytes[byte] = bytes[byte] & ~UInt8(truncatingIfNeeded: mask) | UInt8(truncatingIfNeeded: value)
            } else {
                var word = UInt16(bytes[byte]) | UInt16(bytes[byte &+ 1]) << 8
                word = word & ~mask | value
                bytes[byte] = UInt8(truncatingIfNeeded: word)
                bytes[byte &+ 1] = UInt8(truncatingIfNeeded: word >> 8)
            }
        }
    }

    /// Raises every register to `other`'s where that is larger (a union's register
    /// maximum), four registers (three bytes) at a time, with one uniqueness check.
    /// - Precondition: both have the same `count`.
    public mutating func formMaximum(_ other: HyperLogLogRegisters) {
        precondition(count == other.count, "register counts \(count) and \(other.count) differ")
        guard let source = other.storage else { return }
        if !isKnownUniquelyReferenced(&storage) { storage = storage.unsafelyUnwrapped.copy() }
        let target = storage.unsafelyUnwrapped.bytes, from = source.bytes
        var byte = 0
        while byte < source.byteCount {
            let a = UInt32(target[byte]) | UInt32(target[byte &+ 1]) << 8 | UInt32(target[byte &+ 2]) << 16
            let b = UInt32(from[byte]) | UInt32(from[byte &+ 1]) << 8 | UInt32(from[byte &+ 2]) << 16
            var merged: UInt32 = 0
            for shift: UInt32 in [0, 6, 12, 18] {
                merged |= Swift.max(a >> shift & 63, b >> shift & 63) << shift
            }
            target[byte] = UInt8(truncatingIfNeeded: merged)
            target[byte &+ 1] = UInt8(truncatingIfNeeded: merged >> 8)
            target[byte &+ 2] = UInt8(truncatingIfNeeded: merged >> 16)
            byte &+= 3
        }
    }

    public static func == (a: HyperLogLogRegisters, b: HyperLogLogRegisters) -> Bool {
        guard a.count == b.count else { return false }
        guard let x = a.storage, let y = b.storage, x !== y else { return true }
        return (0..<x.byteCount).allSatisfy { x.bytes[$0] == y.bytes[$0] }
    }
}
