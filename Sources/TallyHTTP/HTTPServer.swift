import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The web face on Hummingbird: its own NIO event loops (never the ingest path), in a
/// ServiceGroup without signal handlers (tallyd handles SIGINT/SIGTERM and calls
/// ``stop(timeoutSeconds:)`` in its graceful stop path, which shuts the group down:
/// the listener closes, requests in flight finish).
public final class HTTPServer: Sendable {
    public let face: WebFace
    public let host: String
    public let port: Int
    private let logger: Logger
    private let listener: HummingbirdListener

    public init(face: WebFace, host: String, port: Int, logger: Logger) {
        self.face = face
        self.host = host
        self.port = port
        self.logger = logger
        listener = HummingbirdListener(setting: "http_listen", host: host, port: port)
    }

    /// The port actually bound (differs from `port` when that is 0).
    public var localPort: Int { listener.localPort }

    /// Binds and starts serving; throws when the address cannot be bound (within `timeoutSeconds`).
    public func start(timeoutSeconds: Double = 10) throws {
        let router = Router()
        let face = self.face
        for path in WebFace.paths {
            router.get(RouterPath(path)) { request, _ -> Response in
                let web = WebRequest(path: request.uri.path, query: WebRequest.parseQuery(request.uri.query),
                                     accept: request.headers[.accept], authorization: request.headers[.authorization])
                guard web.path == WebFace.fleetIndexPath else { return HTTPServer.response(face.respond(web)) }
                // Reads a store: on a thread of its own, never an event loop's.
                return await withCheckedContinuation { done in
                    DispatchQueue.global().async { done.resume(returning: HTTPServer.response(face.respond(web))) }
                }
            }
        }
        try listener.start(router: router, serverName: "tallyd", logger: logger, timeoutSeconds: timeoutSeconds)
        logger.info("web face on \(listener.url)/ (metrics on /metrics, API on /api/v1)")
    }

    /// Graceful shutdown, bounded; returns whether it finished in time.
    @discardableResult
    public func stop(timeoutSeconds: Double = 5) -> Bool {
        listener.stop(timeoutSeconds: timeoutSeconds)
    }

    static func response(_ web: WebResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = web.contentType
        headers[.cacheControl] = "no-store"
        for (name, value) in web.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: .init(code: web.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: web.body)))
    }
}

public struct HTTPServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
