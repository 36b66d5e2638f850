/// Why an OTLP request body could not be decoded. Every malformed input ends in one of
/// these (never a trap); the HTTP endpoint answers 400 with ``message`` and counts
/// ``reason``.
public struct OTLPDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable, counter-friendly reason (`truncated`, `bad_wire_type`, …; OTLP.md, "Errors").
    public enum Reason: String, Sendable, CaseIterable {
        /// A varint, fixed field or length-delimited field runs past its message's end.
        case truncated
        /// A varint longer than 10 bytes.
        case badVarint = "bad_varint"
        /// A wire type that protobuf does not define (3, 4: groups; 6, 7), or a known
        /// field with the wrong wire type.
        case badWireType = "bad_wire_type"
        /// Field number 0.
        case badFieldNumber = "bad_field_number"
        /// Messages nested deeper than ``OTLPDecodeLimits/maxDepth``.
        case tooDeep = "too_deep"
        /// More spans, attributes or array elements than ``OTLPDecodeLimits`` allows.
        case overLimit = "over_limit"
        /// A string that is not valid UTF-8.
        case badString = "bad_string"
        /// JSON that does not parse, or a JSON value of the wrong type for its field.
        case badJSON = "bad_json"
    }

    public var reason: Reason
    /// What was wrong and where (the field), for the HTTP 400 body.
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// Bounds on what one request may hold; past them decoding fails with `over_limit` or
/// `too_deep` (no unbounded growth from hostile input).
public enum OTLPDecodeLimits {
    /// Deepest nesting of messages (request → resource spans → scope spans → span →
    /// key-value → any-value → array → any-value …), counting the request as 1.
    public static let maxDepth = 16
    /// Spans in one request.
    public static let maxSpans = 100_000
    /// Attributes of one span or one resource.
    public static let maxAttributes = 1_024
    /// Elements of one array value.
    public static let maxArrayValues = 1_024
}
