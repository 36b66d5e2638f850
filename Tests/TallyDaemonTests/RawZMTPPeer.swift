import Foundation  // and with it Glibc: the POSIX socket calls

/// A hand-written ZMTP 3.0 peer over a raw TCP socket (RFC 23,
/// https://rfc.zeromq.org/spec/23/): the greeting (NULL mechanism), a READY command
/// naming socket type PUSH, then whatever bytes an attack wants — typically the header
/// of a message it never finishes.
final class RawZMTPPeer {
    private let fd: Int32

    /// Connects to 127.0.0.1:`port`; nil when the connection fails.
    init?(port: Int) {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The 64-byte greeting: signature, version 3.0, mechanism "NULL", as-server 0, filler.
    static let greeting: [UInt8] = [0xFF] + [UInt8](repeating: 0, count: 8) + [0x7F, 3, 0]
        + Array("NULL".utf8) + [UInt8](repeating: 0, count: 16) + [0] + [UInt8](repeating: 0, count: 31)

    /// A READY command with the property Socket-Type = PUSH.
    static let ready: [UInt8] = {
        let body = [5] + Array("READY".utf8) + [11] + Array("Socket-Type".utf8) + [0, 0, 0, 4] + Array("PUSH".utf8)
        return [0x04, UInt8(body.count)] + body
    }()

    /// The header of a long final message of `size` bytes (flags 0x02, 8-byte size).
    static func longMessageHeader(size: UInt64) -> [UInt8] {
        [0x02] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: size >> (8 * UInt64($0))) }
    }

    /// Writes all of `bytes`; false when the peer closed the connection.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Whether tallyd closed the connection (a read returns 0 or fails), after waiting
    /// up to `timeoutMillis` for it; what tallyd sent (its greeting, READY) is skipped.
    func isClosedByPeer(timeoutMillis: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let deadline = Date().addingTimeInterval(Double(timeoutMillis) / 1_000)
        while Date() < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return true }
            }
        }
        return false
    }

    /// Everything tallyd sent until it closed the connection, waiting up to
    /// `timeoutMillis`; nil when it is still open then.
    func receivedUntilClosed(timeoutMillis: Int32) -> [UInt8]? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let deadline = Date().addingTimeInterval(Double(timeoutMillis) / 1_000)
        while Date() < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return received }
            received += buffer[0..<count]
        }
        return nil
    }
}
