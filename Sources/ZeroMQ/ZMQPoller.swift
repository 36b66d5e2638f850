import CZeroMQ

/// Waits until one of several sockets has a message to read (`zmq_poll`), so one
/// thread can serve several sockets. Allocates its item array once.
/// Not thread-safe; the sockets must belong to the calling thread.
public final class ZMQPoller {
    private var items: [zmq_pollitem_t]
    private let sockets: [ZMQSocket]

    public init(sockets: [ZMQSocket]) throws(ZMQError) {
        self.sockets = sockets
        var items: [zmq_pollitem_t] = []
        for socket in sockets {
            items.append(zmq_pollitem_t(socket: try socket.open, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
        }
        self.items = items
    }

    /// The indices (into the `sockets` given at init) of the sockets with a message
    /// waiting, after at most `timeoutMillis` ms (-1 = wait forever). Empty on timeout
    /// or when a signal interrupted the wait.
    public func poll(timeoutMillis: Int) throws(ZMQError) -> [Int] {
        let count = Int32(items.count)
        let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, timeoutMillis) }
        if rc < 0 {
            let error = ZMQError.last("zmq_poll")
            if error.isInterrupted { return [] }
            throw error
        }
        return items.indices.filter { items[$0].revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
