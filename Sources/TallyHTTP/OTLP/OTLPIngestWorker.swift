import Dispatch
import Foundation
import Synchronization
import TallyCore
import TallyWire

/// The one thread through which OTLP frames reach the engine. HTTP handlers hand it
/// whole requests' frames with ``offer(_:)``, which never blocks: past
/// ``capacityFrames`` queued frames it refuses (the endpoint answers 503). The thread
/// encodes frames into wire batches (``BatchEncoder``), decodes them (``BatchDecoder``)
/// and ingests them through its own ``IngestPort``: the same validation, engine,
/// limits and counters as ZeroMQ frames, on a port no ZeroMQ source shares.
public final class OTLPIngestWorker: @unchecked Sendable {
    /// Frames that may wait for the thread, over all queued requests.
    public let capacityFrames: Int
    private let port: IngestPort
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Frames handed to the engine in valid batches.
    let framesIngested = Atomic<UInt64>(0)
    /// Frames the engine's port dropped (ring full, engine stopped).
    let framesDropped = Atomic<UInt64>(0)
    /// Frames the encoder refused, by wire reason (a mapping gap; should stay 0).
    private let encoderRejected = Mutex([WireRejectReason: UInt64]())
    /// Until when (µs since the epoch) the engine counts as saturated: set
    /// ``saturationSeconds`` past a flush of which the engine dropped frames (its ring
    /// full, or it stopped); 0 never.
    private let engineSaturatedUntil = Atomic<UInt64>(0)
    /// Seconds the endpoint refuses after the engine dropped OTLP frames (1 by default,
    /// the `Retry-After` it sends).
    public let saturationSeconds: Double
    /// While true the thread takes nothing from the queue (until stopping): lets a test
    /// fill the queue deterministically to see the 503 path.
    let holdsQueue = Atomic<Bool>(false)

    struct State {
        var pending: [[TraceFrame]] = []
        var queuedFrames = 0
        var stopping = false
        var started = false
    }

    /// Producer id written into the OTLP batches' headers ("OTLP" in ASCII).
    public static let producerID: UInt64 = 0x4F54_4C50

    public init(port: IngestPort, capacityFrames: Int = 65_536, saturationSeconds: Double = 1) {
        self.port = port
        self.capacityFrames = capacityFrames
        self.saturationSeconds = saturationSeconds
    }

    /// Whether the engine dropped OTLP frames in the last ``saturationSeconds``: new
    /// requests then get 503 instead of being accepted and dropped after the 200.
    public var engineSaturated: Bool {
        engineSaturatedUntil.load(ordering: .relaxed) > AggregationEngine.wallClockMicros()
    }

    /// Queues `frames` for the engine; false (nothing queued) when the queue has no room
    /// for them or the worker is stopping. Never blocks on the engine.
    public func offer(_ frames: [TraceFrame]) -> Bool {
        guard !frames.isEmpty else { return true }
        let accepted = state.withLock { s -> Bool in
            // An empty queue takes any request, so one request larger than the bound still goes through.
            guard !s.stopping, s.queuedFrames == 0 || s.queuedFrames + frames.count <= capacityFrames else { return false }
            s.pending.append(frames)
            s.queuedFrames += frames.count
            return true
        }
        if accepted { wake.signal() }
        return accepted
    }

    public func start() {
        let go = state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard go else { return }
        let thread = Thread { [self] in run() }
        thread.name = "tally.otlp.ingest"
        thread.start()
    }

    /// Ingests what is queued, then ends the thread; waits at most `timeoutSeconds`.
    @discardableResult
    public func stop(timeoutSeconds: Double = 5) -> Bool {
        let wasStarted = state.withLock { s -> Bool in
            s.stopping = true
            return s.started
        }
        guard wasStarted else { return true }
        wake.signal()
        return finished.wait(timeout: .now() + timeoutSeconds) == .success
    }

    /// `otlp.frames` (ingested), `otlp.engine_dropped`, `otlp.queued`, `otlp.encoder_rejected.<reason>`.
    public func counters() -> [String: UInt64] {
        var c: [String: UInt64] = [
            "otlp.frames": framesIngested.load(ordering: .relaxed),
            "otlp.engine_dropped": framesDropped.load(ordering: .relaxed),
            "otlp.queued": UInt64(state.withLock { $0.queuedFrames }),
        ]
        for (reason, count) in encoderRejected.withLock({ $0 }) { c["otlp.encoder_rejected.\(reason.name)"] = count }
        return c
    }

    private func run() {
        let encoder = BatchEncoder(capacity: WireLimits.maxBatchBytes, producerID: OTLPIngestWorker.producerID)
        let decoder = BatchDecoder()
        var sequence: UInt64 = 0
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(100))
            if holdsQueue.load(ordering: .relaxed), !state.withLock({ $0.stopping }) { continue }
            let (work, stopping) = state.withLock { s -> ([[TraceFrame]], Bool) in
                defer { s.pending = []; s.queuedFrames = 0 }
                return (s.pending, s.stopping)
            }
            for frames in work {
                for frame in frames { append(frame, encoder, decoder, &sequence) }
            }
            if !encoder.isEmpty { flush(encoder, decoder, &sequence) }
            if stopping { break }
        }
        finished.signal()
    }

    private func append(_ frame: TraceFrame, _ encoder: BatchEncoder, _ decoder: BatchDecoder, _ sequence: inout UInt64) {
        do {
            if try encoder.append(frame) { return }
            flush(encoder, decoder, &sequence)
            _ = try encoder.append(frame)  // an empty batch takes any valid frame
        } catch {
            encoderRejected.withLock { $0[error.reason, default: 0] += 1 }
        }
    }

    private func flush(_ encoder: BatchEncoder, _ decoder: BatchDecoder, _ sequence: inout UInt64) {
        let bytes = encoder.finish(sequence: sequence)
        sequence &+= 1
        do {
            let view = try decoder.decode(bytes)
            let dropped = port.ingest(view)
            if dropped > 0 {
                framesDropped.add(dropped, ordering: .relaxed)
                engineSaturatedUntil.store(AggregationEngine.wallClockMicros() + UInt64(saturationSeconds * 1_000_000), ordering: .relaxed)
            }
            framesIngested.add(UInt64(view.frameCount), ordering: .relaxed)
        } catch {
            encoderRejected.withLock { $0[error.reason, default: 0] += UInt64(encoder.frameCount) }
        }
        encoder.reset()
    }
}
