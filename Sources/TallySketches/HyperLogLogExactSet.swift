/// The keys of a ``HyperLogLog`` in exact mode: a set of 28-bit hash keys, open
/// addressing with linear probing at a load of at most ½.
///
/// It replaced a sorted array whose insert moved half of up to 2 KB per new key: under
/// load (`tallyd` at 1.8 M frames/s, `perf`) that insert was 12 % of tallyd's CPU
/// samples. Now an insert reads one slot, rarely two; the sorted order that the
/// serialized form and unions need is produced by ``sortedKeys``, off the per-value path.
///
/// Slots are 32 bits: bit 31 marks a used slot, bits 0 … 27 hold the key. A key whose
/// bits p … 27 are all zero (an "escape", about one in 2^(28 − p)) also needs its
/// register value, which does not fit beside it; those few keys keep their full form
/// (`key | rho << 32`) in ``escapes`` as well.
///
/// Memory: 4 bytes a slot, slots = the power of two ≥ 2 × keys (at least 8): 2 KiB at
/// the 256 keys of p = 12's exact limit, the same as the sorted array it replaced. A set
/// of one key that is not an escape holds it in ``onlySlot``, with no slots: most sets of
/// a window's series and cohort aggregates hold one user or session, and 8 slots for it
/// cost an allocation and a free (~450 instructions) at every flush.
@usableFromInline
struct HyperLogLogExactSet: Sendable, Equatable {
    @usableFromInline private(set) var slots: [UInt32] = []
    /// Escape keys in full form (`key | rho << 32`), unordered; almost always empty.
    private(set) var escapes: [UInt64] = []
    /// Distinct keys held (at most the exact limit + 1, 2^14 + 1 at p = 18), in 32 bits so
    /// that it and ``onlySlot`` share one word.
    private var storedCount: UInt32 = 0
    /// The one key (as a used slot) while the set holds one key and no slots; 0 otherwise.
    @usableFromInline private(set) var onlySlot: UInt32 = 0
    var count: Int { Int(storedCount) }
    /// Slots allocated (a power of two, or 0).
    var slotCount: Int { slots.count }

    @usableFromInline static let used: UInt32 = 1 << 31
    private static let keyMask: UInt64 = (1 << UInt64(HyperLogLog.keyBits)) - 1

    init() {}

    /// A set holding `keys` (full form, any order).
    init<S: Sequence>(keys: S) where S.Element == UInt64 {
        for key in keys { insert(key, isEscape: key >> 32 != 0, growingUpTo: .max) }
    }

    /// Whether the 28-bit key `low` is held: one probe, rarely two, and no write, so a
    /// value seen before costs no uniqueness check of the slots (most values of a busy
    /// series: its users and sessions recur).
    @inlinable @inline(__always)
    func contains(_ low: UInt32) -> Bool {
        slots.withUnsafeBufferPointer { slots in
            // (An empty array's buffer may still have a base address: test the count.)
            guard slots.count > 0, let base = slots.baseAddress else { return onlySlot == low | HyperLogLogExactSet.used }
            let mask = slots.count &- 1
            let target = low | HyperLogLogExactSet.used
            var i = Int(low) & mask
            while true {
                let slot = base[i]
                if slot == target { return true }
                if slot == 0 { return false }
                i = (i &+ 1) & mask
            }
        }
    }

    /// Slots for `n` keys in one allocation (a power of two ≥ 2n), for an empty set about to
    /// take up to `n` keys: ``insert(_:isEscape:growingUpTo:)`` then never grows for them.
    /// Nothing for a set that holds keys or slots, or for n ≤ 4 (a first key needs no slots,
    /// and a second makes the 8 that four keys fit in).
    mutating func reserve(_ n: Int) {
        guard slots.isEmpty, count == 0, n > 4 else { return }
        var size = 16
        while size < 2 * n { size &*= 2 }
        slots.append(contentsOf: repeatElement(0, count: size))  // specialized, as in ``grow()``
    }

    /// Adds `key` (its low 28 bits; `key >> 32` is the register value of an escape).
    /// Returns whether the 28-bit key was new. For a key already present, an escape
    /// keeps the larger register value. The slots grow only while the set holds at
    /// most `limit` keys: the key past the sketch's exact limit, which turns it into
    /// registers at once, goes in at a load just over ½ rather than doubling the slots.
    @discardableResult
    mutating func insert(_ key: UInt64, isEscape: Bool, growingUpTo limit: Int) -> Bool {
        let low = UInt32(truncatingIfNeeded: key & Self.keyMask)
        if slots.isEmpty {
            if onlySlot == low | Self.used && !isEscape { return false }
            if count == 0 && !isEscape {
                onlySlot = low | Self.used
                storedCount = 1
                return true
            }
        }
        if 2 * (count + 1) > slots.count && (count < limit || slots.count < 8) { grow() }
        let mask = slots.count - 1
        var i = Int(low) & mask
        let isNew: Bool = slots.withUnsafeMutableBufferPointer { slots in
            while true {
                let slot = slots[i]
                if slot == 0 {
                    slots[i] = low | Self.used
                    return true
                }
                if slot == low | Self.used { return false }
                i = (i &+ 1) & mask
            }
        }
        if isNew { storedCount += 1 }
        if isEscape { recordEscape(key) }
        return isNew
    }

    /// Whether `n` more keys go in without the slots growing (2·(count + n) ≤ slots, as
    /// ``insert(_:isEscape:growingUpTo:)`` grows them) and the set stays within `limit`.
    func hasRoom(for n: Int, limit: Int) -> Bool {
        !slots.isEmpty && 2 * (count + n) <= slots.count && count + n <= limit
    }

    /// Adds `count` keys (full form; the `i`th is `key(i)`) in order, when
    /// ``hasRoom(for:limit:)`` holds for all of them: the slots, count and escapes that
    /// inserting them one by one gives, with one probe a key and one uniqueness check of the
    /// slots for the whole batch (a series built when its window seals: ~117 instructions a
    /// new key one by one). `key` is called once a key, and again for each when one of them is
    /// an escape (rare: key bits p … 27 all zero).
    @inline(__always)
    mutating func insertAllWithRoom(count n: Int, key: (Int) -> UInt64) {
        precondition(hasRoom(for: n, limit: .max), "exact set without room for \(n) keys")
        var added: UInt32 = 0
        var anyEscape = false
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count &- 1
            for i in 0..<n {
                let full = key(i)
                anyEscape = anyEscape || full >> 32 != 0
                let target = UInt32(truncatingIfNeeded: full & Self.keyMask) | Self.used
                var at = Int(target & ~Self.used) & mask
                while true {
                    let slot = slots[at]
                    if slot == 0 {
                        slots[at] = target
                        added &+= 1
                        break
                    }
                    if slot == target { break }
                    at = (at &+ 1) & mask
                }
            }
        }
        storedCount += added
        if anyEscape {
            for i in 0..<n {
                let full = key(i)
                if full >> 32 != 0 { recordEscape(full) }
            }
        }
    }

    private mutating func recordEscape(_ key: UInt64) {
        if let j = escapes.firstIndex(where: { $0 & Self.keyMask == key & Self.keyMask }) {
            escapes[j] = Swift.max(escapes[j], key)
        } else {
            escapes.append(key)
        }
    }

    /// Doubles the slots (at least 8) and re-inserts every key, ``onlySlot``'s included.
    /// The one-key set moves its key straight into the new slots: wrapping it in an array
    /// first cost an allocation and a free (~500 instructions) each time a series or cohort
    /// aggregate met its second user or session.
    private mutating func grow() {
        let size = Swift.max(8, 2 * slots.count)
        let mask = size - 1
        // Not `[UInt32](repeating:count:)`: it goes through the standard library's
        // unspecialized `Array._allocateBufferUninitialized`, which looks up the storage
        // class's generic metadata at every call (~420 of its ~590 instructions, callgrind on
        // this Linux runtime). Growing an empty array takes the specialized path.
        var grown: [UInt32] = []
        grown.append(contentsOf: repeatElement(0, count: size))
        grown.withUnsafeMutableBufferPointer { grown in
            func place(_ slot: UInt32) {
                var i = Int(slot & ~Self.used) & mask
                while grown[i] != 0 { i = (i &+ 1) & mask }
                grown[i] = slot
            }
            if onlySlot != 0 { place(onlySlot) }
            slots.withUnsafeBufferPointer { old in
                for slot in old where slot != 0 { place(slot) }
            }
        }
        onlySlot = 0
        slots = grown
    }

    /// The keys in full form (escapes with their register value), ascending by the
    /// 28-bit key: the order of the serialized form and of unions.
    var sortedKeys: [UInt64] { withSortedKeys { Array($0) } }

    /// Calls `body` with ``sortedKeys`` in temporary storage (no array allocated: a
    /// snapshot serializes two exact sets a series, most of them of a few keys).
    func withSortedKeys<R>(_ body: (UnsafeBufferPointer<UInt64>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * Swift.max(count, 1)) { narrowAndSpare in
            // The 28-bit keys sorted as 32-bit ones (radix passes past 32 keys), then widened.
            var n = 0
            if onlySlot != 0 {
                narrowAndSpare[0] = onlySlot & ~Self.used
                n = 1
            }
            for slot in slots where slot != 0 {
                narrowAndSpare[n] = slot & ~Self.used
                n += 1
            }
            let narrow = UnsafeMutableBufferPointer(rebasing: narrowAndSpare[0..<n])
            RadixSort.sort(narrow, temporary: UnsafeMutableBufferPointer(rebasing: narrowAndSpare[n..<(2 * n)]))
            return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Swift.max(n, 1)) { keys in
                for i in 0..<n {
                    let key = UInt64(narrow[i])
                    keys[i] = escapes.isEmpty ? key : escapes.first(where: { $0 & Self.keyMask == key }) ?? key
                }
                return body(UnsafeBufferPointer(rebasing: keys[0..<n]))
            }
        }
    }

    /// Calls `body` with every key in full form (escapes with their register value), in
    /// slot order: for folding into registers, where order does not matter and sorting would.
    func forEachKey(_ body: (UInt64) -> Void) {
        if onlySlot != 0 { body(UInt64(onlySlot & ~Self.used)) }  // never an escape
        for slot in slots where slot != 0 {
            let key = UInt64(slot & ~Self.used)
            if !escapes.isEmpty, let escape = escapes.first(where: { $0 & Self.keyMask == key }) { body(escape) } else { body(key) }
        }
    }

    /// Equal when they hold the same keys and escape values (slot order aside).
    @usableFromInline static func == (a: HyperLogLogExactSet, b: HyperLogLogExactSet) -> Bool {
        a.count == b.count && a.sortedKeys == b.sortedKeys
    }
}
