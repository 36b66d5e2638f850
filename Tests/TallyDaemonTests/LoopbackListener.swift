import Foundation  // and with it Glibc (Darwin): the POSIX socket calls

/// A TCP listener on 127.0.0.1 at a port the kernel picks, for the HTTP tests: it
/// answers one request with a canned response and hands back what it received; or
/// it only names a free port (``freePort()``).
final class LoopbackListener: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private let closed = NSLock()
    private var isClosed = false

    init() throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// A port nothing listens on (just released by a listener; another process could
    /// take it, which the tests accept).
    static func freePort() throws -> Int {
        let listener = try LoopbackListener()
        defer { listener.stop() }
        return listener.port
    }

    /// Accepts one connection within `timeout` seconds, reads one request (headers, then
    /// a `Content-Length` body), writes `response` and closes; the request's bytes, or
    /// nil when none came in time.
    func serveOne(response: String, timeout: Double = 5) -> [UInt8]? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1_000)) == 1 else { return nil }
        let connection = accept(fd, nil, nil)
        guard connection >= 0 else { return nil }
        defer { close(connection) }
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let end = request.firstRange(of: [13, 10, 13, 10]) {
                let head = String(decoding: request[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if request.count - end.upperBound >= length { break }
            }
            var ready = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 200) >= 0 else { return nil }
            if ready.revents == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            request += buffer.prefix(n)
        }
        let bytes = Array(response.utf8)
        _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
        return request
    }

    /// ``serveOne(response:timeout:)`` on a thread of its own, while the caller sends.
    func serveInBackground(response: String) -> Served {
        let served = Served()
        Thread { [self] in served.finish(serveOne(response: response)) }.start()
        return served
    }

    /// A request served in the background.
    final class Served: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var bytes: [UInt8]?

        func finish(_ request: [UInt8]?) {
            bytes = request
            done.signal()
        }

        /// The request as text once it was answered (waiting at most `seconds`); nil if it was not.
        func request(within seconds: Double = 5) -> String? {
            guard done.wait(timeout: .now() + seconds) == .success, let bytes else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Closes the listening socket (once, however often called).
    func stop() {
        closed.lock()
        defer { closed.unlock() }
        if !isClosed { close(fd) }
        isClosed = true
    }
}
