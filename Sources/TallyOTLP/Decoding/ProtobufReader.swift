/// A reader of the protobuf binary wire format over a byte slice: varints, fixed
/// 32/64-bit fields and length-delimited fields, with unknown fields skipped
/// (protobuf encoding guide, "Message Structure": tag = field_number << 3 | wire_type;
/// wire types 0 varint, 1 i64, 2 len, 5 i32; 3 and 4 are the deprecated groups).
///
/// Every read is bounds-checked and throws ``OTLPDecodeError`` on malformed input; it
/// never traps and never reads outside `bytes`.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int
    /// Nesting depth of the message this reader reads (the request is 1).
    let depth: Int

    init(_ bytes: UnsafeRawBufferPointer, depth: Int = 1) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
        self.depth = depth
    }

    private init(bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, depth: Int) {
        self.bytes = bytes
        offset = start
        self.end = end
        self.depth = depth
    }

    var isAtEnd: Bool { offset >= end }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws(OTLPDecodeError) -> (number: UInt64, type: WireType)? {
        guard !isAtEnd else { return nil }
        let tag = try readVarint()
        let number = tag >> 3
        guard number != 0 else { throw OTLPDecodeError(.badFieldNumber, "field number 0 at byte \(offset)") }
        guard let type = WireType(rawValue: UInt8(tag & 7)) else {
            throw OTLPDecodeError(.badWireType, "wire type \(tag & 7) of field \(number) at byte \(offset)")
        }
        return (number, type)
    }

    /// A base-128 varint of at most 10 bytes (bits past 64 are dropped, as protobuf does).
    mutating func readVarint() throws(OTLPDecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw OTLPDecodeError(.truncated, "varint runs past the end at byte \(offset)") }
            let byte = bytes[offset]
            offset += 1
            if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return result }
            shift += 7
            guard shift < 70 else { throw OTLPDecodeError(.badVarint, "varint longer than 10 bytes at byte \(offset)") }
        }
    }

    /// A little-endian fixed64 (`fixed64`, `sfixed64`, `double`).
    mutating func readFixed64() throws(OTLPDecodeError) -> UInt64 {
        guard end - offset >= 8 else { throw OTLPDecodeError(.truncated, "fixed64 runs past the end at byte \(offset)") }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return value
    }

    /// A little-endian fixed32.
    mutating func readFixed32() throws(OTLPDecodeError) -> UInt32 {
        guard end - offset >= 4 else { throw OTLPDecodeError(.truncated, "fixed32 runs past the end at byte \(offset)") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return value
    }

    /// The byte range of a length-delimited field's payload, which the reader skips.
    mutating func readLengthDelimited() throws(OTLPDecodeError) -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - offset) else {
            throw OTLPDecodeError(.truncated, "length \(length) runs past the end at byte \(offset)")
        }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    /// A reader of the embedded message in `range`, one level deeper.
    func message(_ range: Range<Int>, field: StaticString) throws(OTLPDecodeError) -> ProtobufReader {
        guard depth < OTLPDecodeLimits.maxDepth else {
            throw OTLPDecodeError(.tooDeep, "\(field): messages nested deeper than \(OTLPDecodeLimits.maxDepth)")
        }
        return ProtobufReader(bytes: bytes, from: range.lowerBound, to: range.upperBound, depth: depth + 1)
    }

    /// A length-delimited field read as UTF-8 text.
    mutating func readString(field: StaticString) throws(OTLPDecodeError) -> String {
        let range = try readLengthDelimited()
        let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw OTLPDecodeError(.badString, "\(field) is not valid UTF-8")
        }
        return text
    }

    /// Skips a field of `type` whose number the caller does not know.
    mutating func skip(_ type: WireType) throws(OTLPDecodeError) {
        switch type {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    /// Throws unless a known field arrived with the wire type its declaration gives.
    static func expect(_ type: WireType, _ wanted: WireType, field: StaticString) throws(OTLPDecodeError) {
        guard type == wanted else {
            throw OTLPDecodeError(.badWireType, "\(field): wire type \(type.rawValue), expected \(wanted.rawValue)")
        }
    }
}
