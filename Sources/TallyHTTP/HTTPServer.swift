import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The web face on Hummingbird: its own NIO event loops (never the ingest path), in a
/// ServiceGroup without signal handlers (tallyd handles SIGINT/SIGTERM and calls
/// ``stop(timeoutSeconds:)`` in its graceful stop path, which shuts the group down:
/// the listener closes, requests in flight finish).
public final class HTTPServer: Sendable {
    public let face: WebFace
    public let host: String
    public let port: Int
    private let logger: Logger
    private let group = Mutex<ServiceGroup?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    /// The port actually bound (differs from `port` when that is 0).
    private let boundPort = Atomic<Int>(0)
    /// Why the service group ended with an error (a failed bind), if it did.
    private let failure = Mutex<String?>(nil)

    public init(face: WebFace, host: String, port: Int, logger: Logger) {
        self.face = face
        self.host = host
        self.port = port
        self.logger = logger
    }

    public var localPort: Int { boundPort.load(ordering: .acquiring) }

    /// Binds and starts serving; throws when the address cannot be bound (within `timeoutSeconds`).
    public func start(timeoutSeconds: Double = 10) throws {
        let router = Router()
        let face = self.face
        for path in WebFace.paths {
            router.get(RouterPath(path)) { request, _ -> Response in
                HTTPServer.response(face.respond(WebRequest(
                    path: request.uri.path, query: WebRequest.parseQuery(request.uri.query),
                    accept: request.headers[.accept], authorization: request.headers[.authorization])))
            }
        }
        let started = DispatchSemaphore(value: 0)
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "tallyd"),
                              onServerRunning: { [self] channel in
                                  boundPort.store(channel.localAddress?.port ?? 0, ordering: .releasing)
                                  started.signal()
                              }, logger: quiet)
        var groupConfiguration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: quiet)
        // Connections still open after this are cancelled (stop() stays bounded).
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(3)
        let serviceGroup = ServiceGroup(configuration: groupConfiguration)
        group.withLock { $0 = serviceGroup }
        Task.detached { [self] in
            do {
                try await serviceGroup.run()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            started.signal()  // a failed bind wakes start()
            finished.signal()
        }
        let bound = started.wait(timeout: .now() + timeoutSeconds) == .success
        if let message = failure.withLock({ $0 }) {
            throw HTTPServerError(message: "http_listen \(host):\(port): \(message)")
        }
        if !bound || localPort == 0 { throw HTTPServerError(message: "http_listen \(host):\(port): not listening after \(timeoutSeconds) s") }
        logger.info("web face on http://\(host.contains(":") ? "[\(host)]" : host):\(localPort)/ (metrics on /metrics, API on /api/v1)")
    }

    /// Graceful shutdown, bounded; returns whether it finished in time.
    @discardableResult
    public func stop(timeoutSeconds: Double = 5) -> Bool {
        guard let serviceGroup = group.withLock({ g -> ServiceGroup? in defer { g = nil }; return g }) else { return true }
        Task.detached { await serviceGroup.triggerGracefulShutdown() }
        return finished.wait(timeout: .now() + timeoutSeconds) == .success
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
