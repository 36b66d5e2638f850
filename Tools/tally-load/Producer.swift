import Foundation
import Synchronization
import TallyClient
import TallyCore
import TallySynthetic
import TallyWire

/// One simulated inference server: a thread with its own ``TallyClient`` (so its
/// own producer id) that records frames from a pre-generated pool, stamped with the
/// current time, at its share of the open-loop rate.
///
/// The pool (``poolSize`` clean frames drawn from the profile with this producer's
/// seed) keeps generation out of the measurement: a frame costs a time stamp, so the
/// producer is limited by encoding and sending, as a real server's telemetry is.
///
/// Scenarios (the fleet's ``SyntheticFleet/scenarios``) run on the time since
/// `start` (warm-up included): while one is on, each pool frame its scope matches
/// is recorded as a copy with its measures redrawn under the scenario's effects, or
/// skipped and counted as silenced; a silenced frame still takes its slot in the
/// schedule (the rate and `limit` count it) but is never recorded.
final class Producer: @unchecked Sendable {
    let index: Int
    let client: TallyClient
    private let fleet: SyntheticFleet
    private let pool: [TraceFrame]
    /// The index in `fleet.models` of each pool frame's model.
    private let poolModels: [Int]
    /// Frames per second for this producer; 0 = as fast as the collector takes them.
    private let rate: Double
    /// With `rate` 0: frames the client may hold unsent before the producer waits
    /// (half its batch queue of full batches, at ~100 bytes a frame).
    private let maxBuffered: UInt64
    /// Frames to record; 0 = no limit.
    private let limit: UInt64
    /// Slots of the schedule taken so far: frames recorded + silenced (read by the progress line).
    let scheduled = Atomic<UInt64>(0)
    /// Frames a scenario silenced so far.
    let silenced = Atomic<UInt64>(0)
    /// Frames each of `fleet.scenarios` matched; read after ``wait()``.
    private(set) var scenarioMatches: [UInt64]
    /// Redraws the frames scenarios match (its own stream, so the pool is the same with or without scenarios).
    private var scenarioRNG: SplitMix64
    private let stopping: StopFlag
    private let done = DispatchSemaphore(value: 0)

    init(index: Int, configuration: TallyClientConfiguration, fleet: SyntheticFleet, poolSize: Int, seed: UInt64,
         rate: Double, limit: UInt64, stopping: StopFlag) throws {
        self.index = index
        client = try TallyClient(configuration: configuration)
        var rng = SplitMix64(seed: seed)
        let pool = (0..<poolSize).map { _ in fleet.frame(eventTimeMicros: 0, &rng) }
        let modelIndex = Dictionary(fleet.models.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.fleet = fleet
        self.pool = pool
        poolModels = pool.map { modelIndex[$0.model]! }
        scenarioMatches = Array(repeating: 0, count: min(fleet.scenarios.count, Scenario.maximumCount))
        scenarioRNG = SplitMix64(seed: ~seed)
        self.rate = rate
        maxBuffered = UInt64(max(1, configuration.queueDepth / 2) * configuration.batchBytes / 100)
        self.limit = limit
        self.stopping = stopping
    }

    func start(at start: UInt64) {
        let thread = Thread { [self] in
            run(start: start)
            done.signal()
        }
        thread.name = "tally-load.producer.\(index)"
        thread.start()
    }

    func wait() { done.wait() }

    /// Records until the limit, or until told to stop. Checks the clock every
    /// `chunk` frames; sleeps when ahead of the schedule (open loop: a slow collector
    /// never slows the schedule, the client drops and counts instead).
    private func run(start: UInt64) {
        // Frames are stamped in place and lent to the client: copying one out of the pool
        // retained and released each of its strings (a quarter of the producer's CPU, perf).
        var pool = self.pool
        pool.withUnsafeMutableBufferPointer { pool in run(start: start, pool: pool) }
    }

    private func run(start: UInt64, pool: UnsafeMutableBufferPointer<TraceFrame>) {
        let chunk: UInt64 = 256
        var sent: UInt64 = 0
        var next = 0
        while !stopping.isRaised && (limit == 0 || sent < limit) {
            let now = AggregationEngine.wallClockMicros()
            let due = rate > 0 ? UInt64(Double(now &- start) / 1_000_000 * rate) &+ 1 : UInt64.max
            if sent >= due {
                usleep(200)
                continue
            }
            // --max is closed loop on the client's queue: never faster than the client's
            // sender drains it; the sender in turn waits for the collector (--send-wait), so
            // the whole chain runs at the collector's pace.
            if rate == 0 && client.counters.framesBuffered > maxBuffered {
                usleep(100)
                continue
            }
            let batch = min(chunk, due &- sent, limit == 0 ? UInt64.max : limit &- sent)
            let elapsed = Double(now &- start) / 1_000_000
            let scenarioOn = fleet.hasActiveScenario(atSecond: elapsed)
            for _ in 0..<batch {
                pool[next].eventTimeMicros = now
                if scenarioOn {
                    record(pool[next], model: poolModels[next], elapsedSeconds: elapsed)
                } else {
                    client.record(pool[next])
                }
                next = next &+ 1 == pool.count ? 0 : next &+ 1
            }
            sent &+= batch
            scheduled.store(sent, ordering: .relaxed)
        }
    }

    /// Records `frame` as the scenarios on at `elapsedSeconds` make it: unchanged when
    /// none matches, skipped when one silences it, else with its measures redrawn.
    private func record(_ frame: TraceFrame, model: Int, elapsedSeconds: Double) {
        let (effects, matched) = fleet.scenarioEffects(for: frame, elapsedSeconds: elapsedSeconds)
        guard matched != 0 else {
            client.record(frame)
            return
        }
        var bits = matched
        while bits != 0 {
            scenarioMatches[bits.trailingZeroBitCount] &+= 1
            bits &= bits &- 1
        }
        if effects.silence {
            silenced.add(1, ordering: .relaxed)
            return
        }
        var changed = frame
        fleet.drawMeasures(into: &changed, model: fleet.models[model], effects: effects, &scenarioRNG)
        client.record(changed)
    }
}

/// A flag raised once, read by many threads.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

enum LoadClock {
    /// CPU seconds this process used (user, system).
    static func cpuSeconds() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return (Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
                Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6)
    }
}
