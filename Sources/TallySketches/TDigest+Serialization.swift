/// The compact binary form of a t-digest, version 1 (little-endian):
///
/// | field | encoding |
/// |---|---|
/// | version | u8 = 1 |
/// | scale | u8: 1 k1, 2 k2, 3 k3 |
/// | compression | u16, 10 … 10,000 |
/// | count | varint: values inserted = sum of the centroid weights |
/// | rejected | varint: NaN/∞ refused |
/// | value | f64, only when count = 1 (then nothing follows: min = max = sum = value) |
/// | min, max, sum | f64 each (only when count > 1) |
/// | centroids | varint K, 1 … count |
/// | means | K varints: the first key, then K−1 non-negative deltas between keys |
/// | weights | K zigzag varints: each weight minus the previous one (the first minus 0); weights ≥ 1 |
///
/// A mean's key is its order-preserving 64-bit image (sign bit flipped for positive
/// values, all bits flipped for negative ones) rounded to ``meanKeyBits`` bits, i.e.
/// a relative precision of 2⁻¹⁷ (about 8e-6). Keys of sorted means never decrease, so the deltas are
/// small. Weights are exact integers, 1 … 2³² − 1. The buffer is merged before writing.
extension TDigest {
    /// Significant bits kept of each mean's 64-bit key (sign + 11 exponent + 16 mantissa).
    public static let meanKeyBits = 28
    static let formatVersion: UInt8 = 1

    /// Serializes the digest (merging its buffer first, on a copy).
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        serialize(appendingTo: &bytes)
        return bytes
    }

    /// ``serialized()``'s bytes appended to `bytes` (no array of its own: a snapshot's
    /// encoder reuses one buffer for every sketch).
    public func serialize(appendingTo bytes: inout [UInt8]) {
        var writer = ByteWriter()
        swap(&writer.bytes, &bytes)
        defer { swap(&writer.bytes, &bytes) }
        var digest = self
        digest.compress()
        writer.u8(TDigest.formatVersion)
        writer.u8(scale.rawValue)
        writer.u16(UInt16(compression))
        writer.varint(count)
        writer.varint(rejected)
        guard count > 0 else { return }
        if count == 1 {
            writer.f64(min)
            return
        }
        writer.f64(min)
        writer.f64(max)
        writer.f64(sum)
        writer.varint(UInt64(digest.centroids.count))
        var previous: UInt64 = 0
        for (i, centroid) in digest.centroids.enumerated() {
            let key = TDigest.meanKey(Double(centroid.mean))
            writer.varint(i == 0 ? key : key &- previous)
            previous = key
        }
        var previousWeight: Int64 = 0
        for centroid in digest.centroids {
            let w = Int64(centroid.weight)
            writer.varint(TDigest.zigzag(w - previousWeight))
            previousWeight = w
        }
        return
    }

    /// Reads a digest written by ``serialized()``, validating every field.
    /// - Throws: ``SketchError`` naming the first fault; never traps on bad bytes.
    public init(serialized bytes: [UInt8]) throws(SketchError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(SketchError) in try TDigest.read(raw) } }
        self = try result.get()
    }

    static func read(_ raw: UnsafeRawBufferPointer) throws(SketchError) -> TDigest {
        var reader = ByteReader(raw)
        let version = try reader.u8("version")
        guard version == formatVersion else { throw .unsupportedVersion(version) }
        let scaleByte = try reader.u8("scale")
        guard let scale = TDigestScale(rawValue: scaleByte) else {
            throw .invalidField(field: "scale", detail: "\(scaleByte)")
        }
        let compression = Int(try reader.u16("compression"))
        guard compression >= 10 && compression <= 10_000 else {
            throw .invalidField(field: "compression", detail: "\(compression) not in 10…10000")
        }
        var digest = TDigest(compression: compression, scale: scale)
        digest.stats.count = try reader.varint("count")
        digest.stats.rejected = try reader.varint("rejected")
        guard digest.count > 0 else {
            try reader.expectEnd()
            return digest
        }
        if digest.stats.count == 1 {
            let value = try reader.f64("value")
            guard value.isFinite else { throw .invalidField(field: "value", detail: "not finite") }
            digest.stats.min = value
            digest.stats.max = value
            digest.stats.sum = value
            digest.centroids = [Centroid(mean: value, weight: 1)]
            try reader.expectEnd()
            return digest
        }
        digest.stats.min = try reader.f64("min")
        digest.stats.max = try reader.f64("max")
        digest.stats.sum = try reader.f64("sum")
        guard digest.min.isFinite, digest.max.isFinite, digest.sum.isFinite, digest.min <= digest.max else {
            throw .invalidField(field: "min/max/sum", detail: "not finite or min > max")
        }
        let centroids = try reader.varint("centroid count")
        guard centroids >= 1, centroids <= digest.count, centroids <= UInt64(reader.remaining) else {
            throw .invalidField(field: "centroid count", detail: "\(centroids) for count \(digest.count)")
        }
        var means: [Double] = []
        means.reserveCapacity(Int(centroids))
        var key: UInt64 = 0
        for i in 0..<Int(centroids) {
            let delta = try reader.varint("mean[\(i)]")
            if i == 0 {
                key = delta
            } else {
                let (next, overflow) = key.addingReportingOverflow(delta)
                guard !overflow else { throw .invalidField(field: "mean[\(i)]", detail: "key overflow") }
                key = next
            }
            guard key >> UInt64(meanKeyBits) == 0 else {
                throw .invalidField(field: "mean[\(i)]", detail: "key wider than \(meanKeyBits) bits")
            }
            let mean = TDigest.mean(fromKey: key)
            guard mean.isFinite else { throw .invalidField(field: "mean[\(i)]", detail: "not finite") }
            // Rounded keys may step just outside [min, max]; the exact bounds win.
            means.append(Swift.min(Swift.max(mean, digest.min), digest.max))
        }
        var total: UInt64 = 0
        var previousWeight: Int64 = 0
        for i in 0..<Int(centroids) {
            let (w, wrapped) = previousWeight.addingReportingOverflow(TDigest.unzigzag(try reader.varint("weight[\(i)]")))
            guard !wrapped, w >= 1, Double(w) <= TDigest.maxCentroidWeight else {
                throw .invalidField(field: "weight[\(i)]", detail: "\(w) not in 1 … 2^32 − 1")
            }
            previousWeight = w
            let weight = UInt64(w)
            let (sum, overflow) = total.addingReportingOverflow(weight)
            guard !overflow, sum <= digest.count else {
                throw .invalidField(field: "weight[\(i)]", detail: "\(weight)")
            }
            total = sum
            digest.centroids.append(Centroid(mean: means[i], weight: Double(weight)))
        }
        guard total == digest.count else {
            throw .invalidField(field: "weights", detail: "sum \(total) ≠ count \(digest.count)")
        }
        try reader.expectEnd()
        return digest
    }

    /// Zigzag: 0, −1, 1, −2, … → 0, 1, 2, 3, … so small differences of either sign are short varints.
    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    /// How ``meanKey(_:bits:rounding:)`` drops bits.
    enum KeyRounding { case nearest, up, down }

    /// `mean`'s order-preserving image rounded to its top `keyBits` bits (12 … 28): to the
    /// nearest key, or to the key at or above (`up`) or at or below (`down`) it.
    static func meanKey(_ mean: Double, bits keyBits: Int = meanKeyBits, rounding: KeyRounding = .nearest) -> UInt64 {
        let ordered = orderedImage(mean)
        let drop = UInt64(64 - keyBits)
        let add: UInt64 = switch rounding {
        case .nearest: 1 << (drop - 1)
        case .up: (1 << drop) - 1
        case .down: 0
        }
        let (rounded, overflow) = ordered.addingReportingOverflow(add)
        return (overflow ? ordered : rounded) >> drop
    }

    /// `mean`'s bit pattern mapped so that unsigned order is numeric order (sign bit flipped
    /// for non-negative values, every bit for negative ones).
    @inline(__always)
    static func orderedImage(_ mean: Double) -> UInt64 {
        let bits = mean.bitPattern
        return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
    }

    /// The value of a `keyBits`-bit key (``meanKey(_:bits:)`` reversed).
    static func mean(fromKey key: UInt64, bits keyBits: Int = meanKeyBits) -> Double {
        let ordered = key << UInt64(64 - keyBits)
        let bits = ordered >> 63 == 1 ? ordered & ~(1 << 63) : ~ordered
        return Double(bitPattern: bits)
    }
}
