/// A HyperLogLog distinct counter (Flajolet et al. 2007) with the improvements
/// that matter for per-cohort user counts:
///
/// - **Exact while small.** Up to ``exactLimit`` distinct values (m/16: 1,024 at p = 14)
///   it keeps the values' 28-bit hash keys themselves, so the count is exact (barring
///   a key collision, about 2⁻²⁸·n²/2) and is stored in under 3 bytes a value.
/// - **Dense registers** after that, updated as postgresql-hll does (citusdata
///   STORAGE.markdown): for hash h, register `h & (m−1)` takes the maximum of
///   its value and `tz(h >> p) + 1`, so a sketch converts losslessly to that format.
/// - **Estimators without empirical tables.** A single stream is estimated with the
///   martingale (HIP) estimator (Ting 2014, "Streamed approximate counting of distinct
///   elements"; Cohen 2015), standard error ≈ 0.83/√m; it continues from the exact count,
///   so there is no jump at the transition. A union has no stream history and uses
///   Ertl's improved raw estimator (Ertl 2017, "New cardinality estimation algorithms
///   for HyperLogLog sketches", algorithm 6), ≈ 1.04/√m, unbiased across the range.
///
/// Values are 64-bit hashes (e.g. ``IdentifierHash`` of a user id, or
/// ``HyperLogLog/hash(_:)`` of bytes); each is re-mixed with MurmurHash3's 64-bit
/// finaliser (Appleby), a bijection, so even sequential ids spread evenly.
public struct HyperLogLog: Sendable {
    /// p: registers m = 2^p, 4 … 18.
    public let precision: Int
    /// Exact mode: the distinct keys `h & (2^28 − 1)`, with `rho << 32` when bits
    /// p…27 of h are all zero (an "escape": the register value is not implied by the
    /// key). Empty in dense mode.
    @usableFromInline var exact = HyperLogLogExactSet()
    /// Dense mode: one six-bit register per index (``HyperLogLogRegisters``). Empty in exact mode.
    @usableFromInline var registers = HyperLogLogRegisters()
    /// The martingale estimate; meaningful while ``hipValid``.
    @usableFromInline var hipEstimate: Double = 0
    /// Σ 2^(−register) over all registers: m × the chance that a new value changes one.
    @usableFromInline var changeMass: Double = 0
    /// False once the sketch is a union (the martingale needs one stream's history).
    @usableFromInline var hipValid = true

    public static let defaultPrecision = 14
    /// Bits of each value's hash kept in exact mode.
    public static let keyBits = 28
    @usableFromInline static let keyMask: UInt64 = (1 << UInt64(keyBits)) - 1

    /// - Parameter precision: p, clamped to 4 … 18 (m = 2^p registers; error ≈ 1/√m).
    public init(precision: Int = HyperLogLog.defaultPrecision) {
        self.precision = Swift.min(Swift.max(precision, 4), 18)
    }

    /// m, the number of registers.
    public var registerCount: Int { 1 << precision }
    /// Distinct values kept exactly before switching to registers (m/16: 1,024 at
    /// p = 14, where the exact form, about 2.5 KB, stops being smaller than registers).
    public var exactLimit: Int { registerCount / 16 }
    /// The largest register value: 64 − p + 1 (all of h's upper bits zero).
    @usableFromInline var maxRegister: UInt8 { UInt8(64 - precision + 1) }

    /// Whether the sketch still counts exactly.
    public var isExact: Bool { registers.isEmpty }
    /// Whether nothing was added (exact, with no key).
    public var isEmpty: Bool { registers.isEmpty && exact.count == 0 }

    /// MurmurHash3's fmix64 finaliser: a bijection on 64 bits with full avalanche.
    @inlinable @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// The register value of mixed hash `h`: trailing zeros of h >> p, plus one
    /// (64 − p + 1 when they are all zero).
    @inlinable @inline(__always)
    func rho(_ h: UInt64) -> UInt8 {
        let w = h >> UInt64(precision)
        return w == 0 ? maxRegister : UInt8(truncatingIfNeeded: w.trailingZeroBitCount + 1)
    }

    /// Adds a value given as a 64-bit hash.
    @inlinable
    public mutating func insert(_ value: UInt64) {
        let h = HyperLogLog.mix(value)
        if registers.isEmpty {
            // A key held already changes nothing, unless it is an escape (bits p … 27 all
            // zero), whose register value may grow: that one takes the full path.
            let key = h & HyperLogLog.keyMask
            // The precision is 4 … 18 (``init(precision:)``): an unchecked shift.
            if key &>> UInt64(truncatingIfNeeded: precision) != 0 && exact.contains(UInt32(truncatingIfNeeded: key)) {
                return
            }
            return insertExact(h)
        }
        let index = Int(truncatingIfNeeded: h) & (registerCount - 1)
        let r = rho(h)
        let old = registers[index]
        if r > old { raise(index, from: old, to: r) }
    }

    /// Inserts `values` in order: the same sketch as ``insert(_:)`` of each. In exact mode
    /// with room for them all (``reserveExact(_:)``, and within the exact limit), one probe a
    /// value; otherwise one by one.
    public mutating func insert(contentsOf values: UnsafeBufferPointer<UInt64>) {
        guard registers.isEmpty, exact.hasRoom(for: values.count, limit: exactLimit) else {
            for value in values { insert(value) }
            return
        }
        // ``exactKey(_:)`` and ``rho(_:)`` from locals: the closure runs while `exact` is
        // being changed, so it may not read `self`.
        let p = UInt64(truncatingIfNeeded: precision), top = maxRegister
        exact.insertAllWithRoom(count: values.count) { i in
            let h = HyperLogLog.mix(values[i])
            let key = h & HyperLogLog.keyMask
            guard key &>> p == 0 else { return key }
            let w = h &>> p
            return key | UInt64(w == 0 ? top : UInt8(truncatingIfNeeded: w.trailingZeroBitCount &+ 1)) << 32
        }
    }

    /// Room for up to `n` distinct values in exact mode in one allocation, for an empty
    /// sketch about to take `n` values (a series built when its window seals), instead of
    /// growing its exact set as they come; at most ``exactLimit`` keys' worth. Changes no
    /// estimate; nothing for a sketch that holds values.
    public mutating func reserveExact(_ n: Int) {
        guard registers.isEmpty, exact.count == 0 else { return }
        exact.reserve(Swift.min(n, exactLimit))
    }

    /// A register grows: the martingale adds 1 / P(change) before the change.
    @usableFromInline
    mutating func raise(_ index: Int, from old: UInt8, to r: UInt8) {
        if hipValid {
            hipEstimate += Double(registerCount) / changeMass
            changeMass += HyperLogLog.inversePowerOfTwo(r) - HyperLogLog.inversePowerOfTwo(old)
        }
        registers[index] = r
    }

    @inlinable @inline(__always)
    static func inversePowerOfTwo(_ r: UInt8) -> Double {
        Double(sign: .plus, exponent: -Int(r), significand: 1)
    }

    /// The exact-mode key of mixed hash `h`.
    @inlinable @inline(__always)
    func exactKey(_ h: UInt64) -> UInt64 {
        let key = h & HyperLogLog.keyMask
        return key >> UInt64(precision) == 0 ? key | UInt64(rho(h)) << 32 : key
    }

    @usableFromInline
    mutating func insertExact(_ h: UInt64) {
        let key = exactKey(h)
        exact.insert(key, isEscape: key >> 32 != 0, growingUpTo: exactLimit)
        if exact.count > exactLimit { convertToDense() }
    }

    /// The exact keys in full form, ascending by their low 28 bits (serialization,
    /// unions, tests); setting replaces them.
    var keys: [UInt64] {
        get { exact.sortedKeys }
        set { exact = HyperLogLogExactSet(keys: newValue) }
    }

    /// Registers from exact keys; the martingale starts from the exact count.
    @usableFromInline
    mutating func convertToDense() {
        var dense = HyperLogLogRegisters(zeros: registerCount)
        HyperLogLog.foldExactKeys(of: self, into: &dense)
        registers = dense
        hipEstimate = Double(exact.count)
        exact = HyperLogLogExactSet()
        recomputeChangeMass()
    }

    /// Raises `target`'s registers by every exact key of `sketch` (same precision), in
    /// place: what converting `sketch` to registers and taking the maximum would give,
    /// without building its registers.
    static func foldExactKeys(of sketch: HyperLogLog, into target: inout HyperLogLogRegisters) {
        let mask = sketch.registerCount - 1, p = UInt64(sketch.precision)
        sketch.exact.forEachKey { key in
            let index = Int(truncatingIfNeeded: key) & mask
            let r = register(ofKey: key, precision: p)
            if r > target[index] { target[index] = r }
        }
    }

    /// The register value an exact key implies: its escape's value, or trailing zeros of
    /// key bits p … 27, plus one.
    @inline(__always)
    static func register(ofKey key: UInt64, precision p: UInt64) -> UInt8 {
        let escape = key >> 32
        return escape != 0 ? UInt8(truncatingIfNeeded: escape)
            : UInt8(truncatingIfNeeded: ((key & HyperLogLog.keyMask) >> p).trailingZeroBitCount + 1)
    }

    @usableFromInline
    mutating func recomputeChangeMass() {
        changeMass = registers.reduce(0) { $0 + HyperLogLog.inversePowerOfTwo($1) }
    }

    /// Ertl's estimate from the registers alone (the count while exact): what
    /// ``estimate`` returns for unions; for single streams it has the larger error.
    public var registerEstimate: Double {
        registers.isEmpty ? Double(exact.count) : HyperLogLog.ertlEstimate(registers, precision: precision)
    }

    /// The estimated number of distinct values.
    public var estimate: Double {
        if registers.isEmpty { return Double(exact.count) }
        return hipValid ? hipEstimate : HyperLogLog.ertlEstimate(registers, precision: precision)
    }

    /// A 64-bit hash of arbitrary bytes for ``insert(_:)``: FNV-1a 64 (the same as
    /// the wire format's identifier hash; re-mixed on insert).
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
