import Foundation
import TallyWire

/// One export request made into frames: what a request to `POST /v1/traces` yields
/// before its frames go to the engine.
public struct OTLPMappedExport: Sendable, Equatable {
    /// One frame per GenAI span that maps, in request order.
    public var frames: [TraceFrame] = []
    /// Spans in the request.
    public var spans = 0
    public var skipped: [GenAISkipReason: Int] = [:]
    public var rejected: [GenAIRejectReason: Int] = [:]
    /// The first rejection's message (for `partial_success.error_message`); nil when none.
    public var firstRejection: String?

    public init() {}

    /// Spans rejected (`partial_success.rejected_spans`). Skipped spans are not rejections.
    public var rejectedSpans: Int { rejected.values.reduce(0, +) }
}

/// Decoding and mapping of one export request body (no I/O).
public enum OTLPExport {
    /// Decodes `body` (already decompressed) in `encoding`.
    public static func decode(_ body: UnsafeRawBufferPointer, encoding: OTLPEncoding) throws(OTLPDecodeError) -> OTLPTraceRequest {
        switch encoding {
        case .protobuf: return try OTLPProtobufDecoder.decode(body)
        case .json: return try OTLPJSONDecoder.decode(Data(body))
        }
    }

    /// Maps every span of `request`.
    public static func map(_ request: OTLPTraceRequest, mapper: GenAISpanMapper) -> OTLPMappedExport {
        var export = OTLPMappedExport()
        export.frames.reserveCapacity(request.spanCount)
        for resourceSpans in request.resourceSpans {
            for span in resourceSpans.spans {
                export.spans += 1
                switch mapper.map(span, resource: resourceSpans.resourceAttributes) {
                case .frame(let frame): export.frames.append(frame)
                case .skipped(let reason): export.skipped[reason, default: 0] += 1
                case .rejected(let reason, let message):
                    export.rejected[reason, default: 0] += 1
                    if export.firstRejection == nil { export.firstRejection = "span \(span.name.prefix(80)): \(reason.rawValue): \(message)" }
                }
            }
        }
        return export
    }
}
