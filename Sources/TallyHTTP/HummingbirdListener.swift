import Dispatch
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One Hummingbird application in a ServiceGroup of its own, started and stopped from
/// tallyd's synchronous code: its own NIO event loops (never the ingest path), no signal
/// handlers (tallyd handles SIGINT/SIGTERM and calls ``stop(timeoutSeconds:)`` in its
/// graceful stop path: the listener closes, requests in flight finish, connections still
/// open after 3 s are cancelled). The web face and the OTLP receiver each own one.
final class HummingbirdListener: Sendable {
    /// The configuration key of the address, for errors (`http_listen`, `otlp_listen`).
    let setting: String
    let host: String
    let port: Int
    private let group = Mutex<ServiceGroup?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    /// The port actually bound (differs from `port` when that is 0).
    private let boundPort = Atomic<Int>(0)
    /// Why the service group ended with an error (a failed bind), if it did.
    private let failure = Mutex<String?>(nil)

    init(setting: String, host: String, port: Int) {
        self.setting = setting
        self.host = host
        self.port = port
    }

    var localPort: Int { boundPort.load(ordering: .acquiring) }

    /// `http://host:port` as bound (IPv6 hosts in brackets).
    var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(localPort)" }

    /// Binds and starts serving `router`; throws ``HTTPServerError`` naming the setting when
    /// the address cannot be bound within `timeoutSeconds`.
    func start(router: Router<BasicRequestContext>, serverName: String, logger: Logger, timeoutSeconds: Double) throws {
        let started = DispatchSemaphore(value: 0)
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: serverName),
                              onServerRunning: { [self] channel in
                                  boundPort.store(channel.localAddress?.port ?? 0, ordering: .releasing)
                                  started.signal()
                              }, logger: quiet)
        var groupConfiguration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: quiet)
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
            throw HTTPServerError(message: "\(setting) \(host):\(port): \(message)")
        }
        if !bound || localPort == 0 {
            throw HTTPServerError(message: "\(setting) \(host):\(port): not listening after \(timeoutSeconds) s")
        }
    }

    /// Graceful shutdown, bounded; returns whether it finished in time (true when not started).
    @discardableResult
    func stop(timeoutSeconds: Double) -> Bool {
        guard let serviceGroup = group.withLock({ g -> ServiceGroup? in defer { g = nil }; return g }) else { return true }
        Task.detached { await serviceGroup.triggerGracefulShutdown() }
        return finished.wait(timeout: .now() + timeoutSeconds) == .success
    }
}
