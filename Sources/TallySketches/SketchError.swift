/// Why serialized sketch bytes, or a merge, were refused.
public enum SketchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes end before a field does.
    case truncated(field: String)
    /// An unknown format version or kind byte.
    case unsupportedVersion(UInt8)
    /// A field holds a value outside its allowed range.
    case invalidField(field: String, detail: String)
    /// Bytes after the end of the sketch.
    case trailingBytes(Int)
    /// Two sketches with different parameters cannot be merged.
    case parameterMismatch(String)

    public var description: String {
        switch self {
        case let .truncated(field): "truncated at \(field)"
        case let .unsupportedVersion(v): "unsupported version \(v)"
        case let .invalidField(field, detail): "invalid \(field): \(detail)"
        case let .trailingBytes(n): "\(n) trailing bytes"
        case let .parameterMismatch(what): "parameter mismatch: \(what)"
        }
    }
}
