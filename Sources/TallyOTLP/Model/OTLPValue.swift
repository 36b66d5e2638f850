/// An attribute value (OTLP `common.v1.AnyValue`). Key-value lists and bytes are kept
/// only as markers: no GenAI attribute the mapping reads has those types.
public enum OTLPValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case array([OTLPValue])
    /// A `kvlist_value` or `bytes_value` (contents not kept), or an AnyValue with no value set.
    case unsupported

    /// The value as tag or dimension text: strings as they are, numbers and booleans
    /// in their usual spelling; nil for arrays and unsupported values.
    public var text: String? {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .array, .unsupported: return nil
        }
    }
}

/// One attribute (OTLP `common.v1.KeyValue`).
public struct OTLPAttribute: Sendable, Equatable {
    public var key: String
    public var value: OTLPValue
    public init(_ key: String, _ value: OTLPValue) {
        self.key = key
        self.value = value
    }
}
