import ArgumentParser
import Foundation
import TallyClient
import TallySynthetic
import TallyWire

/// tally-load: publishes a synthetic inference fleet (several models and versions,
/// a canary ring, Zipf tenants and users, lognormal latencies and tokens, an
/// error/timeout mix, occasional safety incidents and feedback) through TallyClient
/// at a given rate, then reports what it sent and what the client dropped.
@main
struct TallyLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-load", abstract: "Publish a synthetic inference fleet to a Tally collector.")

    @Option(name: .long, help: "Collector endpoint (repeatable).")
    var endpoint: [String] = ["tcp://127.0.0.1:7411"]
    @Option(name: .long, help: "Frames per second (open loop); 0 = as fast as possible.")
    var rate: Double = 2_000
    @Option(name: .long, help: "Seconds to run (0 = until --frames or interrupted).")
    var duration: Double = 0
    @Option(name: .long, help: "Frames to send (0 = no limit).")
    var frames: Int = 0
    @Option(name: .long, help: "Tenants in the fleet (Zipf).")
    var tenants: Int = 50
    @Option(name: .long, help: "Distinct users (Zipf).")
    var users: Int = 20_000
    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 1
    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false
    @Flag(name: .long, help: "No progress line.")
    var quiet = false

    func validate() throws {
        guard rate >= 0, duration >= 0, frames >= 0 else { throw ValidationError("rate, duration and frames are ≥ 0") }
        guard tenants >= 1, users >= 1 else { throw ValidationError("tenants and users are ≥ 1") }
    }

    func run() throws {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let interrupted = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { interrupted.signal() }
            source.resume()
            sources.append(source)
        }
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: endpoint))
        let fleet = SyntheticFleet(tenants: tenants, users: users)
        var rng = SplitMix64(seed: seed)
        let start = Date()
        var sent = 0
        var lastProgress = start
        while true {
            let elapsed = Date().timeIntervalSince(start)
            if duration > 0 && elapsed >= duration { break }
            if frames > 0 && sent >= frames { break }
            if interrupted.wait(timeout: .now()) == .success { break }
            // Open loop: the schedule says how many frames should be out by now.
            let due = rate > 0 ? Int(elapsed * rate) + 1 : sent + 1_000
            let target = frames > 0 ? min(due, frames) : due
            if sent >= target {
                Thread.sleep(forTimeInterval: min(0.001, 1 / max(rate, 1)))
                continue
            }
            let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
            while sent < target {
                client.record(fleet.frame(eventTimeMicros: now, &rng))
                sent += 1
            }
            if !quiet && Date().timeIntervalSince(lastProgress) >= 1 {
                lastProgress = Date()
                let c = client.counters
                FileHandle.standardError.write(Data(
                    "tally-load: \(sent) frames recorded, \(c.framesSent) sent, \(c.framesDropped) dropped, \(Int(Double(sent) / max(elapsed, 0.001))) frames/s\n".utf8))
            }
        }
        let counters = client.close(timeoutMillis: 5_000)
        let seconds = Date().timeIntervalSince(start)
        _ = sources
        var dropped: [String: UInt64] = [:]
        for reason in ClientDropReason.allCases { dropped[reason.name] = counters.dropped(reason) }
        if json {
            let drops = dropped.keys.sorted().map { "\"\($0)\":\(dropped[$0]!)" }.joined(separator: ",")
            print("{\"recorded\":\(counters.framesRecorded),\"sent\":\(counters.framesSent),\"batches\":\(counters.batchesSent),"
                  + "\"dropped\":{\(drops)},\"seconds\":\(seconds),\"rate\":\(Double(counters.framesSent) / max(seconds, 1e-9))}")
        } else {
            print("tally-load: recorded \(counters.framesRecorded), sent \(counters.framesSent) in \(counters.batchesSent) batches, "
                  + "dropped \(counters.framesDropped) \(dropped.filter { $0.value > 0 }), "
                  + "\(Int(Double(counters.framesSent) / max(seconds, 1e-9))) frames/s over \(String(format: "%.1f", seconds)) s")
        }
    }
}
