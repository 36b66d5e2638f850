/// The `number` of snapshot version 2 (SNAPSHOT.md, "Conventions"): a finite `Double` in
/// one varint when it is an integer of magnitude ≤ 2^53 (zigzag, shifted left once: even
/// varints), else the varint 1 followed by the binary64, little-endian (nine bytes).
/// Counts, token sums and microsecond latencies are integers, so most numbers take 1–4
/// bytes.
public enum CompactNumber {
    /// The varint that starts `value`: even for the integer form, ``escape`` when the
    /// binary64 follows.
    public static func prefix(of value: Double) -> UInt64 {
        guard value.rounded(.towardZero) == value, abs(value) <= 9_007_199_254_740_992.0,  // 2^53
              !(value == 0 && value.sign == .minus) else { return escape }
        let i = Int64(value)
        return UInt64(bitPattern: (i << 1) ^ (i >> 63)) << 1
    }

    /// The prefix announcing eight bytes of binary64.
    public static let escape: UInt64 = 1

    /// The value of an integer-form prefix; nil when the prefix is odd (1 is ``escape``,
    /// the others are invalid) or its integer is beyond ±2^53.
    public static func integer(prefix: UInt64) -> Double? {
        guard prefix & 1 == 0 else { return nil }
        let zigzag = prefix >> 1
        guard zigzag <= 1 << 54 else { return nil }
        return Double(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
    }

    /// Appends `value` (finite) to `bytes`.
    public static func append(_ value: Double, to bytes: inout [UInt8]) {
        var v = prefix(of: value)
        let escaped = v == escape
        while v >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
        if escaped {
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
    }
}

extension ByteReader {
    /// A ``CompactNumber``: finite, else `SketchError.invalidField`.
    mutating func number(_ field: String) throws(SketchError) -> Double {
        let prefix = try varint(field)
        if prefix == CompactNumber.escape {
            let value = try f64(field)
            guard value.isFinite else { throw .invalidField(field: field, detail: "not finite") }
            return value
        }
        guard let value = CompactNumber.integer(prefix: prefix) else {
            throw .invalidField(field: field, detail: "number prefix \(prefix) neither an integer ≤ 2^53 nor the escape 1")
        }
        return value
    }
}
