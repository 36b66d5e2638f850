import Testing
import ZeroMQ

/// The options and helpers the collector's hardening rests on: CURVE keys (Z85),
/// the message size limit, socket monitors and the poller.
@Suite struct HardeningOptionTests {
    @Test func curveKeysRoundTripThroughZ85AndDeriveTheirPublicKey() throws {
        try #require(ZMQCurve.isAvailable, "libzmq without CURVE")
        let (publicKey, secretKey) = try ZMQCurve.keyPair()
        #expect(publicKey.utf8.count == 40 && secretKey.utf8.count == 40 && publicKey != secretKey)
        let bytes = try #require(ZMQCurve.decode(publicKey))
        #expect(bytes.count == 32)
        #expect(ZMQCurve.encode(bytes) == publicKey)
        #expect(ZMQCurve.publicKey(secretKey: secretKey) == publicKey)
        // Bad text: wrong length, a character outside the alphabet; wrong byte count.
        #expect(ZMQCurve.decode(String(publicKey.dropLast())) == nil)
        #expect(ZMQCurve.decode(String(publicKey.dropLast()) + "~") == nil)
        #expect(ZMQCurve.decode(String(publicKey.dropLast()) + " ") == nil)
        #expect(ZMQCurve.encode([1, 2, 3]) == nil)
        #expect(ZMQCurve.publicKey(secretKey: "short") == nil)
    }

    /// A message over `ZMQ_MAXMSGSIZE` never arrives (its connection is closed); the
    /// pusher reconnects and a message within the limit does.
    @Test(.timeLimit(.minutes(15))) func messagesOverTheLimitAreRefusedAndTheMonitorSeesTheConnectionClose() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.setMaxMessageSize(1_024)
        try pull.monitor(endpoint: "inproc://hardening-monitor", events: ZMQMonitorEvent.accepted | ZMQMonitorEvent.disconnected)
        let monitor = try ZMQSocket(context: context, type: .pair)
        try monitor.connect("inproc://hardening-monitor")
        try monitor.setReceiveTimeout(milliseconds: 5_000)
        try pull.bind("tcp://127.0.0.1:*")
        try pull.setReceiveTimeout(milliseconds: 5_000)
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(try pull.lastEndpoint())
        try push.send([UInt8](repeating: 7, count: 4_096))
        var events: [ZMQMonitorEvent] = []
        while !events.contains(where: { $0.event == ZMQMonitorEvent.disconnected }) {
            let event = try #require(ZMQMonitorEvent(parts: try monitor.receiveMultipart()))
            events.append(event)
        }
        #expect(events.first?.event == ZMQMonitorEvent.accepted)
        #expect(events.last?.value == events.first?.value, "the same connection (file descriptor)")
        #expect(events.last?.endpoint.hasPrefix("tcp://127.0.0.1:") == true)
        try push.send([UInt8](repeating: 1, count: 1_024))
        #expect(try pull.receiveBytes().count == 1_024)
    }

    @Test func monitorEventsParseOnlyTheirTwoPartForm() {
        let event = ZMQMonitorEvent(parts: [[0x20, 0x00, 0x05, 0x00, 0x00, 0x00], Array("tcp://x".utf8)])
        #expect(event == ZMQMonitorEvent(event: ZMQMonitorEvent.accepted, value: 5, endpoint: "tcp://x"))
        #expect(ZMQMonitorEvent(parts: [[0x20, 0x00]]) == nil)
        #expect(ZMQMonitorEvent(parts: [[0, 0, 0, 0, 0], []]) == nil)
    }

    @Test func pollerReportsOnlyTheSocketWithAMessage() throws {
        let context = try ZMQContext()
        let (pushA, pullA) = try pushPull(context, "inproc")
        let (_, pullB) = try pushPull(context, "inproc")
        let poller = try ZMQPoller(sockets: [pullA, pullB])
        #expect(try poller.poll(timeoutMillis: 0).isEmpty)
        try pushA.send("x")
        #expect(try poller.poll(timeoutMillis: 5_000) == [0])
    }
}
