import Foundation

/// The two OTLP/HTTP body encodings, chosen by `Content-Type`.
public enum OTLPEncoding: Sendable, Equatable {
    /// `application/x-protobuf`.
    case protobuf
    /// `application/json`.
    case json

    /// The encoding of a `Content-Type` value (parameters such as `; charset=utf-8`
    /// ignored, case-insensitive), or nil for any other type (HTTP 415).
    public init?(contentType: String?) {
        guard let contentType else { return nil }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: [" ", "\t"]).lowercased()
        } ?? ""
        switch media {
        case "application/x-protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }

    /// The `Content-Type` of responses in this encoding.
    public var contentType: String {
        switch self {
        case .protobuf: "application/x-protobuf"
        case .json: "application/json"
        }
    }
}
