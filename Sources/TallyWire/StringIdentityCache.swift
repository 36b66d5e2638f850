/// A two-way set-associative cache in front of ``BatchStringTable``: it maps a `String`
/// *value* (its 16 raw bytes) to its reference in the current batch.
///
/// Producers pass the same `String` values again and again (model names, tag keys,
/// pooled tag values). Two equal small strings (≤ 15 UTF-8 bytes) have equal raw
/// bytes, and copies of one large string share its storage pointer, so a hit skips
/// hashing and comparing the bytes. A miss (another storage with the same text)
/// falls back to the byte path, so correctness never depends on the cache. The
/// cache keeps each cached string alive, so a storage address cannot be reused by a
/// different string while its entry is valid. ``invalidate()`` drops every entry in
/// O(1) by starting a new generation.
///
/// 256 sets of two entries, the set chosen by the top 8 bits of a multiplicative hash
/// of both words. (The slot used to be bits 40 … 48 of that product, which the first
/// word's highest byte never reaches: "tenant-1" … "tenant-9" all shared one slot, and
/// the fleet's typical frames missed ~1.1 lookups a frame, each ~330 instructions on the
/// byte path. Benchmarks/README.md, "The encoder's string cache".)
@usableFromInline
struct StringIdentityCache {
    /// Entries: 256 sets of two.
    @usableFromInline static var size: Int { 512 }
    /// Raw bytes of each cached string, two words per entry; a set's two entries are
    /// adjacent (entry `2·set` is the one most recently stored).
    @usableFromInline let bits: UnsafeMutablePointer<UInt64>
    /// `generation << 16 | reference` per entry.
    @usableFromInline let stamps: UnsafeMutablePointer<UInt64>
    /// Keeps cached strings alive; written on misses only.
    @usableFromInline let holders: UnsafeMutablePointer<String>
    /// The current generation, behind a pointer (no exclusivity checks on the hot path).
    @usableFromInline let generation: UnsafeMutablePointer<UInt64>

    init() {
        bits = .allocate(capacity: 2 * Self.size)
        bits.initialize(repeating: 0, count: 2 * Self.size)
        stamps = .allocate(capacity: Self.size)
        stamps.initialize(repeating: 0, count: Self.size)
        holders = .allocate(capacity: Self.size)
        holders.initialize(repeating: "", count: Self.size)
        generation = .allocate(capacity: 1)
        generation.initialize(to: 1)
    }

    func deallocate() {
        bits.deallocate()
        stamps.deallocate()
        holders.deinitialize(count: Self.size)
        holders.deallocate()
        generation.deallocate()
    }

    @inlinable @inline(__always)
    static func rawBits(_ string: String) -> (UInt64, UInt64) {
        unsafeBitCast(string, to: (UInt64, UInt64).self)
    }

    /// The first entry of the set that `raw` belongs to (even, 0 … 510): the top 8 bits
    /// of the product, which every input bit reaches.
    @inlinable @inline(__always)
    static func firstEntry(_ raw: (UInt64, UInt64)) -> Int {
        let mixed = (raw.0 ^ (raw.1 &* 0x9E37_79B9_7F4A_7C15)) &* 0xD6E8_FEB8_6659_FD93
        return Int(truncatingIfNeeded: mixed &>> 56) &<< 1
    }

    /// The cached reference of `string` in the current generation, if any.
    @inlinable @inline(__always)
    func lookup(_ string: String) -> UInt16? {
        let raw = Self.rawBits(string)
        let first = Self.firstEntry(raw)
        let generation = generation.pointee
        for entry in first..<first &+ 2 {
            let stamp = stamps[entry]
            if stamp >> 16 == generation, bits[2 &* entry] == raw.0, bits[2 &* entry &+ 1] == raw.1 {
                return UInt16(truncatingIfNeeded: stamp)
            }
        }
        return nil
    }

    /// Caches `string` as `reference` in the first entry of its set; that entry moves to
    /// the second (whose string is dropped). Called on misses only.
    @inlinable
    func store(_ string: String, _ reference: UInt16) {
        let raw = Self.rawBits(string)
        let first = Self.firstEntry(raw)
        let second = first &+ 1
        holders[second] = holders[first]
        bits[2 &* second] = bits[2 &* first]
        bits[2 &* second &+ 1] = bits[2 &* first &+ 1]
        stamps[second] = stamps[first]
        holders[first] = string
        bits[2 &* first] = raw.0
        bits[2 &* first &+ 1] = raw.1
        stamps[first] = generation.pointee << 16 | UInt64(reference)
    }

    /// Forgets every entry (a new batch, or references rolled back).
    @inlinable func invalidate() {
        generation.pointee &+= 1
    }
}
