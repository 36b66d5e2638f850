/// Why a batch (or, when encoding, a frame) was rejected. Stable raw values and
/// names, so that collectors can keep one counter per reason.
public enum WireRejectReason: UInt8, CaseIterable, Sendable {
    /// Fewer bytes than the header, a frame or the string table needs.
    case truncated = 0
    /// The first four bytes are not "TLYB".
    case badMagic
    /// A version this decoder does not read.
    case unsupportedVersion
    /// Header flag bits this decoder does not know.
    case unsupportedFlags
    /// Header or fixed-frame length below v1's or above the extensible limit.
    case badLayout
    /// The declared batch length differs from the message length, or the frames do
    /// not end exactly where the string table starts.
    case lengthMismatch
    /// More bytes, frames or strings than the limits allow.
    case overLimit
    /// An empty, over-long or non-UTF-8 string.
    case badString
    /// A string reference at or past the string count (or "none" where required).
    case stringReferenceOutOfRange
    /// A field holds a value outside its allowed range (see FORMAT.md).
    case valueOutOfRange
    /// More than 8 tags on a frame.
    case tooManyTags
    /// Two tags of one frame share a key.
    case duplicateTagKey
    /// A reserved byte or bit is not zero.
    case reservedBitsSet
    /// Bytes after the string table.
    case trailingBytes

    /// Stable snake-case name, for counters and logs.
    public var name: String {
        switch self {
        case .truncated: "truncated"
        case .badMagic: "bad_magic"
        case .unsupportedVersion: "unsupported_version"
        case .unsupportedFlags: "unsupported_flags"
        case .badLayout: "bad_layout"
        case .lengthMismatch: "length_mismatch"
        case .overLimit: "over_limit"
        case .badString: "bad_string"
        case .stringReferenceOutOfRange: "string_ref_out_of_range"
        case .valueOutOfRange: "value_out_of_range"
        case .tooManyTags: "too_many_tags"
        case .duplicateTagKey: "duplicate_tag_key"
        case .reservedBitsSet: "reserved_bits_set"
        case .trailingBytes: "trailing_bytes"
        }
    }
}

/// A rejected batch or frame: the reason, where it was found and what was there.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: WireRejectReason
    /// Byte offset in the batch where the problem was found.
    public let offset: Int
    /// Index of the frame at fault, when one is.
    public let frame: Int?
    /// The field at fault, named as in FORMAT.md (e.g. "status", "tag[2].key").
    public let field: String
    /// The offending value, when there is one (a length, a count, a reference).
    public let value: UInt64

    public init(_ reason: WireRejectReason, offset: Int = 0, frame: Int? = nil, field: String = "", value: UInt64 = 0) {
        self.reason = reason
        self.offset = offset
        self.frame = frame
        self.field = field
        self.value = value
    }

    public var description: String {
        var text = "\(reason.name) at byte \(offset)"
        if let frame { text += ", frame \(frame)" }
        if !field.isEmpty { text += ", field \(field)" }
        return text + ", value \(value)"
    }
}
