import ArgumentParser
import Foundation
import Synchronization
import TallyClient
import TallyCore
import TallyDaemon
import TallySynthetic

/// tally-load: a load tester for Tally collectors. N producer threads, each with its
/// own TallyClient, publish a synthetic inference fleet (a profile file, or the
/// built-in one) at an open-loop rate or as fast as they can; a progress line while
/// it runs, a final report (sent, dropped by reason, achieved rate, CPU), and with
/// `--verify` a zero-loss check against the collector's snapshots. The profile's
/// scenarios run on the time since the producers started, warm-up included.
@main
struct TallyLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-load", abstract: "Load-test a Tally collector with a synthetic inference fleet.")

    @Option(name: .long, help: "Collector endpoint (repeatable; each producer spreads batches over all).")
    var endpoint: [String] = ["tcp://127.0.0.1:7411"]
    @Option(name: .long, help: "Producer threads, each with its own client and producer id.")
    var producers = 1
    @Option(name: .long, help: "Frames per second over all producers (open loop).")
    var rate: Double = 2_000
    @Flag(name: .long, help: "As fast as the collector takes them, closed loop: producers wait while their client's queue is half full, and the client waits for the collector (see --send-wait; ignores --rate).")
    var max = false
    @Option(name: .long, help: "Milliseconds a client waits for a collector that is behind before dropping a batch (default: 0 with --rate, open loop like a server's client; 1000 with --max).")
    var sendWait: Int?
    @Option(name: .long, help: "Seconds to run after the warm-up (0 = until --frames or interrupted).")
    var duration: Double = 0
    @Option(name: .long, help: "Seconds of load before the measured period (counted as sent, not in the rate).")
    var warmup: Double = 0
    @Option(name: .long, help: "Frames to send over all producers, silenced ones included (0 = no limit).")
    var frames: Int = 0
    @Option(name: .long, help: "Traffic profile file (see --print-default-profile).")
    var profile: String?
    @Flag(name: .long, help: "Print the built-in profile (the file format, documented) and exit.")
    var printDefaultProfile = false
    @Option(name: .long, help: "Frames pre-generated per producer and cycled.")
    var pool = 16_384
    @Option(name: .long, help: "Batch size limit in bytes (1024 … 1048576).")
    var batchBytes = 65_536
    @Option(name: .long, help: "Sealed batches each producer's client may queue for its sender (TallyClient queueDepth).")
    var clientQueue = 256
    @Option(name: .long, help: "Random seed (producer i uses seed + i).")
    var seed: UInt64 = 1
    @Option(name: .long, help: "After the run, check zero loss against the collector's data directory.")
    var verify: String?
    @Option(name: .long, help: "Seconds to wait for the collector's snapshots to balance.")
    var verifyTimeout: Double = 60
    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false
    @Flag(name: .long, help: "No progress line and no scenario start/end lines.")
    var quiet = false

    func validate() throws {
        guard producers >= 1 && producers <= 256 else { throw ValidationError("--producers is 1 … 256") }
        guard rate > 0 || max else { throw ValidationError("--rate is > 0 (or use --max)") }
        guard duration >= 0, warmup >= 0, frames >= 0 else { throw ValidationError("duration, warm-up and frames are ≥ 0") }
        // Each producer sends its share of --frames; a share of 0 would mean "no limit".
        guard frames == 0 || frames >= producers else { throw ValidationError("--frames is 0 or at least --producers") }
        guard pool >= 1 && pool <= 1 << 22 else { throw ValidationError("--pool is 1 … 4194304") }
        guard batchBytes >= 1024 && batchBytes <= 1 << 20 else { throw ValidationError("--batch-bytes is 1024 … 1048576") }
        guard clientQueue >= 1 && clientQueue <= 65_536 else { throw ValidationError("--client-queue is 1 … 65536") }
        guard verifyTimeout >= 0 else { throw ValidationError("--verify-timeout is ≥ 0") }
        guard (0...60_000).contains(sendWait ?? 0) else { throw ValidationError("--send-wait is 0 … 60000") }
    }

    func run() throws {
        if printDefaultProfile {
            print(LoadProfile.defaultText)
            return
        }
        var fleet = LoadProfile.defaultFleet()
        if let profile {
            let text: String
            do { text = try String(contentsOfFile: profile, encoding: .utf8) } catch {
                throw ValidationError("profile \(profile): \(error.localizedDescription)")
            }
            do { fleet = try LoadProfile.fleet(from: text, over: fleet) } catch {
                throw ValidationError("profile \(profile): \(error)")
            }
        }
        let (interrupted, signalSources) = Self.interruptFlag()
        defer { withExtendedLifetime(signalSources) {} }
        let stopping = StopFlag()
        let perProducerRate = max ? 0 : rate / Double(producers)
        var team: [Producer] = []
        for i in 0..<producers {
            var client = TallyClientConfiguration(endpoints: endpoint)
            client.batchBytes = batchBytes
            // Deeper than a server's default: on a machine shared with the collector, a
            // producer thread can be off the CPU for a few milliseconds at a time.
            client.queueDepth = clientQueue
            client.sendHighWaterMark = Int32(clientQueue)
            client.sendWaitMillis = sendWait ?? (max ? 1_000 : 0)
            let limit = frames == 0 ? 0 : UInt64(frames / producers + (i < frames % producers ? 1 : 0))
            team.append(try Producer(index: i, configuration: client, fleet: fleet, poolSize: pool, seed: seed &+ UInt64(i),
                                     rate: perProducerRate, limit: limit, stopping: stopping))
        }
        let cpuAtStart = LoadClock.cpuSeconds()
        let start = AggregationEngine.wallClockMicros()
        for producer in team { producer.start(at: start) }
        var measured: (micros: UInt64, frames: UInt64, cpu: (user: Double, system: Double))?
        var lastProgress = (micros: start, frames: UInt64(0))
        var announcer = ScenarioAnnouncer(scenarios: fleet.scenarios)
        while true {
            Thread.sleep(forTimeInterval: 0.05)
            let now = AggregationEngine.wallClockMicros()
            let scheduled = team.reduce(0) { $0 + $1.scheduled.load(ordering: .relaxed) }
            let sent = scheduled - team.reduce(0) { $0 + $1.silenced.load(ordering: .relaxed) }
            let elapsed = Double(now - start) / 1e6
            for line in announcer.lines(atSecond: elapsed) where !quiet {
                FileHandle.standardError.write(Data("tally-load: \(String(format: "%6.1f", elapsed)) s  \(line)\n".utf8))
            }
            if measured == nil && elapsed >= warmup { measured = (now, sent, LoadClock.cpuSeconds()) }
            let allDone = frames > 0 && scheduled >= UInt64(frames)
            if allDone || interrupted.isRaised || (duration > 0 && elapsed >= warmup + duration) { break }
            if !quiet && now - lastProgress.micros >= 1_000_000 {
                let recent = Double(sent - lastProgress.frames) / (Double(now - lastProgress.micros) / 1e6)
                let dropped = team.reduce(0) { $0 + $1.client.counters.framesDropped }
                FileHandle.standardError.write(Data(String(
                    format: "tally-load: %6.1f s%@  recorded %llu  %.2f M frames/s  client drops %llu\n",
                    elapsed, elapsed < warmup ? " (warm-up)" : "", sent, recent / 1e6, dropped).utf8))
                lastProgress = (now, sent)
            }
        }
        let end = AggregationEngine.wallClockMicros()
        let cpuAtEnd = LoadClock.cpuSeconds()
        stopping.raise()
        for producer in team { producer.wait() }
        let counters = team.map { $0.client.close(timeoutMillis: 10_000) }
        let window = measured ?? (start, 0, cpuAtStart)
        let silenced = team.reduce(0) { $0 + $1.silenced.load(ordering: .relaxed) }
        let report = LoadReport(
            producers: zip(team, counters).map { ($0.client.configuration.producerID, $1) },
            scenarios: fleet.scenarios.indices.map { i in
                (fleet.scenarios[i], team.reduce(0) { $0 + ($1.scenarioMatches.indices.contains(i) ? $1.scenarioMatches[i] : 0) })
            },
            silenced: silenced,
            measuredSeconds: Double(end - window.micros) / 1e6,
            measuredFrames: team.reduce(0) { $0 + $1.scheduled.load(ordering: .relaxed) } - silenced - window.frames,
            totalSeconds: Double(end - start) / 1e6, startedMicros: start,
            cpuUser: cpuAtEnd.user - window.cpu.user, cpuSystem: cpuAtEnd.system - window.cpu.system)
        var verification: Verification.Outcome?
        if let verify {
            verification = Verification(directory: verify, timeoutSeconds: verifyTimeout)
                .check(sentByProducer: Dictionary(uniqueKeysWithValues: report.producers.map { ($0.id, $0.counters.framesSent) }))
        }
        if json {
            print(report.json(verification: verification?.json))
        } else {
            print(report.text)
            for line in verification?.lines ?? [] { print("verify: \(line)") }
            if let verification {
                print("verify: \(verification.passed ? "PASSED: every frame sent is accounted for" : "FAILED")")
            }
        }
        if let verification, !verification.passed { throw ExitCode(1) }
    }

    /// Raised once SIGINT or SIGTERM arrives (the run then stops and reports); keep
    /// the returned sources alive for as long as the flag is read.
    static func interruptFlag() -> (StopFlag, [DispatchSourceSignal]) {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let flag = StopFlag()
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { flag.raise() }
            source.resume()
            sources.append(source)
        }
        return (flag, sources)
    }
}
