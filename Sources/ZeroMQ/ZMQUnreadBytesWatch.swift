import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// How many bytes a sending socket has written to its connections that the peers have
/// not read yet, from the kernel (`SIOCOUTQ` on each connection's file descriptor, which a
/// socket monitor reports as connections come and go).
///
/// Why a sender needs it: libzmq (4.3) drops what a receiver has not read yet when the
/// sender hangs up an ipc:// connection while the receiver's queue is full (the receiving
/// engine sees the hang-up, stops polling and tears the connection down after the message
/// it holds), so a sender that closes as soon as libzmq wrote its messages loses them
/// without a word whenever the receiver is behind. Waiting until ``unreadBytes()`` is 0
/// before closing avoids that. For ipc:// the count is the kernel memory of what the peer
/// has not read (more than the bytes, so usable as "is anything unread", not to count
/// messages); for tcp:// the bytes it has not acknowledged (a tcp:// hang-up does not
/// lose data: the receiver sees no hang-up event while its queue is full).
/// Used by one thread at a time.
public final class ZMQUnreadBytesWatch {
    private let socket: ZMQSocket
    private let events: ZMQSocket
    private var connections: Set<Int32> = []

    /// Starts watching `socket`'s connections; call before it connects anywhere.
    public init(socket: ZMQSocket, name: String) throws(ZMQError) {
        self.socket = socket
        let endpoint = "inproc://zmq.unread.\(name)"
        try socket.monitor(endpoint: endpoint, events: ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED)
        events = try ZMQSocket(context: socket.context, type: .pair)
        try events.connect(endpoint)
    }

    /// Bytes written to the current connections and not yet read (ipc://) or
    /// acknowledged (tcp://) by the peers; 0 when nothing is connected.
    public func unreadBytes() -> Int {
        while let parts = try? events.receiveMultipart(flags: .dontWait) {
            guard let event = ZMQMonitorEvent(parts: parts) else { continue }
            if event.event == ZMQ_EVENT_CONNECTED { connections.insert(event.value) }
            if event.event == ZMQ_EVENT_DISCONNECTED { connections.remove(event.value) }
        }
        #if os(Linux)
        var total = 0
        for fd in connections {
            var queued: Int32 = 0
            if ioctl(fd, UInt(TIOCOUTQ), &queued) == 0 { total += Int(max(0, queued)) }
        }
        return total
        #else
        return 0
        #endif
    }

    /// Stops the monitor and closes the event socket (before the watched socket's
    /// context is terminated, which would otherwise wait for it).
    public func close() {
        socket.stopMonitor()
        events.close()
    }
}
