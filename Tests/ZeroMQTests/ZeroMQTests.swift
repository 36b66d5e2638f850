import Testing
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A unique endpoint of each transport, on loopback only.
func endpoint(_ transport: String) -> String {
    let id = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    switch transport {
    case "inproc": return "inproc://zmq-test-\(id)"
    case "ipc": return "ipc:///tmp/tally-zmq-test-\(id).sock"
    default: return "tcp://127.0.0.1:*"
    }
}

/// A bound PULL and a connected PUSH on `transport`.
func pushPull(_ context: ZMQContext, _ transport: String) throws -> (push: ZMQSocket, pull: ZMQSocket) {
    let pull = try ZMQSocket(context: context, type: .pull)
    try pull.bind(endpoint(transport))
    let push = try ZMQSocket(context: context, type: .push)
    try push.connect(try pull.lastEndpoint())
    try pull.setReceiveTimeout(milliseconds: 5_000)
    return (push, pull)
}

@Suite struct ZeroMQTests {
    @Test(arguments: ["inproc", "ipc", "tcp"])
    func roundTrip(transport: String) throws {
        let context = try ZMQContext()
        let (push, pull) = try pushPull(context, transport)
        let message = ZMQMessage()
        for i in 0..<100 {
            let payload = [UInt8](repeating: UInt8(i), count: i * 37)  // 0 B … 3.6 KiB
            try push.send(payload)
            try pull.receive(into: message)
            #expect(message.count == payload.count)
            // Read in place, without copying.
            let matches = message.withUnsafeBytes { $0.elementsEqual(payload) }
            #expect(matches)
            #expect(!message.hasMore)
        }
    }

    @Test(arguments: ["inproc", "tcp"])
    func multipartArrivesWhole(transport: String) throws {
        let context = try ZMQContext()
        let (push, pull) = try pushPull(context, transport)
        let parts: [[UInt8]] = [Array("topic".utf8), [], Array(repeating: 7, count: 70_000)]
        try push.send(multipart: parts)
        try push.send(Array("after".utf8))
        #expect(try pull.receiveMultipart() == parts)
        #expect(try pull.receiveMultipart() == [Array("after".utf8)])
    }

    /// With small high-water marks and a peer that does not read, a DONTWAIT send
    /// fails with EAGAIN instead of blocking, and what was queued still arrives.
    @Test func highWaterMarkWithDontWaitFailsFast() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.setReceiveHighWaterMark(2)
        let address = endpoint("inproc")
        try pull.bind(address)
        let push = try ZMQSocket(context: context, type: .push)
        try push.setSendHighWaterMark(2)
        try push.connect(address)
        var queued = 0
        var blocked = false
        for i in 0..<1_000 {
            do {
                try push.send([UInt8(i & 0xFF)], flags: .dontWait)
                queued += 1
            } catch {
                #expect(error.isWouldBlock, "\(error)")
                #expect(!error.isInterrupted)
                blocked = true
                break
            }
        }
        #expect(blocked, "1,000 sends never hit the high-water mark")
        #expect(queued >= 2 && queued <= 8)
        try pull.setReceiveTimeout(milliseconds: 2_000)
        for i in 0..<queued { #expect(try pull.receiveBytes() == [UInt8(i)]) }
    }

    /// With ZMQ_IMMEDIATE and nobody listening, a DONTWAIT send fails at once.
    @Test func immediateWithoutPeerWouldBlock() throws {
        let context = try ZMQContext()
        // An ipc path nobody binds. (A freed tcp port could be taken by another test
        // running in parallel, which then is a peer: that made this test flaky.)
        let address = "ipc:///tmp/tally-no-peer-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let push = try ZMQSocket(context: context, type: .push)
        try push.setImmediate(true)
        try push.connect(address)
        #expect(throws: ZMQError.self) { try push.send([1, 2, 3], flags: .dontWait) }
        do { try push.send([1], flags: .dontWait) } catch { #expect(error.isWouldBlock) }
    }

    @Test func receiveTimeoutIsWouldBlock() throws {
        let context = try ZMQContext()
        let (_, pull) = try pushPull(context, "inproc")
        try pull.setReceiveTimeout(milliseconds: 20)
        do {
            _ = try pull.receiveBytes()
            Issue.record("received from an empty socket")
        } catch {
            #expect(error.isWouldBlock)
        }
        do {
            _ = try pull.receiveBytes(flags: .dontWait)
            Issue.record("received from an empty socket")
        } catch {
            #expect(error.isWouldBlock)
        }
    }

    @Test func errorsCarryErrnoAndText() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pull)
        do {
            try socket.bind("nonsense://x")
            Issue.record("bound a nonsense endpoint")
        } catch {
            #expect(error.code == EPROTONOSUPPORT)
            #expect(!error.message.isEmpty)
            #expect(error.description.contains("zmq_bind"))
        }
        socket.close()
        #expect(throws: ZMQError(code: ENOTSOCK, operation: "closed socket")) { try socket.bind("inproc://x") }
    }

    /// Closing sockets and the context with unread and unsent messages in flight
    /// returns promptly: sockets default to linger 0.
    @Test(arguments: ["inproc", "ipc", "tcp"])
    func shutdownWithMessagesInFlightDoesNotHang(transport: String) throws {
        var context: ZMQContext? = try ZMQContext()
        var sockets: (push: ZMQSocket, pull: ZMQSocket)? = try pushPull(context!, transport)
        for _ in 0..<500 { try? sockets!.push.send([UInt8](repeating: 1, count: 1_000), flags: .dontWait) }
        let start = clock_gettime_ns()
        sockets = nil
        context = nil
        #expect(clock_gettime_ns() - start < 2_000_000_000, "shutdown took over 2 s")
        _ = (sockets, context)
    }

    /// A socket with a linger delivers what it queued before close returns.
    @Test func lingerDeliversQueuedMessagesOnClose() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let address = try pull.lastEndpoint()
        do {
            let push = try ZMQSocket(context: context, type: .push)
            try push.setLinger(milliseconds: 2_000)
            try push.connect(address)
            for i in 0..<50 { try push.send([UInt8(i)]) }
            push.close()
        }
        try pull.setReceiveTimeout(milliseconds: 2_000)
        for i in 0..<50 { #expect(try pull.receiveBytes() == [UInt8(i)]) }
    }

    @Test func pubSubWithNoDropDeliversEverything() throws {
        let context = try ZMQContext()
        let pub = try ZMQSocket(context: context, type: .xpub)
        try pub.setNoDrop(true)
        try pub.bind("inproc://nodrop-\(getpid())")
        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.connect("inproc://nodrop-\(getpid())")
        try sub.subscribe()
        try pub.setReceiveTimeout(milliseconds: 2_000)
        // XPUB sees the subscription as a message: 0x01 followed by the prefix.
        #expect(try pub.receiveBytes() == [1])
        try sub.setReceiveTimeout(milliseconds: 2_000)
        for i in 0..<100 { try pub.send([UInt8(i)]) }
        for i in 0..<100 { #expect(try sub.receiveBytes() == [UInt8(i)]) }
    }

    @Test func capabilitiesAndVersion() {
        #expect(ZMQContext.version.major == 4)
        #expect(ZMQContext.has("ipc"))
    }
}

func clock_gettime_ns() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
