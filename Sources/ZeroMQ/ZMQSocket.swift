import CZeroMQ

/// A libzmq socket.
///
/// Like libzmq sockets, it must be used by one thread at a time; handing it to
/// another thread is allowed (hence `@unchecked Sendable`) as long as uses never
/// overlap. It keeps its ``ZMQContext`` alive and is closed by ``close()`` or on
/// deinit, always before its context is terminated. New sockets get linger 0, so a
/// close never blocks on unsent messages unless the owner asks for a linger.
public final class ZMQSocket: @unchecked Sendable {
    @usableFromInline var handle: UnsafeMutableRawPointer?
    public let context: ZMQContext
    public let type: ZMQSocketType

    public init(context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw .last("zmq_socket")
        }
        self.handle = handle
        self.context = context
        self.type = type
        try setOption(ZMQ_LINGER, Int32(0), "ZMQ_LINGER")
    }

    deinit { close() }

    /// Closes the socket; later calls on it fail with `ENOTSOCK`. Idempotent.
    public func close() {
        if let handle {
            zmq_close(handle)
            self.handle = nil
        }
    }

    @usableFromInline var open: UnsafeMutableRawPointer {
        get throws(ZMQError) {
            guard let handle else { throw ZMQError(code: ENOTSOCK, operation: "closed socket") }
            return handle
        }
    }

    /// Binds to `endpoint`, e.g. `tcp://127.0.0.1:5555`, `tcp://127.0.0.1:*`,
    /// `ipc:///tmp/tally.sock` or `inproc://name`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        guard zmq_bind(try open, endpoint) == 0 else { throw .last("zmq_bind \(endpoint)") }
    }

    /// Connects to `endpoint`. The connection is made in the background; libzmq
    /// reconnects by itself when the peer goes away and comes back.
    public func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(try open, endpoint) == 0 else { throw .last("zmq_connect \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws(ZMQError) {
        guard zmq_disconnect(try open, endpoint) == 0 else { throw .last("zmq_disconnect \(endpoint)") }
    }

    public func unbind(_ endpoint: String) throws(ZMQError) {
        guard zmq_unbind(try open, endpoint) == 0 else { throw .last("zmq_unbind \(endpoint)") }
    }

    /// The endpoint the socket last bound, with a wildcard port resolved
    /// (`tcp://127.0.0.1:*` → `tcp://127.0.0.1:40123`).
    public func lastEndpoint() throws(ZMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        let handle = try open
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
            throw .last("zmq_getsockopt ZMQ_LAST_ENDPOINT")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Sending

    /// Sends `bytes` as one message part (libzmq copies them).
    ///
    /// Throws ``ZMQError`` with ``ZMQError/isWouldBlock`` when `.dontWait` is set and
    /// the message cannot be queued (high-water mark reached, or no peer with
    /// `ZMQ_IMMEDIATE`), or when a send timeout expires.
    @inlinable
    public func send(_ bytes: UnsafeRawBufferPointer, flags: ZMQFlags = []) throws(ZMQError) {
        let handle = try open
        while zmq_send(handle, bytes.baseAddress, bytes.count, flags.rawValue) < 0 {
            let error = ZMQError.last("zmq_send")
            // A signal during a blocking send: retry, as the caller asked to wait.
            if error.isInterrupted && !flags.contains(.dontWait) { continue }
            throw error
        }
    }

    /// Sends an array of bytes as one message part.
    public func send(_ bytes: [UInt8], flags: ZMQFlags = []) throws(ZMQError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ZMQError) in try send(buffer, flags: flags) }
        }
        try result.get()
    }

    /// Sends a UTF-8 string as one message part.
    public func send(_ string: String, flags: ZMQFlags = []) throws(ZMQError) {
        try send(Array(string.utf8), flags: flags)
    }

    /// Sends `parts` as one multipart message, atomically: either all parts are
    /// queued or (under `.dontWait`) none is.
    public func send(multipart parts: [[UInt8]], flags: ZMQFlags = []) throws(ZMQError) {
        for (index, part) in parts.enumerated() {
            let more: ZMQFlags = index + 1 < parts.count ? .sendMore : []
            try send(part, flags: flags.union(more))
        }
    }

    // MARK: Receiving

    /// Receives the next message part into `message`, replacing its previous content.
    ///
    /// Throws with ``ZMQError/isWouldBlock`` under `.dontWait` when nothing is
    /// waiting, or when the receive timeout expires; with ``ZMQError/isInterrupted``
    /// when a signal arrived (the caller decides whether to retry or stop).
    @inlinable
    public func receive(into message: ZMQMessage, flags: ZMQFlags = []) throws(ZMQError) {
        let handle = try open
        if zmq_msg_recv(message.message, handle, flags.rawValue) < 0 {
            throw .last("zmq_msg_recv")
        }
    }

    /// Receives all parts of the next message, copied into arrays; for control
    /// messages and tests, not for the ingest path.
    public func receiveMultipart(flags: ZMQFlags = []) throws(ZMQError) -> [[UInt8]] {
        let message = ZMQMessage()
        var parts: [[UInt8]] = []
        repeat {
            try receive(into: message, flags: parts.isEmpty ? flags : [])
            parts.append(message.bytes)
        } while message.hasMore
        return parts
    }

    /// Receives one message part as a byte array; for tests and tools.
    public func receiveBytes(flags: ZMQFlags = []) throws(ZMQError) -> [UInt8] {
        let message = ZMQMessage()
        try receive(into: message, flags: flags)
        return message.bytes
    }
}
