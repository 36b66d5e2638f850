/// Little-endian and LEB128 varint writing for sketch serialization.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func f64(_ value: Double) {
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    /// Unsigned LEB128: 7 bits a byte, low groups first, high bit set on all but the last.
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}

/// Bounds-checked reading of the same encodings; every read names its field in
/// the error when the bytes run out or are malformed.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func u8(_ field: String) throws(SketchError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(field: field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(_ field: String) throws(SketchError) -> UInt16 {
        let low = try u8(field), high = try u8(field)
        return UInt16(low) | UInt16(high) << 8
    }

    mutating func f64(_ field: String) throws(SketchError) -> Double {
        guard remaining >= 8 else { throw .truncated(field: field) }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
        offset += 8
        return Double(bitPattern: bits)
    }

    mutating func varint(_ field: String) throws(SketchError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8(field)
            guard shift < 64, shift < 63 || byte <= 1 else {
                throw .invalidField(field: field, detail: "varint longer than 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    func expectEnd() throws(SketchError) {
        guard remaining == 0 else { throw .trailingBytes(remaining) }
    }
}
