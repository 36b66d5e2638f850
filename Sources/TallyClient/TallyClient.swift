import TallyWire
import ZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The producer library: what an inference server calls once per request.
///
/// ``record(_:)`` never blocks on the network and never throws. Frames are encoded
/// into one of several lane buffers (picked by thread, with `trylock` moving past a
/// busy lane, so there is no global lock per frame); a full batch is handed to a
/// background sender, which also sends batches older than
/// ``TallyClientConfiguration/maxBatchAgeMillis``. The sender uses `ZMQ_DONTWAIT`
/// with `ZMQ_IMMEDIATE`: when no collector is connected or it is behind, batches are
/// dropped and counted by reason (``counters``), never queued without bound. (A
/// load tester may let it wait a bounded time instead:
/// ``TallyClientConfiguration/sendWaitMillis``.)
///
/// A batch counts as sent once libzmq has written it to a connection, not when it was
/// queued (``ZMQSendLedger``): what libzmq still holds when ``close(timeoutMillis:)``
/// runs out of time is dropped and counted as ``ClientDropReason/closeTimeout``, never
/// reported as sent.
///
/// Thread-safe. Call ``close(timeoutMillis:)`` before exit to deliver what is buffered.
public final class TallyClient: @unchecked Sendable {
    public let configuration: TallyClientConfiguration
    private let lanes: [Lane]
    /// Every batch buffer, lanes' and spares' alike, alive as long as the client: a lane
    /// refers to its current one without reference counting per frame.
    private let encoders: [BatchEncoder]
    private let laneMask: Int
    private let queue: SendQueue
    private let socket: ZMQSocket
    /// Batches handed to libzmq, weighed in frames: written, held or discarded.
    private let ledger = ZMQSendLedger()
    /// What the collectors have not read yet of what libzmq wrote; close waits for it.
    private let unread: ZMQUnreadBytesWatch
    private var senderThread: pthread_t?
    /// Sender-side counters; guarded by `queue.lock`.
    private var senderDrops = [UInt64](repeating: 0, count: ClientDropReason.allCases.count)
    private var nextSequence: UInt64 = 0
    private var closed = false
    /// Frames recorded after close; guarded by `queue.lock`.
    private var recordedAfterClose: UInt64 = 0
    private var lastInvalid: WireError?

    /// Connects to the configured collectors and starts the sender thread.
    /// Throws when an endpoint is malformed, or when CURVE keys are set but incomplete
    /// or not 40-character Z85 (`EINVAL` on `ZMQ_CURVE_*`); an unreachable collector (or
    /// one that refuses the keys) is not an error: frames are dropped and counted.
    public init(configuration: TallyClientConfiguration) throws(ZMQError) {
        precondition(!configuration.endpoints.isEmpty, "TallyClient needs at least one endpoint")
        self.configuration = configuration
        var laneCount = 1
        while laneCount < max(1, configuration.lanes) { laneCount <<= 1 }
        laneMask = laneCount - 1
        let capacity = min(max(configuration.batchBytes, 1024), WireLimits.maxBatchBytes)
        let producerID = configuration.producerID
        encoders = (0..<(laneCount + max(1, configuration.queueDepth))).map { _ in
            BatchEncoder(capacity: capacity, producerID: producerID, headroom: ZMQSocket.trackedHeadroom)
        }
        lanes = encoders.prefix(laneCount).map { Lane(encoder: $0) }
        queue = SendQueue(spares: Array(encoders.suffix(max(1, configuration.queueDepth))))
        let context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: .push)
        try socket.setImmediate(true)
        try socket.setSendHighWaterMark(configuration.sendHighWaterMark)
        if configuration.serverPublicKey != nil || configuration.curvePublicKey != nil || configuration.curveSecretKey != nil {
            guard let server = configuration.serverPublicKey.flatMap(ZMQCurve.decode),
                  let publicKey = configuration.curvePublicKey.flatMap(ZMQCurve.decode),
                  let secretKey = configuration.curveSecretKey.flatMap(ZMQCurve.decode) else {
                throw ZMQError(code: EINVAL, operation: "CURVE keys: serverPublicKey, curvePublicKey and curveSecretKey, 40-character Z85 each")
            }
            try socket.setCurveClient(serverKey: server, publicKey: publicKey, secretKey: secretKey)
        }
        unread = try ZMQUnreadBytesWatch(socket: socket, name: "tally.client.\(UInt(bitPattern: ObjectIdentifier(socket).hashValue))")
        for endpoint in configuration.endpoints { try socket.connect(endpoint) }
        senderThread = startThread(name: "tally-sender") { [unowned self] in self.runSender() }
    }

    deinit {
        if senderThread != nil { close(timeoutMillis: 0) }
    }

    // MARK: Recording

    /// Records one request. Never blocks on I/O and never throws: a frame that breaks
    /// the wire rules is dropped as ``ClientDropReason/invalidFrame``.
    public func record(_ frame: borrowing TraceFrame) {
        // The lane stays alive in `lanes`; taking it unretained saves a retain and a
        // release per frame.
        acquireLane()._withUnsafeGuaranteedRef { lane in record(frame, in: lane) }
    }

    /// Records one request of a known label set: the cheaper path for a server that keeps
    /// a ``FrameLabels`` per deployment (and tenant, …): the labels' strings are encoded
    /// once, and carried from each full batch into the next, so a request costs its numbers
    /// (Benchmarks/README.md, `client-record-labels`). `errorClass` (e.g. `"oom"`) goes with a
    /// failed request. Never blocks on I/O and never throws, as ``record(_:)``.
    public func record(_ labels: FrameLabels, _ measures: FrameMeasures, errorClass: String? = nil) {
        acquireLane()._withUnsafeGuaranteedRef { lane in
            defer { lane.lock.unlock() }
            guard admit(lane) else { return }
            var placed = lane.withEncoder { $0.place(labels, measures, errorClass: errorClass) }
            if placed == false {
                reopen(lane)
                placed = lane.withEncoder { $0.place(labels, measures, errorClass: errorClass) }
                // Cannot happen: an empty batch takes any valid frame.
                if placed == false { lane.invalid &+= 1 }
            }
            if placed == nil { refuseLast(in: lane) }
        }
    }

    @inline(__always)
    private func record(_ frame: borrowing TraceFrame, in lane: Lane) {
        defer { lane.lock.unlock() }
        guard admit(lane) else { return }
        do {
            if try lane.withEncoder({ (encoder) throws(WireError) in try encoder.append(frame) }) { return }
            reopen(lane)
            if try lane.encoder.append(frame) { return }
            lane.invalid &+= 1  // cannot happen: an empty batch takes any valid frame
        } catch {
            refuse(error, in: lane)
        }
    }

    /// Counts a frame about to be appended to the lane's batch (lane lock held); false,
    /// counted apart, once the client is closed.
    @inline(__always)
    private func admit(_ lane: Lane) -> Bool {
        if lane.closed {
            queue.lock.withLock { recordedAfterClose &+= 1 }
            return false
        }
        lane.recorded &+= 1
        if lane.encoder.isEmpty { lane.firstFrameNanos = monotonicNanos() }
        return true
    }

    /// The lane's batch is full: hands it to the sender and starts the next with its
    /// strings (``BatchEncoder/carryStrings(from:)``: a full batch's label sets are likely
    /// the next one's).
    private func reopen(_ lane: Lane) {
        seal(lane, carryingStrings: true)
        lane.firstFrameNanos = monotonicNanos()
    }

    /// The request the lane's encoder just refused (``BatchEncoder/refusal``), as
    /// ``refuse(_:in:)``. Out of line, so that its error's stack slot is not its caller's.
    @inline(never)
    private func refuseLast(in lane: Lane) {
        if let refusal = lane.encoder.refusal { refuse(refusal, in: lane) }
    }

    /// A frame that breaks the wire rules: dropped and counted as `invalid_frame`.
    private func refuse(_ error: WireError, in lane: Lane) {
        lane.invalid &+= 1
        queue.lock.withLock { lastInvalid = error }
    }

    /// The lane of this thread if free, else the next free one, else wait for this thread's.
    @inline(__always)
    private func acquireLane() -> Unmanaged<Lane> {
        let home = Int(truncatingIfNeeded: UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))) &* 0x9E37_79B9_7F4A_7C15 >> 40)
        return lanes.withUnsafeBufferPointer { lanes in
            for step in 0...laneMask {
                let lane = Unmanaged.passUnretained(lanes[(home &+ step) & laneMask])
                if lane._withUnsafeGuaranteedRef({ $0.lock.tryLock() }) { return lane }
            }
            let lane = Unmanaged.passUnretained(lanes[home & laneMask])
            lane._withUnsafeGuaranteedRef { $0.lock.lock() }
            return lane
        }
    }

    /// Hands the lane's batch to the sender (lane lock held). When every spare buffer
    /// is waiting to be sent, the batch is dropped as ``ClientDropReason/queueFull``.
    /// `carryingStrings`: the next batch starts with this one's strings. Only a full batch
    /// carries them: one sealed by age or flush may be a few frames long, and carried
    /// strings would cost more bytes than they save.
    private func seal(_ lane: Lane, carryingStrings: Bool = false) {
        guard !lane.encoder.isEmpty else { return }
        queue.lock.lock()
        if let spare = queue.spares.popLast() {
            // Under the queue lock, before the sender can see the full batch.
            if carryingStrings { spare.carryStrings(from: lane.encoder) }
            queue.ready.append(lane.encoder)
            lane.encoder = spare
            queue.condition.broadcast()
        } else {
            lane.queueFull &+= UInt64(lane.encoder.frameCount)
            if carryingStrings { lane.encoder.resetKeepingStrings() } else { lane.encoder.reset() }
        }
        queue.lock.unlock()
    }

    // MARK: Sending

    private func runSender() {
        let agePeriod = UInt64(max(1, configuration.maxBatchAgeMillis)) * 1_000_000
        var nextAgeCheck = monotonicNanos() + agePeriod / 2
        let sendWait = Int32(min(max(configuration.sendWaitMillis, 0), 60_000))
        // The socket's `ZMQ_SNDTIMEO` as last set by this thread (-1: libzmq's default, never set).
        var sendTimeout: Int32 = -1
        queue.lock.lock()
        while true {
            if queue.ready.isEmpty && !queue.stopping {
                queue.condition.wait(untilNanos: nextAgeCheck)
            }
            let now = monotonicNanos()
            if now >= nextAgeCheck {
                queue.lock.unlock()
                sealAgedLanes(olderThan: agePeriod, now: now)
                queue.lock.lock()
                nextAgeCheck = now + agePeriod / 2
            }
            guard !queue.ready.isEmpty else {
                if queue.stopping { break }
                continue
            }
            let encoder = queue.ready.removeFirst()
            queue.sending += 1
            let sequence = nextSequence
            let draining = queue.draining
            queue.lock.unlock()

            _ = encoder.finish(sequence: sequence)
            let frames = UInt64(encoder.frameCount)
            var outcome: ClientDropReason? = nil
            do {
                var flags: ZMQFlags = []
                if draining {
                    // Flush or close: wait for the collector up to the caller's deadline.
                    let left = queue.deadlineNanos > monotonicNanos() ? queue.deadlineNanos - monotonicNanos() : 0
                    sendTimeout = Int32(min(left / 1_000_000, 60_000))
                    try socket.setSendTimeout(milliseconds: sendTimeout)
                } else if sendWait > 0 {
                    if sendTimeout != sendWait {
                        sendTimeout = sendWait
                        try socket.setSendTimeout(milliseconds: sendWait)
                    }
                } else {
                    flags = .dontWait
                }
                // The batch's buffer becomes the message (no copy); the encoder takes a new one.
                let batch = encoder.detachFinishedBatch()
                try socket.send(allocation: batch.allocation, byteCount: batch.byteCount, weight: frames, ledger: ledger, flags: flags)
            } catch {
                outcome = error.isWouldBlock ? .collectorUnavailable : .sendFailed
            }

            queue.lock.lock()
            if let outcome {
                senderDrops[outcome.rawValue] &+= UInt64(encoder.frameCount)
            } else {
                nextSequence &+= 1
            }
            encoder.reset()
            queue.spares.append(encoder)
            queue.sending -= 1
            queue.condition.broadcast()
        }
        queue.lock.unlock()
    }

    private func sealAgedLanes(olderThan age: UInt64, now: UInt64) {
        for lane in lanes where lane.lock.tryLock() {
            if !lane.encoder.isEmpty && now &- lane.firstFrameNanos >= age { seal(lane) }
            lane.lock.unlock()
        }
    }

    // MARK: Flush and close

    /// Sends everything recorded so far, waiting for a slow collector up to
    /// `timeoutMillis`. Returns `true` when nothing is left buffered (everything was
    /// sent or counted as dropped) in time.
    @discardableResult
    public func flush(timeoutMillis: Int) -> Bool {
        let deadline = monotonicNanos() + UInt64(max(0, timeoutMillis)) * 1_000_000
        // Draining first: a batch sealed below must be sent blocking (waiting for the
        // collector up to the deadline), not with DONTWAIT by a sender that got to it first.
        queue.lock.withLock {
            queue.draining = true
            queue.deadlineNanos = deadline
        }
        for lane in lanes {
            lane.lock.lock()
            seal(lane)
            lane.lock.unlock()
        }
        queue.lock.lock()
        defer { queue.lock.unlock() }
        queue.condition.broadcast()
        while !(queue.ready.isEmpty && queue.sending == 0) && monotonicNanos() < deadline {
            queue.condition.wait(untilNanos: deadline)
        }
        queue.draining = false
        let handedOver = queue.ready.isEmpty && queue.sending == 0
        queue.lock.unlock()
        let written = awaitWritten(deadline: deadline)
        queue.lock.lock()
        return handedOver && written
    }

    /// Waits (polling every millisecond) until libzmq has written every batch it holds,
    /// or until `deadline`; returns whether it did.
    private func awaitWritten(deadline: UInt64) -> Bool {
        while ledger.held > 0 {
            if monotonicNanos() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }

    /// Flushes within `timeoutMillis`, stops the sender and closes the socket; what
    /// could not be delivered in time (still buffered here, or still held by libzmq
    /// because the collector was behind) is counted as ``ClientDropReason/closeTimeout``.
    /// Returns once libzmq has released everything, so the counters are final.
    /// Later ``record(_:)`` calls are counted as ``ClientDropReason/closed``. Idempotent.
    @discardableResult
    public func close(timeoutMillis: Int = 2_000) -> TallyClientCounters {
        guard let thread = senderThread else { return counters }
        let deadline = monotonicNanos() + UInt64(max(0, timeoutMillis)) * 1_000_000
        // No frame enters a lane from here on; flush seals and sends what they hold.
        for lane in lanes { lane.lock.withLock { lane.closed = true } }
        flush(timeoutMillis: timeoutMillis)
        queue.lock.withLock {
            queue.stopping = true
            queue.draining = true
            queue.deadlineNanos = deadline
            queue.condition.broadcast()
        }
        pthread_join(thread, nil)
        senderThread = nil
        queue.lock.withLock {
            for encoder in queue.ready { senderDrops[ClientDropReason.closeTimeout.rawValue] &+= UInt64(encoder.frameCount) }
            queue.spares += queue.ready
            queue.ready.removeAll()
        }
        for lane in lanes {
            lane.lock.withLock {
                lane.closeTimeout &+= UInt64(lane.encoder.frameCount)
                lane.encoder.reset()
            }
        }
        // Batches libzmq still holds at the deadline are discarded by the close (linger 0,
        // sockets' default) and counted as such by the ledger; terminating the context
        // makes libzmq release them before the counters are read. Written batches are
        // given until the deadline to be read by the collector: hanging up an ipc://
        // connection whose collector is behind loses what it has not read (libzmq).
        if awaitWritten(deadline: deadline) {
            while unread.unreadBytes() > 0 && monotonicNanos() < deadline { usleep(1_000) }
        } else {
            ledger.beginDiscarding()
        }
        unread.close()
        socket.close()
        socket.context.terminate()
        return counters
    }

    // MARK: Counters

    /// A consistent-enough snapshot of the counters (each lane read under its lock).
    public var counters: TallyClientCounters {
        var result = TallyClientCounters()
        for lane in lanes {
            lane.lock.withLock {
                result.framesRecorded &+= lane.recorded
                result.dropped[ClientDropReason.invalidFrame.rawValue] &+= lane.invalid
                result.dropped[ClientDropReason.queueFull.rawValue] &+= lane.queueFull
                result.dropped[ClientDropReason.closeTimeout.rawValue] &+= lane.closeTimeout
            }
        }
        queue.lock.withLock {
            result.framesRecorded &+= recordedAfterClose
            result.dropped[ClientDropReason.closed.rawValue] &+= recordedAfterClose
            for reason in ClientDropReason.allCases { result.dropped[reason.rawValue] &+= senderDrops[reason.rawValue] }
        }
        let written = ledger.written
        result.framesSent = written.weight
        result.batchesSent = written.messages
        result.dropped[ClientDropReason.closeTimeout.rawValue] &+= ledger.discarded.weight
        return result
    }

    /// Why the most recent invalid frame was refused, for diagnosing a producer.
    public var lastInvalidFrameError: WireError? { queue.lock.withLock { lastInvalid } }
}

/// One recording buffer and its counters, guarded by `lock`.
private final class Lane: @unchecked Sendable {
    let lock = LaneLock()
    /// One of the client's `encoders` (which keep it alive), swapped for a spare when full.
    /// Held unretained: the per-frame path reads it through ``withEncoder(_:)``, which
    /// costs no retain and release (~40 Ir a frame in `client-record-labels`).
    private var encoderReference: Unmanaged<BatchEncoder>
    var encoder: BatchEncoder {
        get { encoderReference.takeUnretainedValue() }
        set { encoderReference = .passUnretained(newValue) }
    }
    var firstFrameNanos: UInt64 = 0
    var closed = false
    var recorded: UInt64 = 0
    var invalid: UInt64 = 0
    var queueFull: UInt64 = 0
    var closeTimeout: UInt64 = 0
    init(encoder: BatchEncoder) { encoderReference = .passUnretained(encoder) }

    /// Runs `body` on the lane's encoder without retaining it (the client's `encoders`
    /// keep it alive, and the lane lock keeps it from being swapped meanwhile).
    @inline(__always)
    func withEncoder<Value>(_ body: (BatchEncoder) -> Value) -> Value {
        encoderReference._withUnsafeGuaranteedRef(body)
    }

    /// ``withEncoder(_:)`` for a body that throws.
    @inline(__always)
    func withEncoder<Value>(_ body: (BatchEncoder) throws(WireError) -> Value) throws(WireError) -> Value {
        let outcome: Result<Value, WireError> = encoderReference._withUnsafeGuaranteedRef { encoder in
            do throws(WireError) { return .success(try body(encoder)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
}

/// Sealed batches waiting for the sender and the spare buffers, guarded by `lock`.
private final class SendQueue: @unchecked Sendable {
    let lock = PThreadLock()
    let condition: PThreadCondition
    var ready: [BatchEncoder] = []
    var spares: [BatchEncoder]
    var sending = 0
    var stopping = false
    /// Flush or close in progress: send blocking up to `deadlineNanos`.
    var draining = false
    var deadlineNanos: UInt64 = 0
    init(spares: [BatchEncoder]) {
        self.spares = spares
        ready.reserveCapacity(spares.count)
        condition = PThreadCondition(lock: lock)
    }
}
