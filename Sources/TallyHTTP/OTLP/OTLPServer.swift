import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TallyOTLP
import TallyWire

/// OTLP/HTTP trace ingest: `POST /v1/traces` on a Hummingbird listener of its own
/// (`otlp_listen`), protobuf or JSON bodies, optionally gzip. GenAI spans become frames
/// (``GenAISpanMapper``) that ``OTLPIngestWorker`` feeds to the engine. Status codes
/// (OTLP/HTTP spec): 200 with `partial_success` when spans were rejected, 400 bad data,
/// 413 body over ``maxBodyBytes`` (compressed or not), 415 an unknown content type or
/// encoding, 503 with `Retry-After` when the ingest queue is full or the engine dropped
/// OTLP frames in the last second. Spec: TallyOTLP/OTLP.md.
public final class OTLPServer: Sendable {
    public let host: String
    public let port: Int
    /// Largest body accepted, before and after gzip decompression, in bytes.
    public let maxBodyBytes: Int
    public let worker: OTLPIngestWorker
    private let mapper: GenAISpanMapper
    private let logger: Logger
    private let tally = Mutex(Tally())
    private let listener: HummingbirdListener

    /// Requests refused whole, by reason (`otlp.refused.<reason>`).
    enum Refusal: String, CaseIterable {
        case unsupportedMediaType = "unsupported_media_type"
        case tooLarge = "too_large"
        case badGzip = "bad_gzip"
        case badData = "bad_data"
        case queueFull = "queue_full"
        case engineFull = "engine_full"
    }

    struct Tally {
        var requests: UInt64 = 0
        var spans: UInt64 = 0
        var refused: [Refusal: UInt64] = [:]
        var badData: [OTLPDecodeError.Reason: UInt64] = [:]
        var skipped: [GenAISkipReason: UInt64] = [:]
        var rejected: [GenAIRejectReason: UInt64] = [:]
    }

    public init(host: String, port: Int, maxBodyBytes: Int, mapper: GenAISpanMapper, worker: OTLPIngestWorker, logger: Logger) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.mapper = mapper
        self.worker = worker
        self.logger = logger
        listener = HummingbirdListener(setting: "otlp_listen", host: host, port: port)
    }

    /// The port actually bound (differs from `port` when that is 0).
    public var localPort: Int { listener.localPort }

    /// `otlp.requests`, `otlp.spans`, `otlp.skipped.<reason>`, `otlp.rejected.<reason>`,
    /// `otlp.refused.<reason>`, `otlp.bad_data.<reason>` and the worker's counters; every
    /// reason present (0 when none), so dashboards see the full set.
    public func counters() -> [String: UInt64] {
        var c = worker.counters()
        tally.withLock { t in
            c["otlp.requests"] = t.requests
            c["otlp.spans"] = t.spans
            for r in Refusal.allCases { c["otlp.refused.\(r.rawValue)"] = t.refused[r] ?? 0 }
            for r in OTLPDecodeError.Reason.allCases { c["otlp.bad_data.\(r.rawValue)"] = t.badData[r] ?? 0 }
            for r in GenAISkipReason.allCases { c["otlp.skipped.\(r.rawValue)"] = t.skipped[r] ?? 0 }
            for r in GenAIRejectReason.allCases { c["otlp.rejected.\(r.rawValue)"] = t.rejected[r] ?? 0 }
        }
        return c
    }

    /// Starts the worker, binds and serves; throws when the address cannot be bound.
    public func start(timeoutSeconds: Double = 10) throws {
        worker.start()
        let router = Router()
        router.post("/v1/traces") { [self] request, _ -> Response in
            await handle(request)
        }
        do {
            try listener.start(router: router, serverName: "tallyd-otlp", logger: logger, timeoutSeconds: timeoutSeconds)
        } catch {
            worker.stop()
            throw error
        }
        logger.info("OTLP/HTTP traces on \(listener.url)/v1/traces")
    }

    /// Stops listening (requests in flight finish), then lets the worker ingest what is queued.
    @discardableResult
    public func stop(timeoutSeconds: Double = 5) -> Bool {
        let clean = listener.stop(timeoutSeconds: timeoutSeconds)
        return worker.stop(timeoutSeconds: timeoutSeconds) && clean
    }

    // MARK: Requests

    func handle(_ request: Request) async -> Response {
        tally.withLock { $0.requests += 1 }
        guard let encoding = OTLPEncoding(contentType: request.headers[.contentType]) else {
            return refuse(.unsupportedMediaType, status: 415, code: 3, encoding: .json,
                          "Content-Type \(request.headers[.contentType] ?? "(none)"): expected application/x-protobuf or application/json")
        }
        let contentEncoding = request.headers[.contentEncoding]?.lowercased() ?? "identity"
        guard contentEncoding == "gzip" || contentEncoding == "identity" else {
            return refuse(.unsupportedMediaType, status: 415, code: 3, encoding: encoding,
                          "Content-Encoding \(contentEncoding): expected gzip or none")
        }
        // The engine dropped OTLP frames a moment ago: a 200 now would likely be followed by
        // the same drop, which the client cannot see; a 503 makes it retry later.
        if worker.engineSaturated {
            return refuse(.engineFull, status: 503, code: 14, encoding: encoding,
                          "the engine is dropping frames (ring full or stopping); retry later", retryAfter: true)
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            return refuse(.tooLarge, status: 413, code: 8, encoding: encoding, "body of \(length) bytes; the limit is \(maxBodyBytes)")
        }
        var body = ByteBuffer()
        do {
            for try await part in request.body {
                guard body.readableBytes + part.readableBytes <= maxBodyBytes else {
                    return refuse(.tooLarge, status: 413, code: 8, encoding: encoding, "body over the limit of \(maxBodyBytes) bytes")
                }
                var part = part
                body.writeBuffer(&part)
            }
        } catch {
            return refuse(.badData, status: 400, code: 3, encoding: encoding, "body could not be read: \(error)")
        }
        let decoded: Result<OTLPTraceRequest, OTLPDecodeError>
        if contentEncoding == "gzip" {
            let inflated: Result<[UInt8], GzipInflater.Failure> = body.withUnsafeReadableBytes { raw in
                Result { () throws(GzipInflater.Failure) -> [UInt8] in try GzipInflater.inflate(raw, limit: maxBodyBytes) }
            }
            switch inflated {
            case .failure(.tooLarge(let limit)):
                return refuse(.tooLarge, status: 413, code: 8, encoding: encoding, "decompressed body over the limit of \(limit) bytes")
            case .failure(.corrupt(let why)):
                return refuse(.badGzip, status: 400, code: 3, encoding: encoding, "gzip: \(why)")
            case .success(let bytes):
                decoded = bytes.withUnsafeBytes { raw in
                    Result { () throws(OTLPDecodeError) -> OTLPTraceRequest in try OTLPExport.decode(raw, encoding: encoding) }
                }
            }
        } else {
            decoded = body.withUnsafeReadableBytes { raw in
                Result { () throws(OTLPDecodeError) -> OTLPTraceRequest in try OTLPExport.decode(raw, encoding: encoding) }
            }
        }
        let traceRequest: OTLPTraceRequest
        switch decoded {
        case .failure(let error):
            tally.withLock { $0.badData[error.reason, default: 0] += 1 }
            return refuse(.badData, status: 400, code: 3, encoding: encoding, error.description)
        case .success(let value): traceRequest = value
        }
        let export = OTLPExport.map(traceRequest, mapper: mapper)
        guard worker.offer(export.frames) else {
            return refuse(.queueFull, status: 503, code: 14, encoding: encoding,
                          "ingest queue full (\(worker.capacityFrames) frames); retry later", retryAfter: true)
        }
        tally.withLock { t in
            t.spans += UInt64(export.spans)
            for (reason, count) in export.skipped { t.skipped[reason, default: 0] += UInt64(count) }
            for (reason, count) in export.rejected { t.rejected[reason, default: 0] += UInt64(count) }
        }
        return OTLPServer.response(status: 200, encoding: encoding,
                                   body: OTLPResponseEncoder.success(rejectedSpans: export.rejectedSpans,
                                                                     errorMessage: export.firstRejection, encoding: encoding))
    }

    /// Counts a refusal and answers it with a `google.rpc.Status` (`code`: gRPC code).
    private func refuse(_ refusal: Refusal, status: Int, code: Int, encoding: OTLPEncoding, _ message: String,
                        retryAfter: Bool = false) -> Response {
        tally.withLock { $0.refused[refusal, default: 0] += 1 }
        var response = OTLPServer.response(status: status, encoding: encoding,
                                           body: OTLPResponseEncoder.status(code: code, message: message, encoding: encoding))
        if retryAfter { response.headers[.retryAfter] = "1" }
        return response
    }

    static func response(status: Int, encoding: OTLPEncoding, body: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = encoding.contentType
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
