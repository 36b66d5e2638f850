#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// An HTTP response: the status line's code and reason, and the body as received.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var reason: String
    public var body: [UInt8]
}

/// A small, bounded HTTP/1.1 client over a POSIX TCP socket, enough to post alerts to
/// Alertmanager or a webhook: one request per connection (`Connection: close`); the
/// host resolved with getaddrinfo (names, IPv4, IPv6), each address tried in turn; the
/// whole exchange (connect, send, response) within `timeoutSeconds`; at most
/// ``maxResponseBytes`` of response read. No TLS, redirects or keep-alive; a chunked
/// body is returned as received (the sinks only read the status).
public enum HTTPPost {
    public static let maxResponseBytes = 64 << 10
    public static let defaultTimeoutSeconds = 5.0

    /// POSTs `body` to `url`. Throws ``SinkError`` naming the URL when the exchange fails
    /// (unresolvable host, connection refused, timeout) or the status is not 2xx
    /// (`POST http://…: HTTP 400 Bad Request: <start of the body>`).
    @discardableResult
    public static func post(_ url: HTTPURL, body: [UInt8], contentType: String = "application/json",
                            timeoutSeconds: Double = HTTPPost.defaultTimeoutSeconds) throws(SinkError) -> HTTPResponse {
        let response = try exchange(method: "POST", url: url, body: body, contentType: contentType, timeoutSeconds: timeoutSeconds)
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self)
                .split(whereSeparator: \.isNewline).joined(separator: " ")
            throw SinkError("POST \(url): HTTP \(response.status) \(response.reason): \(text)")
        }
        return response
    }

    /// One request and its response, whatever the status (the tests also GET with it).
    public static func exchange(method: String, url: HTTPURL, body: [UInt8] = [], contentType: String? = nil,
                                timeoutSeconds: Double = HTTPPost.defaultTimeoutSeconds) throws(SinkError) -> HTTPResponse {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0.001, timeoutSeconds) * 1e9)
        let fd = try openConnection(url, deadline: deadline)
        defer { close(fd) }
        var head = "\(method) \(url.path) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: tallyd\r\nAccept: */*\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        try sendAll(fd, Array(head.utf8) + body, url: url, deadline: deadline)
        return try readResponse(fd, url: url, deadline: deadline)
    }

    // MARK: - Socket steps

    private static func openConnection(_ url: HTTPURL, deadline: UInt64) throws(SinkError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw SinkError("\(url): cannot resolve \(url.host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(first) }
        var failure = "no address"
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next?.pointee {
            next = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
            guard fd >= 0 else {
                failure = errorText(errno)
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            #if canImport(Darwin)
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS {
                if ready(fd, events: POLLOUT, deadline: deadline) {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 { return fd }
                    failure = errorText(error)
                } else {
                    failure = "connect timed out"
                }
            } else {
                failure = errorText(errno)
            }
            close(fd)
        }
        throw SinkError("\(url): connect to \(url.hostHeader): \(failure)")
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8], url: HTTPURL, deadline: UInt64) throws(SinkError) {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)  // a peer that closed early is an error, not SIGPIPE
        #else
        let flags: Int32 = 0  // SO_NOSIGPIPE is set on the socket
        #endif
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + sent, raw.count - sent, flags)
            }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard ready(fd, events: POLLOUT, deadline: deadline) else { throw SinkError("\(url): send timed out") }
            } else {
                throw SinkError("\(url): send failed: \(errorText(errno))")
            }
        }
    }

    private static func readResponse(_ fd: Int32, url: HTTPURL, deadline: UInt64) throws(SinkError) -> HTTPResponse {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while received.count < maxResponseBytes {
            if let response = parse(received, complete: false) { return response }
            guard ready(fd, events: POLLIN, deadline: deadline) else {
                if let response = parse(received, complete: true) { return response }  // headers in, body still coming
                throw SinkError("\(url): no response within the timeout")
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer.prefix(n)
            } else if n == 0 {
                break
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                throw SinkError("\(url): receive failed: \(errorText(errno))")
            }
        }
        guard let response = parse(received, complete: true) else {
            throw SinkError("\(url): not an HTTP response (\(received.count) bytes)")
        }
        return response
    }

    /// The response in `bytes` once its headers are in and its body is complete (by
    /// `Content-Length`, or a chunked body's last chunk); with `complete` (EOF or timeout)
    /// whatever body came. Nil before that, or when the status line is not HTTP's.
    static func parse(_ bytes: [UInt8], complete: Bool) -> HTTPResponse? {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
            .split(separator: "\r\n", omittingEmptySubsequences: false)  // "\r\n" is one Character
        let status = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard status.count >= 2, status[0].hasPrefix("HTTP/1."), status[1].count == 3, let code = Int(status[1]) else { return nil }
        let reason = status.count == 3 ? String(status[2]) : ""
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = String(parts[1].filter { $0 != " " && $0 != "\t" }).lowercased() }
        }
        var body = Array(bytes[end.upperBound...])
        if headers["transfer-encoding"]?.contains("chunked") == true {
            guard let decoded = dechunk(body) else { return complete ? HTTPResponse(status: code, reason: reason, body: body) : nil }
            body = decoded
        } else if !complete {
            guard let length = headers["content-length"].flatMap({ Int($0) }), body.count >= length else { return nil }
            body = Array(body.prefix(length))
        }
        return HTTPResponse(status: code, reason: reason, body: body)
    }

    /// A chunked body's data; nil until its last (empty) chunk is in, or when malformed.
    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var data: [UInt8] = [], index = 0
        while let line = bytes[index...].firstRange(of: [13, 10]) {
            let sizeText = String(decoding: bytes[index..<line.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.filter { $0 != " " }, radix: 16), size >= 0 else { return nil }
            if size == 0 { return data }
            let start = line.upperBound
            guard bytes.count >= start + size + 2 else { return nil }
            data += bytes[start..<start + size]
            index = start + size + 2
        }
        return nil
    }

    /// Waits until `fd` is ready for `events` or the deadline passes; false on timeout or error.
    private static func ready(_ fd: Int32, events: Int32, deadline: UInt64) -> Bool {
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return false }
            var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
            let millis = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            let n = poll(&entry, 1, millis)
            if n > 0 { return true }  // readable, writable, or an error/hang-up the next call reports
            if n < 0 && errno != EINTR { return false }
        }
    }

    private static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
