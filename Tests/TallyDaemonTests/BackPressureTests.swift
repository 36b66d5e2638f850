import Foundation
import Testing
import TallyClient
import TallyCore
@testable import TallyDaemon
import TallySynthetic
import TallyWire
import ZeroMQ

/// Issue 18: frames a client reported as sent went missing without a count when the
/// collector was behind (a 3-batch receive queue back-pressures the producer, so its
/// batches wait in libzmq): a ZMTP heartbeat timeout closed the waiting connections, a
/// close's linger expired with batches queued, an unbind dropped bytes in flight. Here
/// the collector is slowed on purpose, on loopback ipc://, with tallyd's own ingest socket
/// settings; in every case sent = received + counted drops, exactly.
@Suite(.serialized) struct BackPressureTests {
    static let framesPerBatch = 300  // ~55 KiB batches: libzmq sends them zero-copy

    /// A PULL socket set up as tallyd's ingest sockets are, read only when the test says so.
    final class SlowCollector: @unchecked Sendable {  // one thread at a time
        let context: ZMQContext
        let socket: ZMQSocket
        let endpoint: String
        private let decoder = BatchDecoder()
        private let message = ZMQMessage()
        private(set) var frames: UInt64 = 0

        /// - Parameter address: ipc:// by default; tcp://127.0.0.1:* when given.
        init(address: String? = nil) throws {
            context = try ZMQContext()
            socket = try ZMQSocket(context: context, type: .pull)
            try IngestSocketSettings(receiveQueueBatches: 3).configure(socket)
            try socket.bind(address ?? "ipc://" + NSTemporaryDirectory() + "tally-bp-\(UUID().uuidString.prefix(8))")
            endpoint = try socket.lastEndpoint()
        }

        /// Reads until nothing arrived for `idleMillis`; returns the batches read.
        @discardableResult
        func drain(idleMillis: Int32 = 1_000) throws -> Int {
            try socket.setReceiveTimeout(milliseconds: idleMillis)
            var batches = 0
            while true {
                do { try socket.receive(into: message) } catch {
                    if error.isWouldBlock { return batches }
                    throw error
                }
                frames += try message.withUnsafeBytes { raw throws(WireError) in UInt64(try decoder.decode(raw).frameCount) }
                batches += 1
            }
        }
    }

    static func frames(_ count: Int, seed: UInt64) -> [TraceFrame] {
        var rng = SplitMix64(seed: seed)
        let fleet = SyntheticFleet(tenants: 4, users: 1_000)
        let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        return (0..<count).map { _ in fleet.frame(eventTimeMicros: now, &rng) }
    }

    /// A client whose batches are full at `framesPerBatch` frames, connected (a probe
    /// batch went through, and was read).
    static func connectedClient(to collector: SlowCollector) throws -> TallyClient {
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.batchBytes = 56 * 1_024
        configuration.queueDepth = 256  // no queue_full drops: the batches go to libzmq
        let client = try TallyClient(configuration: configuration)
        let probe = frames(1, seed: 99)[0]
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            client.record(probe)
            _ = client.flush(timeoutMillis: 100)
            if try collector.drain(idleMillis: 50) > 0 { return client }
        }
        Issue.record("the client never connected")
        return client
    }

    /// The collector stops reading; the client closes with batches queued in libzmq and
    /// runs out of time: what libzmq still held is counted as close_timeout, and all the
    /// client reports as sent is what the collector then reads, never less (a batch whose
    /// last byte was written just before the give-up may count as dropped though
    /// delivered: ZMQSendLedger). Before issue 18's fix every queued batch counted as sent.
    /// tcp://: hanging up an ipc:// collector that is behind also loses what it has not
    /// read, which the client cannot count (ZMQUnreadBytesWatch).
    @Test(.timeLimit(.minutes(15))) func aCloseThatRunsOutOfTimeCountsWhatLibzmqHeld() throws {
        let collector = try SlowCollector(address: "tcp://127.0.0.1:*")
        let client = try Self.connectedClient(to: collector)
        // More than loopback TCP's socket buffers and libzmq's 64-batch pipe hold.
        for frame in Self.frames(200 * Self.framesPerBatch, seed: 1) { client.record(frame) }
        let counters = client.close(timeoutMillis: 1_000)  // nobody reads meanwhile
        try collector.drain()
        #expect(counters.framesRecorded == counters.framesSent + counters.framesDropped)
        #expect(counters.dropped(.closeTimeout) > 0, "the close ran out of time with batches in libzmq: \(counters)")
        #expect(collector.frames >= counters.framesSent, "what counts as sent arrived: \(counters)")
        #expect(collector.frames <= counters.framesSent + counters.dropped(.closeTimeout),
                "nothing arrives that was not handed to libzmq: received \(collector.frames), \(counters)")
    }

    /// The collector reads nothing for 12 s (longer than the 10-s ZMTP heartbeat timeout
    /// tallyd once had, which closed such connections and lost their batches): the
    /// connection survives, and a patient close delivers everything.
    @Test(.timeLimit(.minutes(15))) func aConnectionWaitingLongerThanAHeartbeatTimeoutKeepsItsBatches() throws {
        let collector = try SlowCollector()
        let client = try Self.connectedClient(to: collector)
        let total = 30 * Self.framesPerBatch
        for frame in Self.frames(total, seed: 2) { client.record(frame) }
        #expect(!client.flush(timeoutMillis: 12_000), "the collector is behind: libzmq still holds batches")
        let reader = Thread { _ = try? collector.drain(idleMillis: 5_000) }
        reader.start()
        let counters = client.close(timeoutMillis: 60_000)
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.05) }
        #expect(counters.framesDropped == 0, "\(counters)")
        #expect(counters.framesSent == counters.framesRecorded)
        #expect(collector.frames == counters.framesSent, "nothing lost in the wait: \(counters)")
    }

    /// tallyd's ingest (a ZeroMQSource whose engine is slow, ~0.3 s a batch) stops right
    /// after a client closed, with batches in ZeroMQ's queue and the one its engine holds
    /// back: each is aggregated or counted by the shutdown drain (unbinding first, as the
    /// hardening did, dropped the held one without a count).
    @Test(.timeLimit(.minutes(15))) func aStopDuringBackPressureCountsEveryBatchTheClientSent() throws {
        let engine = ShutdownDrainTests.slowEngine(waitMicros: 1_000)  // ~1 ms a frame once the ring is full
        let port = engine.makeIngestPort()
        let context = try ZMQContext()
        let endpoint = "ipc://" + NSTemporaryDirectory() + "tally-bps-\(UUID().uuidString.prefix(8))"
        var settings = IngestSocketSettings(receiveQueueBatches: 3)
        settings.drainMillis = 300
        let source = try ZeroMQSource(context: context, endpoint: endpoint, port: port, settings: settings)
        source.start()
        var configuration = TallyClientConfiguration(endpoints: [endpoint])
        configuration.batchBytes = 56 * 1_024
        configuration.queueDepth = 256
        let client = try TallyClient(configuration: configuration)
        let probe = Self.frames(1, seed: 98)[0]
        #expect(EndToEndTests.wait(seconds: 30) {
            client.record(probe)
            _ = client.flush(timeoutMillis: 100)
            return source.frames.load(ordering: .relaxed) > 0
        })
        for frame in Self.frames(20 * Self.framesPerBatch, seed: 3) { client.record(frame) }
        // The close returns once the source's ZeroMQ has read every byte (~5 s).
        let counters = client.close(timeoutMillis: 60_000)
        #expect(counters.framesDropped == 0, "\(counters)")
        source.stop()
        let ingested = source.frames.load(ordering: .relaxed)
        let shutdownDropped = source.shutdownDroppedFrames.load(ordering: .relaxed)
        #expect(counters.framesRecorded == counters.framesSent + counters.framesDropped)
        #expect(shutdownDropped > 0, "batches were still queued at stop")
        #expect(ingested + shutdownDropped == counters.framesSent,
                "ingested \(ingested) + shutdown-dropped \(shutdownDropped) = sent: \(counters)")
    }
}
