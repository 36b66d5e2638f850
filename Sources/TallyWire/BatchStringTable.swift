#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The string table of a batch being encoded: each distinct string is stored once
/// and referenced by its index.
///
/// Lookups go through an open-addressing (linear probing) index keyed by a 64-bit
/// hash of the bytes. An index entry packs `generation << 48 | hash tag << 16 |
/// reference + 1`; entries of another generation are empty, so ``reset()`` is O(1)
/// (it starts a new generation). ``rollBack(to:)`` clears the entries added since the
/// mark, newest first, which keeps every probe chain intact. Not thread-safe.
@usableFromInline
struct BatchStringTable {
    /// Index slots: a power of two, twice ``WireLimits/maxStrings`` (load ≤ 0.5).
    @usableFromInline static let slotCount = 2 * WireLimits.maxStrings
    @usableFromInline let slots: UnsafeMutablePointer<UInt64>
    /// Offset in ``bytes`` of each string's length byte.
    @usableFromInline let offsets: UnsafeMutablePointer<UInt32>
    /// Index slot of each string, for roll-back.
    @usableFromInline let slotOf: UnsafeMutablePointer<UInt16>
    /// The encoded table: for each string, a length byte and its UTF-8 bytes.
    @usableFromInline let bytes: UnsafeMutableRawPointer
    @usableFromInline let capacity: Int
    /// The mutable counters, behind a pointer so that the table is a plain value
    /// whose methods do not need exclusive access to their owner (no dynamic
    /// exclusivity checks on the hot path).
    @usableFromInline let state: UnsafeMutablePointer<State>

    @usableFromInline
    struct State {
        /// Strings in the table.
        @usableFromInline var count = 0
        /// Encoded bytes of the table.
        @usableFromInline var byteCount = 0
        /// Entries of other generations are empty; never 0, so zeroed slots are empty too.
        @usableFromInline var generation: UInt64 = 1
    }

    /// Strings in the table.
    @inlinable var count: Int { state.pointee.count }
    /// Encoded bytes of the table.
    @inlinable var byteCount: Int { state.pointee.byteCount }

    init(capacity: Int) {
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: 0, count: Self.slotCount)
        offsets = .allocate(capacity: WireLimits.maxStrings)
        slotOf = .allocate(capacity: WireLimits.maxStrings)
        bytes = .allocate(byteCount: capacity, alignment: 8)
        self.capacity = capacity
        state = .allocate(capacity: 1)
        state.initialize(to: State())
    }

    func deallocate() {
        slots.deallocate()
        offsets.deallocate()
        slotOf.deallocate()
        bytes.deallocate()
        state.deallocate()
    }

    /// Empties the table for the next batch.
    @inlinable func reset() {
        state.pointee.count = 0
        state.pointee.byteCount = 0
        state.pointee.generation = (state.pointee.generation + 1) & 0xFFFF
        if state.pointee.generation == 0 {
            slots.update(repeating: 0, count: Self.slotCount)
            state.pointee.generation = 1
        }
    }

    @inlinable var mark: (count: Int, byteCount: Int) { (count, byteCount) }

    /// Makes this empty table a copy of `other` (same references, same bytes): the
    /// strings, their offsets, and their index entries at the same slots (so every probe
    /// chain is the same), restamped with this table's generation. O(strings), not
    /// O(slots). `other` must fit this table's capacity.
    func copy(from other: BatchStringTable) {
        precondition(count == 0, "copy into a table that holds strings")
        let strings = other.count, bytesUsed = other.byteCount
        precondition(bytesUsed <= capacity, "string table larger than this one's capacity")
        bytes.copyMemory(from: other.bytes, byteCount: bytesUsed)
        offsets.update(from: other.offsets, count: strings)
        slotOf.update(from: other.slotOf, count: strings)
        let generation = state.pointee.generation << 48
        for reference in 0..<strings {
            let slot = Int(other.slotOf[reference])
            slots[slot] = generation | other.slots[slot] & 0xFFFF_FFFF_FFFF
        }
        state.pointee.count = strings
        state.pointee.byteCount = bytesUsed
    }

    /// Removes the strings added since `mark`.
    @inlinable func rollBack(to mark: (count: Int, byteCount: Int)) {
        while state.pointee.count > mark.count {
            state.pointee.count -= 1
            slots[Int(slotOf[state.pointee.count])] = 0
        }
        state.pointee.byteCount = mark.byteCount
    }

    /// The reference of `string`, adding it when new. Returns `nil` when the table
    /// is full (by count or bytes); `string` must be 1–255 bytes.
    @inlinable
    func intern(_ string: UnsafeRawBufferPointer) -> UInt16? {
        intern(string, hash: StringHash.hash(string))
    }

    /// As ``intern(_:)``, with the string's ``StringHash`` computed beforehand.
    @inlinable
    func intern(_ string: UnsafeRawBufferPointer, hash: UInt64) -> UInt16? {
        let length = string.count
        let generation = state.pointee.generation
        let count = state.pointee.count
        let byteCount = state.pointee.byteCount
        let key = generation << 48 | (hash >> 32) << 16
        var slot = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        while true {
            let entry = slots[slot]
            if entry >> 48 != generation { break }
            if entry & ~0xFFFF == key {
                let reference = Int(truncatingIfNeeded: entry & 0xFFFF) &- 1
                let offset = Int(offsets[reference])
                if Int(bytes.load(fromByteOffset: offset, as: UInt8.self)) == length,
                   memcmp(bytes + offset + 1, string.baseAddress!, length) == 0 {
                    return UInt16(truncatingIfNeeded: reference)
                }
            }
            slot = (slot &+ 1) & (Self.slotCount - 1)
        }
        guard count < WireLimits.maxStrings, byteCount + 1 + length <= capacity else { return nil }
        let reference = count
        offsets[reference] = UInt32(truncatingIfNeeded: byteCount)
        slotOf[reference] = UInt16(truncatingIfNeeded: slot)
        bytes.storeBytes(of: UInt8(truncatingIfNeeded: length), toByteOffset: byteCount, as: UInt8.self)
        (bytes + byteCount + 1).copyMemory(from: string.baseAddress!, byteCount: length)
        state.pointee.byteCount = byteCount + 1 + length
        slots[slot] = key | UInt64(reference + 1)
        state.pointee.count = count + 1
        return UInt16(truncatingIfNeeded: reference)
    }
}

/// A fast, non-cryptographic 64-bit hash for short byte strings (interning only;
/// never on the wire). Multiply-xorshift mixing after the finaliser in Stafford's
/// "Mix13" variant of MurmurHash3's fmix64.
@usableFromInline
enum StringHash {
    @inlinable @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    @inlinable
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let n = bytes.count
        guard let p = bytes.baseAddress else { return mix(0) }
        var h = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        var i = 0
        while i &+ 8 <= n {
            h = mix(h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i &+= 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift &+= 8
                i &+= 1
            }
            h = mix(h ^ tail)
        }
        return h
    }
}
