/// A log-linear histogram: the cheap per-value front end of a per-series distribution
/// (``HistogramFrontEnd``), turned into a t-digest when its window seals.
///
/// **Buckets.** 128 buckets per power of two (HdrHistogram's log-linear layout, Tene; the
/// index comes from the value's bits with no logarithm). A bucket spans at most 1/128 of
/// its lower bound (0.78 %). Two index spaces, one per histogram (``Mapping``):
/// - *integers*: values below 256 have a bucket each (exact), above that 128 buckets an
///   octave: index = 128·s + (v >> s) with s = max(0, ⌊log₂ v⌋ − 7);
/// - *positive floats*: the top 15 bits of the `Float`'s bit pattern below the sign (8
///   exponent bits, 7 mantissa bits), so subnormals sit far below 1.0; zero has a count of
///   its own.
///
/// **What a bucket holds**, in 4 bytes: its count (19 bits, at most 524,287 values a window;
/// a full bucket refuses more), whether its values differ (1 bit), and its first value as a
/// 12-bit position inside the bucket (a 2⁻¹⁹ relative step, finer than the snapshot's 2⁻¹⁷
/// rounding of centroid means). A bucket that saw one value (a run of tied values: integer
/// token counts, a capped length, a timeout) answers that value to that precision —
/// integers below 2¹⁹ exactly — and the t-digest built from it answers the run's value for
/// every rank inside it; a bucket of different values answers its middle, within 0.39 % of
/// each of them. (A running mean instead of the middle cost a division a value, ~115
/// instructions a frame over seven distributions, for no measured gain in accuracy.)
///
/// **Memory.** One dense block of buckets over the indexes seen so far, grown in 64-bucket
/// steps (half an octave, 256 bytes) and never wider than ``maxBuckets`` (10 octaves,
/// 5 KiB). Growth spends a caller's byte allowance; a value whose bucket would need more room
/// than the allowance or the width bound gives is refused
/// (``insert(integer:allowance:)`` returns false) and the caller keeps it elsewhere. The block is
/// freed by ``release()``: the histogram is a plain value holding a pointer, owned by
/// exactly one aggregate.
public struct LogLinearHistogram {
    /// Which values a histogram takes: `UInt32` counts and durations, or positive `Float`s.
    public enum Mapping: UInt8, Sendable { case integer, float }

    @usableFromInline static let offsetBits: UInt32 = 12
    @usableFromInline static let offsetMask: UInt32 = (1 << 12) - 1
    @usableFromInline static let mixedBit: UInt32 = 1 << 12
    @usableFromInline static let countShift: UInt32 = 13
    /// Values a bucket holds at most.
    public static let maxBucketCount = Int(UInt32.max >> 13)
    /// A count of one, in a bucket's bits; and the lowest bits of a full bucket
    /// (``maxBucketCount`` << 13, written out: a literal is a constant, a computed static a
    /// lazily initialized global read through an accessor at every use).
    @usableFromInline static let countOne: UInt32 = 1 << 13
    @usableFromInline static let fullSlot: UInt32 = 0xFFFF_E000
    /// Widest block, in buckets: 10 octaves, 5,120 bytes (a jemalloc size class).
    public static let maxBuckets = 1_280
    /// Growth step and alignment, in buckets.
    public static let growthStep = 64

    @usableFromInline var buckets: UnsafeMutablePointer<UInt32>?
    /// Index of `buckets[0]`, and buckets in the block (32 bits each: the struct stays small,
    /// as seven of them sit in every busy series).
    @usableFromInline var lowIndex: Int32 = 0
    @usableFromInline var blockWidth: Int32 = 0
    @inlinable var low: Int { Int(lowIndex) }
    @inlinable var width: Int { Int(blockWidth) }
    public let mapping: Mapping
    /// Values equal to zero (float index space; the integer one buckets 0 like any value).
    @usableFromInline var zeros: UInt64 = 0

    /// Exact sum, min and max of the values held. (Their count is the buckets' and
    /// ``zeros``': ``count``.)
    @usableFromInline
    struct Exact {
        @usableFromInline var sum: Double = 0
        @usableFromInline var min: Double = .infinity
        @usableFromInline var max: Double = -.infinity
        @usableFromInline init() {}
    }
    @usableFromInline var stats = Exact()
    /// Buckets holding values: a bound on those ``forEachBucket(_:)`` calls back with
    /// (one more at a bucket's first value; no count a value).
    @usableFromInline var occupied: Int32 = 0
    /// Values held: the buckets' counts and ``zeros``, added up (O(width): for a seal or a
    /// test, not a value's path).
    public var count: UInt64 {
        var total = zeros
        for i in 0..<width { total &+= UInt64(buckets.unsafelyUnwrapped[i] >> LogLinearHistogram.countShift) }
        return total
    }
    /// Whether the histogram holds no value.
    @inlinable public var isEmpty: Bool { occupied == 0 && zeros == 0 }
    /// Their exact sum, min and max (±∞ while empty).
    @inlinable public var sum: Double { stats.sum }
    @inlinable public var min: Double { stats.min }
    @inlinable public var max: Double { stats.max }

    public init(mapping: Mapping) { self.mapping = mapping }

    /// Bytes of the bucket block.
    @inlinable public var allocatedBytes: Int { width &* MemoryLayout<UInt32>.stride }

    /// Adds a count or duration (integer mapping). Returns false, changing nothing, when its
    /// bucket is full, or outside the block and growing to it would pass ``maxBuckets`` or cost
    /// more than `allowance` has (which then says it is ``HistogramAllowance/wanted``);
    /// growth spends its bytes from `allowance`.
    @inlinable @inline(__always)
    public mutating func insert(integer v: UInt32, allowance: inout HistogramAllowance) -> Bool {
        // From 256 on, the index and the position come from the value's binary64 bits (exact:
        // every UInt32 is a Double), as a float's do: with e = ⌊log₂ v⌋, the exponent field is
        // 1,023 + e and the mantissa's top 7 bits are (v >> s) − 128, so bits >> 45 less
        // 131,712 is 128·(e − 6) + (v >> s) − 128 = 128·s + (v >> s); the next 12 bits are v's
        // bits below those, the top 12 of them (``offsetBits``) when there are more. ~10
        // instructions, where the shifts by s took ~23.
        let exact = Double(v)
        let bits = exact.bitPattern
        let small = v < 256
        let index = small ? Int(v) : Int(truncatingIfNeeded: bits &>> 45) &- 131_712
        let offset = small ? 0 : UInt32(truncatingIfNeeded: bits &>> 33) & LogLinearHistogram.offsetMask
        guard add(index: index, offset: offset, allowance: &allowance) else { return false }
        record(exact)
        return true
    }

    /// Adds a positive, finite, non-zero value (float mapping); false as for integers.
    @inlinable @inline(__always)
    public mutating func insert(positive v: Float, exactly exact: Double, allowance: inout HistogramAllowance) -> Bool {
        let bits = v.bitPattern
        guard add(index: Int(bits &>> 16), offset: (bits &>> 4) & LogLinearHistogram.offsetMask,
                  allowance: &allowance) else { return false }
        record(exact)
        return true
    }

    /// Adds a zero (float mapping).
    @inlinable
    public mutating func insertZero() {
        zeros &+= 1
        record(0)
    }

    /// One value at bucket `index`, `offset` (0 … 4,095) inside it.
    @inlinable @inline(__always)
    mutating func add(index: Int, offset: UInt32, allowance: inout HistogramAllowance) -> Bool {
        var position = index &- low
        if UInt(bitPattern: position) >= UInt(bitPattern: width) {
            guard grow(toInclude: index, allowance: &allowance) else { return false }
            position = index &- low
        }
        let bucket = buckets.unsafelyUnwrapped + position
        let slot = bucket.pointee
        // An empty bucket is 0 (blocks are zeroed): it takes the value's position. A full
        // one (count at its 19-bit maximum) refuses it.
        if slot == 0 {
            bucket.pointee = LogLinearHistogram.countOne | offset
            occupied &+= 1
            return true
        }
        if slot >= LogLinearHistogram.fullSlot { return false }
        // Otherwise one more, and a position other than the first value's marks it mixed: the
        // positions' difference d = (slot ^ offset) & 0xFFF is at most 0xFFF, so d + 0xFFF
        // reaches the mixed bit (bit 12) exactly when d ≠ 0. ~6 instructions; a select on
        // d ≠ 0 took ~9, computing both cases' parts and selecting ~15.
        let differs = (((slot ^ offset) & LogLinearHistogram.offsetMask) &+ LogLinearHistogram.offsetMask)
            & LogLinearHistogram.mixedBit
        bucket.pointee = (slot &+ LogLinearHistogram.countOne) | differs
        return true
    }

    /// Counts `exact` in the exact statistics.
    @inlinable @inline(__always)
    mutating func record(_ exact: Double) {
        stats.sum += exact
        if exact < stats.min { stats.min = exact }
        if exact > stats.max { stats.max = exact }
    }

    /// Widens the block to hold `index`, in ``growthStep`` steps, if the width bound and
    /// `allowance` allow it.
    @usableFromInline @inline(never)
    mutating func grow(toInclude index: Int, allowance: inout HistogramAllowance) -> Bool {
        let step = LogLinearHistogram.growthStep
        let aligned = index & ~(step - 1)
        var newLow = aligned, newHigh = aligned + step
        if width > 0 {
            newLow = Swift.min(low, aligned)
            newHigh = Swift.max(low + width, aligned + step)
        }
        let newWidth = newHigh - newLow
        let cost = (newWidth - width) * MemoryLayout<UInt32>.stride
        guard newWidth <= LogLinearHistogram.maxBuckets else { return false }
        guard cost <= allowance.bytes else {
            allowance.wanted = true
            return false
        }
        let block = SystemHeap.allocate(UInt32.self, capacity: newWidth)
        block.initialize(repeating: 0, count: newWidth)
        if let buckets {
            (block + (low - newLow)).update(from: buckets, count: width)
            SystemHeap.free(buckets)
        }
        buckets = block
        lowIndex = Int32(newLow)
        blockWidth = Int32(newWidth)
        allowance.bytes -= cost
        return true
    }

    /// Frees the block; the histogram is empty and may be used again.
    public mutating func release() {
        if let buckets { SystemHeap.free(buckets) }
        buckets = nil
        blockWidth = 0
        lowIndex = 0
        zeros = 0
        occupied = 0
        stats = Exact()
    }

    /// The value at `offset` inside bucket `index`.
    func value(index: Int, offset: UInt32) -> Double {
        switch mapping {
        case .float:
            return Double(Float(bitPattern: UInt32(index) << 16 | offset << 4))
        case .integer:
            // The inverse of ``insert(integer:allowance:)``'s bits.
            guard index >= 256 else { return Double(index) }
            return Double(bitPattern: UInt64(index + 131_712) << 45 | UInt64(offset) << 33)
        }
    }

    /// The middle of bucket `index`, as a 12-bit position in it.
    func middle(index: Int) -> UInt32 {
        switch mapping {
        case .float: return 1 << (LogLinearHistogram.offsetBits - 1)
        case .integer: return index >= 256 ? 1 << (LogLinearHistogram.offsetBits - 1) : 0
        }
    }

    /// Calls `body` with each non-empty bucket in ascending order of value: the value it
    /// answers (its values' if they were all equal, else its middle: within 0.39 % of each),
    /// its count, and whether all its values were equal. Zeros come first, as one bucket of
    /// equal values (in parts of at most 2³¹ − 1).
    public func forEachBucket(_ body: (_ mean: Double, _ count: UInt32, _ tied: Bool) -> Void) {
        var left = zeros
        while left > 0 {
            let part = Swift.min(left, UInt64(Int32.max))
            body(0, UInt32(part), true)
            left -= part
        }
        guard let buckets else { return }
        // Most of a block is empty buckets, whose slots are 0: eight of them are skipped with
        // four 64-bit loads (the width is a multiple of ``growthStep``, so of 8). Slot by slot,
        // the scan was ~4,800 of a busy digest's ~25,000 instructions at seal.
        assert(width % 8 == 0, "block width \(width)")
        var group = 0
        while group < width {
            let words = UnsafeRawPointer(buckets + group)
            // Unaligned loads: the block is allocated as `UInt32`s, which promises 4-byte alignment only.
            let any = words.loadUnaligned(as: UInt64.self) | words.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                | words.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                | words.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            if any != 0 {
                for i in group..<(group + 8) {
                    let slot = buckets[i]
                    let n = slot >> LogLinearHistogram.countShift
                    if n != 0 {
                        let tied = slot & LogLinearHistogram.mixedBit == 0
                        let offset = tied ? slot & LogLinearHistogram.offsetMask : middle(index: low + i)
                        body(value(index: low + i, offset: offset), n, tied)
                    }
                }
            }
            group += 8
        }
    }
}
