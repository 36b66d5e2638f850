import Foundation
import TallyCore
import TallyDaemon

/// `--verify`: proves from the collector's own snapshots (its data directory) that
/// nothing this run sent was lost.
///
/// Two balances, both from the newest snapshot of the running tallyd:
/// 1. per producer: frames the collector received from that producer id
///    (`producer.<id>.frames`) = frames its client sent (nothing lost in transport); of
///    those, the ones it dropped as late or future, folded, or dropped at ingest are
///    reported (`producer.<id>.late|future|folded|ingest_dropped`);
/// 2. collector-wide: frames accepted (`frames.accepted`) = frames in the windows of
///    every snapshot this tallyd process wrote + frames it counted as dropped
///    (`dropped.<reason>`: late, ring full, …) (nothing lost inside).
/// Snapshots arrive as windows close, so it polls until both hold or `timeout` passes.
struct Verification {
    struct Outcome {
        var passed: Bool
        var lines: [String]
        /// Frames the collector counted as dropped, by reason (all since it started).
        var collectorDrops: [String: UInt64]
        var json: String
    }

    let directory: String
    let timeoutSeconds: Double

    func check(sentByProducer: [UInt64: UInt64]) -> Outcome {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var last = Outcome(passed: false, lines: ["no snapshot in \(directory) yet"], collectorDrops: [:], json: "null")
        while true {
            if let outcome = evaluate(sentByProducer: sentByProducer) {
                last = outcome
                if outcome.passed { return outcome }
            }
            if Date() >= deadline { return last }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// One look at the data directory; nil when it holds no readable snapshot.
    private func evaluate(sentByProducer: [UInt64: UInt64]) -> Outcome? {
        let records = SnapshotLog.read(directory: directory).records.sorted { $0.sequence < $1.sequence }
        guard let newest = records.last, let latest = try? SnapshotCodec.decode(newest.payload) else { return nil }
        let counters = latest.counters
        // This process's snapshots: the newest one and the `snapshots` it had written before.
        let own = records.suffix(Int(min(UInt64(records.count), (counters["snapshots"] ?? 0) + 1)))
        var inWindows = latest.requests
        for record in own.dropLast() {
            guard let snapshot = try? SnapshotCodec.decode(record.payload) else {
                return Outcome(passed: false, lines: ["snapshot \(record.sequence) does not decode"], collectorDrops: [:],
                               json: "null")
            }
            inWindows &+= snapshot.requests
        }
        var drops: [String: UInt64] = [:]
        for (name, value) in counters where name.hasPrefix("dropped.") && value > 0 {
            drops[String(name.dropFirst("dropped.".count))] = value
        }
        let dropped = drops.values.reduce(0, +)
        let accepted = counters["frames.accepted"] ?? 0
        var lines: [String] = []
        var passed = true
        var producerJSON: [String] = []
        for (producer, sent) in sentByProducer.sorted(by: { $0.key < $1.key }) {
            let received = counters[ProducerLedger.counterName(producer: producer, field: "frames")] ?? 0
            let ok = received == sent
            passed = passed && ok
            let id = ProducerLedger.label(producer)
            // Of what it received, what tallyd could not put in the producer's own series
            // (its share of the collector-wide drops; informational, not part of the balance).
            let lost = ["late", "future", "folded", "ingest_dropped"].map {
                ($0, counters[ProducerLedger.counterName(producer: producer, field: $0)] ?? 0)
            }
            let lostText = lost.filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            lines.append("producer \(id): sent \(sent), collector received \(received) \(ok ? "ok" : "MISMATCH")"
                         + (lostText.isEmpty ? "" : " (of those: \(lostText))"))
            producerJSON.append("{\"producer\":\"\(id)\",\"sent\":\(sent),\"received\":\(received),"
                                + lost.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        }
        let balanced = accepted == inWindows &+ dropped
        passed = passed && balanced
        lines.append("collector: accepted \(accepted) = in windows \(inWindows) + dropped \(dropped) "
                     + "\(drops.isEmpty ? "" : "\(drops.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }) ")"
                     + "\(balanced ? "ok" : "MISMATCH") (\(own.count) snapshots, newest \(newest.sequence))")
        let dropJSON = drops.keys.sorted().map { "\"\($0)\":\(drops[$0]!)" }.joined(separator: ",")
        let json = "{\"passed\":\(passed),\"producers\":[\(producerJSON.joined(separator: ","))],"
            + "\"accepted\":\(accepted),\"in_windows\":\(inWindows),\"dropped\":{\(dropJSON)}}"
        return Outcome(passed: passed, lines: lines, collectorDrops: drops, json: json)
    }
}
