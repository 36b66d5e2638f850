import Dispatch
import Testing
import TallyClient
import TallyWire
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A real PULL socket on loopback that decodes every batch it receives.
final class Collector {
    let context: ZMQContext
    let socket: ZMQSocket
    let endpoint: String
    let decoder = BatchDecoder()
    let message = ZMQMessage()
    var frames = 0
    var batches = 0
    var sequences: [UInt64] = []
    var eventTimes: [UInt64] = []
    /// With `keepsFrames`, every frame received, whole (strings resolved).
    var keepsFrames = false
    var received: [TraceFrame] = []

    init(_ address: String = "tcp://127.0.0.1:*") throws {
        context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: .pull)
        try socket.bind(address)
        endpoint = try socket.lastEndpoint()
    }

    /// Receives until `expected` frames arrived or `idleMillis` pass with nothing.
    func receive(expected: Int, idleMillis: Int32 = 1_000) throws {
        try socket.setReceiveTimeout(milliseconds: idleMillis)
        while frames < expected {
            do {
                try socket.receive(into: message)
            } catch {
                if error.isWouldBlock { return }
                throw error
            }
            let bytes = message.bytes
            try bytes.withUnsafeBytes { try record(decoder.decode($0)) }
        }
    }

    private func record(_ view: BatchView) {
        sequences.append(view.sequence)
        for frame in view.frames { eventTimes.append(frame.eventTimeMicros) }
        if keepsFrames { received += view.frames.map { view.traceFrame($0) } }
        frames += view.frameCount
        batches += 1
    }
}

/// Makes a client and waits until its connection to `collector` is up: a probe
/// frame is flushed (flush sends blocking, which with ZMQ_IMMEDIATE waits for the
/// connection) and received. Returns the client; the collector's tallies and the
/// expected counts in the tests exclude the probe (`probeFrames`).
func connectedClient(_ configuration: TallyClientConfiguration, _ collector: Collector) throws -> TallyClient {
    let client = try TallyClient(configuration: configuration)
    client.record(frame(0, thread: 999))
    #expect(client.flush(timeoutMillis: 10_000), "connection to the collector")
    try collector.receive(expected: 1, idleMillis: 10_000)
    #expect(collector.frames == 1)
    collector.frames = 0
    collector.batches = 0
    collector.sequences = []
    collector.eventTimes = []
    return client
}

let probeFrames: UInt64 = 1

/// 21 label sets: three models, seven tenants.
func labelSets() throws -> [FrameLabels] {
    try (0..<21).map { i in try FrameLabels(model: "model-\(i % 3)", route: "chat", tags: [CohortTag("tenant", "t\(i % 7)")]) }
}

/// Records `perThread` requests from each of `threads` threads at once: request `i` of
/// `thread` has event time `thread << 32 | i` and label set `labels[pick(thread, i)]`, and
/// every 50th fails with error class "oom".
func recordLabeled(_ client: TallyClient, _ labels: [FrameLabels], threads: Int, perThread: Int,
                   pick: @Sendable (Int, Int) -> Int) {
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
        for i in 0..<perThread {
            let failed = i % 50 == 0
            client.record(labels[pick(thread, i)],
                          FrameMeasures(eventTimeMicros: UInt64(thread) << 32 | UInt64(i), totalLatencyMicros: 1_000,
                                        inputTokens: 10, outputTokens: 5, status: failed ? .error : .ok),
                          errorClass: failed ? "oom" : nil)
        }
    }
}

func frame(_ i: Int, thread: Int = 0) -> TraceFrame {
    TraceFrame(eventTimeMicros: UInt64(thread) << 32 | UInt64(i), model: "model-\(i % 3)", route: "chat",
               tags: [CohortTag("tenant", "t\(i % 7)")], totalLatencyMicros: 1_000, inputTokens: 10, outputTokens: 5)
}

@Suite(.serialized) struct TallyClientTests {
    @Test func closeDeliversBufferedFrames() throws {
        let collector = try Collector()
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.maxBatchAgeMillis = 60_000  // only close can send these
        let client = try connectedClient(configuration, collector)
        for i in 0..<1_000 { client.record(frame(i)) }
        let before = client.counters
        #expect(before.framesBuffered > 0, "the partial last batch waits for close")
        #expect(before.framesBuffered + before.framesSent == 1_000 + probeFrames)
        let counters = client.close(timeoutMillis: 5_000)
        try collector.receive(expected: 1_000)
        #expect(collector.frames == 1_000)
        #expect(counters.framesSent == 1_000 + probeFrames)
        #expect(counters.framesDropped == 0)
        #expect(Set(collector.eventTimes) == Set((0..<1_000).map { UInt64($0) }))
        #expect(collector.sequences == Array(1...UInt64(collector.batches)), "sequence numbers count batches sent (0 was the probe)")
    }

    /// `record(_:_:errorClass:)` with kept labels delivers the same frames as `record(_:)`,
    /// from several threads at once, and an invalid measure is counted, not sent.
    @Test func labeledRecordsArriveAsFrames() throws {
        let collector = try Collector()
        let client = try connectedClient(TallyClientConfiguration(endpoints: [collector.endpoint]), collector)
        let labels = try labelSets()
        let threads = 4, perThread = 2_500
        recordLabeled(client, labels, threads: threads, perThread: perThread) { _, i in i % 21 }
        client.record(labels[0], FrameMeasures(eventTimeMicros: 1, timeToFirstTokenMicros: 2_000, totalLatencyMicros: 1_000))
        #expect(client.lastInvalidFrameError?.field == "time_to_first_token")
        let counters = client.close(timeoutMillis: 10_000)
        try collector.receive(expected: threads * perThread)
        #expect(collector.frames == threads * perThread)
        #expect(counters.framesSent == UInt64(threads * perThread) + probeFrames)
        #expect(counters.dropped[ClientDropReason.invalidFrame.rawValue] == 1, "TTFT beyond the latency")
        var expected = Set<UInt64>()
        for thread in 0..<threads { for i in 0..<perThread { expected.insert(UInt64(thread) << 32 | UInt64(i)) } }
        #expect(Set(collector.eventTimes) == expected)
    }

    /// Small batches, so that most start with the strings of the one before
    /// (`BatchEncoder.carryStrings(from:)`): every frame arrives with its own labels and
    /// error class, from two threads at once.
    @Test func labelsArriveRightAcrossBatchesThatCarryStrings() throws {
        let collector = try Collector()
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.batchBytes = 2_048
        configuration.queueDepth = 512  // room for every batch: nothing dropped as queue_full
        configuration.sendWaitMillis = 5_000  // wait for the collector rather than drop
        let client = try connectedClient(configuration, collector)
        collector.keepsFrames = true  // after the probe
        let labels = try labelSets()
        let threads = 2, perThread = 3_000
        recordLabeled(client, labels, threads: threads, perThread: perThread) { thread, i in (i + thread) % 21 }
        let counters = client.close(timeoutMillis: 10_000)
        try collector.receive(expected: threads * perThread)
        #expect(counters.framesSent == UInt64(threads * perThread) + probeFrames)
        #expect(collector.received.count == threads * perThread)
        #expect(collector.batches >= threads * perThread / 30, "small batches: \(collector.batches)")
        var wrong = 0
        for frame in collector.received {
            let thread = Int(frame.eventTimeMicros >> 32), i = Int(frame.eventTimeMicros & 0xFFFF_FFFF)
            let expected = labels[(i + thread) % 21]
            if frame.model != expected.model || frame.route != expected.route || frame.tags != expected.tags
                || frame.errorClass != (i % 50 == 0 ? "oom" : nil) {
                if wrong < 5 { Issue.record("frame \(thread)/\(i): \(frame.model) \(String(describing: frame.route)) \(frame.tags) \(String(describing: frame.errorClass)); expected \(expected.model) \(expected.tags)") }
                wrong += 1
            }
        }
        #expect(wrong == 0)
    }

    @Test func ageSendsPartialBatches() throws {
        let collector = try Collector()
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.maxBatchAgeMillis = 5
        let client = try connectedClient(configuration, collector)
        for i in 0..<10 { client.record(frame(i)) }
        try collector.receive(expected: 10, idleMillis: 2_000)  // without flush or close
        #expect(collector.frames == 10)
        client.close()
    }

    /// Many threads record at once into a real PULL socket; every frame is either
    /// received or counted as dropped, and the counts add up exactly.
    @Test func manyThreadsCountsAddUp() throws {
        let collector = try Collector()
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.batchBytes = 8_192
        let client = try connectedClient(configuration, collector)
        let threads = 8, perThread = 20_000
        let receiver = Thread { try? collector.receive(expected: threads * perThread, idleMillis: 1_500) }
        let producers = (0..<threads).map { t in Thread { for i in 0..<perThread { client.record(frame(i, thread: t)) } } }
        producers.forEach { $0.join() }
        let counters = client.close(timeoutMillis: 5_000)
        receiver.join()
        #expect(counters.framesRecorded == UInt64(threads * perThread) + probeFrames)
        #expect(counters.framesSent + counters.framesDropped == counters.framesRecorded)
        #expect(counters.framesBuffered == 0)
        #expect(UInt64(collector.frames) + probeFrames == counters.framesSent, "the collector got exactly what was sent")
        #expect(Set(collector.eventTimes).count == collector.frames, "no frame arrived twice")
    }

    @Test func dropsAndCountsWhenNothingListens() throws {
        // An ipc path nobody binds (a freed tcp port could be taken by a test running in parallel).
        let endpoint = "ipc:///tmp/tally-nobody-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        var configuration = TallyClientConfiguration(endpoints: [endpoint])
        configuration.batchBytes = 1_024
        let client = try TallyClient(configuration: configuration)
        for i in 0..<5_000 { client.record(frame(i)) }
        let start = clock_ns()
        let counters = client.close(timeoutMillis: 200)
        #expect(clock_ns() - start < 3_000_000_000, "close must honour its timeout")
        #expect(counters.framesRecorded == 5_000)
        #expect(counters.framesSent == 0)
        #expect(counters.framesDropped == 5_000)
        #expect(counters.dropped(.collectorUnavailable) + counters.dropped(.queueFull)
                + counters.dropped(.closeTimeout) == 5_000)
        #expect(counters.dropped(.collectorUnavailable) > 0)
    }

    /// A collector that stops reading for a while, behind small pipes: by default the
    /// client drops what ZeroMQ cannot take; with `sendWaitMillis` the sender waits,
    /// the queue fills, a closed-loop producer (as tally-load --max) waits on it, and
    /// nothing is lost.
    @Test(arguments: [0, 10_000])
    func sendWaitTurnsAStalledCollectorIntoBackPressure(sendWaitMillis: Int) throws {
        let collector = try Collector("ipc:///tmp/tally-client-wait-\(getpid())-\(sendWaitMillis).sock")
        try collector.socket.setReceiveHighWaterMark(1)
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.batchBytes = 1_024
        configuration.queueDepth = 4
        configuration.sendHighWaterMark = 1
        configuration.sendWaitMillis = sendWaitMillis
        // Batches seal only when full (1,024 B: ~11 of these 80-byte frames after the batch
        // header and strings). The producer waits while 20 frames are buffered, so at most
        // 2 batches are ever waiting of the 4 the queue holds.
        // With the default 5-ms age limit a loaded machine sealed batches of a few frames;
        // 4 of those held under 40 frames, and a producer waiting at 40 found the queue full.
        configuration.maxBatchAgeMillis = 60_000
        let client = try connectedClient(configuration, collector)
        let total = 60_000
        let producer = Thread {
            for i in 0..<total {
                while client.counters.framesBuffered > 20 { usleep(50) }
                client.record(frame(i))
            }
        }
        usleep(300_000)  // the collector is busy elsewhere; the pipes and socket buffers fill
        // One reader from then on, through the close: close waits until the collector has
        // read what libzmq wrote. A waiting client loses nothing unless the collector stops
        // reading for longer than `sendWaitMillis`, so that reader only gives up after twice
        // as long with nothing, and never under 5 s (a loaded CI machine stalls threads for
        // seconds; two readers with 1.5-s and 2-s idle limits once left a batch behind).
        let idleMillis = Int32(max(5_000, 2 * sendWaitMillis))
        let reader = Thread { _ = try? collector.receive(expected: total, idleMillis: idleMillis) }
        producer.join()
        let counters = client.close(timeoutMillis: max(5_000, 2 * sendWaitMillis))
        reader.join()
        let reasons = ClientDropReason.allCases.map { "\($0)=\(counters.dropped($0))" }.joined(separator: " ")
        #expect(counters.framesRecorded == UInt64(total) + probeFrames)
        #expect(counters.framesSent + counters.framesDropped == counters.framesRecorded)
        #expect(UInt64(collector.frames) + probeFrames == counters.framesSent)
        if sendWaitMillis == 0 {
            #expect(counters.dropped(.collectorUnavailable) > 0, "without waiting, a stalled collector costs frames")
        } else {
            #expect(counters.framesDropped == 0, "dropped: \(reasons)")
            #expect(collector.frames == total, "dropped: \(reasons)")
        }
    }

    @Test func invalidAndLateFramesAreCountedNotSent() throws {
        let collector = try Collector()
        let client = try connectedClient(TallyClientConfiguration(endpoints: [collector.endpoint]), collector)
        var bad = frame(1)
        bad.model = ""
        client.record(bad)
        client.record(frame(2))
        #expect(client.lastInvalidFrameError?.reason == .badString)
        let counters = client.close(timeoutMillis: 2_000)
        client.record(frame(3))
        try collector.receive(expected: 1)
        #expect(collector.frames == 1)
        #expect(counters.dropped(.invalidFrame) == 1)
        let after = client.counters
        #expect(after.dropped(.closed) == 1)
        #expect(after.framesRecorded == 3 + probeFrames)
        #expect(after.framesSent + after.framesDropped == after.framesRecorded)
    }

    @Test func flushDeliversWithoutClosing() throws {
        let collector = try Collector("ipc:///tmp/tally-client-test-\(getpid()).sock")
        var configuration = TallyClientConfiguration(endpoints: [collector.endpoint])
        configuration.maxBatchAgeMillis = 60_000
        let client = try connectedClient(configuration, collector)
        for i in 0..<100 { client.record(frame(i)) }
        #expect(client.flush(timeoutMillis: 2_000))
        try collector.receive(expected: 100)
        #expect(collector.frames == 100)
        for i in 0..<50 { client.record(frame(i)) }
        client.close()
        try collector.receive(expected: 150)
        #expect(collector.frames == 150)
    }
}

/// A joinable thread for tests.
final class Thread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void
    init(_ body: @escaping () -> Void) {
        self.body = body
        let raw = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, raw)
    }
    func join() { pthread_join(thread, nil) }
}

func clock_ns() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
