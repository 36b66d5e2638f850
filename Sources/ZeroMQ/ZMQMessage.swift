import CZeroMQ

/// A reusable receive buffer around one `zmq_msg_t`.
///
/// Receive into it with ``ZMQSocket/receive(into:flags:)`` and read the bytes in
/// place with ``withUnsafeBytes(_:)``: nothing is copied into `Data` or `[UInt8]`.
/// The `zmq_msg_t` lives in memory this object owns (it must not move while libzmq
/// uses it), so one message object serves any number of receives without allocating.
/// Not thread-safe: one thread uses it at a time.
public final class ZMQMessage {
    @usableFromInline let message: UnsafeMutablePointer<zmq_msg_t>

    public init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// The number of bytes received.
    @inlinable public var count: Int { zmq_msg_size(message) }

    /// Whether more parts of the same multipart message are waiting.
    @inlinable public var hasMore: Bool { zmq_msg_more(message) != 0 }

    /// Calls `body` with the received bytes. The buffer is valid only inside `body`
    /// and only until the next receive into this message.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let count = zmq_msg_size(message)
        guard count > 0, let data = zmq_msg_data(message) else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try body(UnsafeRawBufferPointer(start: data, count: count))
    }

    /// A copy of the bytes; for tests and tools, not for hot paths.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
