import CZeroMQ
import Synchronization

/// A libzmq context: the I/O threads that move bytes for every socket made from it.
///
/// Every ``ZMQSocket`` keeps its context alive, so the context is terminated only
/// after its last socket has been closed; termination therefore never waits on a
/// socket this wrapper still owns. Thread-safe, as libzmq contexts are.
public final class ZMQContext: @unchecked Sendable {
    @usableFromInline let handle: UnsafeMutableRawPointer
    private let terminated = Atomic<Bool>(false)

    /// Creates a context with `ioThreads` I/O threads (libzmq's default is 1; one
    /// thread moves about 1 GB/s, so more help only with many busy sockets).
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw .last("zmq_ctx_new") }
        self.handle = handle
        guard zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) == 0 else {
            let error = ZMQError.last("zmq_ctx_set")
            terminate()
            throw error
        }
    }

    deinit {
        // All sockets are closed (each retains the context), so this returns at once
        // unless a socket's linger keeps unsent messages; sockets here default to linger 0.
        terminate()
    }

    /// Terminates the context now: waits for the lingering messages of closed sockets
    /// (each up to its linger), then stops the I/O threads, so libzmq has released every
    /// message when this returns. Call it only once every socket of the context is
    /// closed (it waits for open ones); later calls and the deinit do nothing.
    public func terminate() {
        guard !terminated.exchange(true, ordering: .acquiringAndReleasing) else { return }
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Whether libzmq was built with a capability, e.g. `"curve"` or `"ipc"`.
    public static func has(_ capability: String) -> Bool { zmq_has(capability) != 0 }

    /// libzmq's version as (major, minor, patch).
    public static var version: (major: Int32, minor: Int32, patch: Int32) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (major, minor, patch)
    }
}
