import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq: its `errno` value and libzmq's text for it.
///
/// Callers branch on the three conditions a socket loop must tell apart:
/// ``isWouldBlock`` (a `DONTWAIT` operation found the queue full or empty, or a
/// timeout expired), ``isInterrupted`` (a signal arrived; retry or shut down) and
/// ``isContextTerminated`` (the context is shutting down; close the socket).
public struct ZMQError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The `errno` value libzmq reported.
    public let code: Int32
    /// The libzmq call that failed, e.g. `"zmq_bind"`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// Captures `zmq_errno()` right after a failed call.
    @usableFromInline
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation)
    }

    /// `EAGAIN`: a non-blocking send or receive could not proceed, or a timeout expired.
    @inlinable public var isWouldBlock: Bool { code == EAGAIN }
    /// `EINTR`: the call was interrupted by a signal before it completed.
    @inlinable public var isInterrupted: Bool { code == EINTR }
    /// `ETERM`: the context was terminated while the call was in progress.
    public var isContextTerminated: Bool { code == ETERM }

    /// libzmq's message for ``code``.
    public var message: String { String(cString: zmq_strerror(code)) }

    public var description: String { "\(operation): \(message) (errno \(code))" }
}
