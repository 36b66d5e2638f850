import Foundation

/// Response bodies of `POST /v1/traces`, in the request's encoding (OTLP/HTTP,
/// "OTLP/HTTP Response"):
/// - success: `ExportTraceServiceResponse` (collector/trace/v1), with `partial_success = 1`
///   (`ExportTracePartialSuccess`: `rejected_spans = 1` int64, `error_message = 2`) set
///   only when spans were rejected;
/// - failure (400, 413, 415, 429, 503): `google.rpc.Status` (`code = 1` int32,
///   `message = 2`).
public enum OTLPResponseEncoder {
    public static func success(rejectedSpans: Int, errorMessage: String?, encoding: OTLPEncoding) -> [UInt8] {
        guard rejectedSpans > 0 || errorMessage != nil else {
            return encoding == .json ? Array("{}".utf8) : []
        }
        let message = errorMessage ?? ""
        switch encoding {
        case .protobuf:
            var partial: [UInt8] = []
            if rejectedSpans > 0 {
                partial.append(1 << 3 | 0)
                appendVarint(UInt64(rejectedSpans), to: &partial)
            }
            if !message.isEmpty { appendLengthDelimited(field: 2, Array(message.utf8), to: &partial) }
            var body: [UInt8] = []
            appendLengthDelimited(field: 1, partial, to: &body)
            return body
        case .json:
            // int64 as a decimal string (OTLP JSON).
            let object: [String: Any] = ["partialSuccess": ["rejectedSpans": String(rejectedSpans), "errorMessage": message]]
            return json(object)
        }
    }

    /// A `google.rpc.Status` with `code` (a gRPC code, e.g. 3 INVALID_ARGUMENT) and `message`.
    public static func status(code: Int, message: String, encoding: OTLPEncoding) -> [UInt8] {
        switch encoding {
        case .protobuf:
            var body: [UInt8] = [1 << 3 | 0]
            appendVarint(UInt64(code), to: &body)
            appendLengthDelimited(field: 2, Array(message.utf8), to: &body)
            return body
        case .json:
            return json(["code": code, "message": message])
        }
    }

    static func json(_ object: [String: Any]) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? Array("{}".utf8)
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    static func appendLengthDelimited(field: UInt64, _ payload: [UInt8], to bytes: inout [UInt8]) {
        appendVarint(field << 3 | 2, to: &bytes)
        appendVarint(UInt64(payload.count), to: &bytes)
        bytes.append(contentsOf: payload)
    }
}
