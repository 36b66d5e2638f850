import Foundation
import Testing
import TallyClient
import TallyCore
import TallyDaemon
import TallyWire
import ZeroMQ

/// The attacks of issue 18 on tallyd's cardinality: new keys flooding the series cap,
/// strings that no frame uses, distinct names in frames past the symbol table's bound, and
/// every allowed future window filled to the cap. After
/// each, besides ``AttackTests/check(_:_:extra:)``: a fresh model name
/// sent afterwards is aggregated under its own name.
extension AttackTests {
    static let freshModel = "fresh-after-attack"

    /// Sends `batches` on one PUSH connection (1 s send timeout each), then closes it.
    static func push(_ batches: [[UInt8]], to endpoint: String) throws -> Int {
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push)
        try push.setSendTimeout(milliseconds: 1_000)
        try push.setLinger(milliseconds: 2_000)
        try push.connect(endpoint)
        var sent = 0
        for batch in batches where (try? push.send(batch)) != nil { sent += 1 }
        push.close()
        return sent
    }

    /// A new producer (id 778) sends 100 frames of ``freshModel``, stamped now.
    static func sendFreshModel(to endpoint: String) throws -> UInt64 {
        var configuration = TallyClientConfiguration(endpoints: [endpoint])
        configuration.producerID = 778
        configuration.sendWaitMillis = 1_000
        let client = try TallyClient(configuration: configuration)
        for _ in 0..<100 {
            client.record(TraceFrame(eventTimeMicros: UInt64(Date().timeIntervalSince1970 * 1e6), model: freshModel,
                                     totalLatencyMicros: 2_000))
        }
        return client.close(timeoutMillis: 5_000).framesSent
    }

    /// One producer sends 32,000 new keys a second for 5 s (10 times the cap of 2 × 3,000
    /// series a window; the budget's flush share alone allows 2 × 3,198): its keys fold past
    /// its share, the good producer's keep their series.
    @Test func newKeysFloodingTheSeriesCap() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun(extraConfig: "max_series_per_shard = 3000\n")
        try run.startGoodProducer()
        Thread.sleep(forTimeInterval: 0.5)  // the good producer is a fleet member the collector knows
        let flooder: UInt64 = 999
        var sent = 0
        for round in 0..<20 {
            let now = UInt64(Date().timeIntervalSince1970 * 1e6)
            let batches = try AttackRun.keyBatches(producer: flooder, count: 8_000, model: { "flood-\(round)-\($0)" },
                                                   eventTime: { _ in now })
            sent += try Self.push(batches, to: run.endpoint)
            Thread.sleep(forTimeInterval: 0.25)
        }
        let freshSent = try Self.sendFreshModel(to: run.endpoint)
        Thread.sleep(forTimeInterval: 1)
        let outcome = try run.finish()
        let folded = { (producer: UInt64) in outcome.counters[ProducerLedger.counterName(producer: producer, field: "folded"), default: 0] }
        Self.check("new keys flooding the series cap (160,000 keys in 5 s, cap 2 × 3,000)", outcome,
                   extra: "batches sent=\(sent) frames.folded=\(outcome.counters["frames.folded", default: 0]) flooder folded=\(folded(flooder)) good folded=\(folded(AttackRun.goodProducer))")
        guard !AttackRun.isBaseline else { return }
        #expect(folded(flooder) > 100_000, "the flood's own keys fold")
        #expect(folded(AttackRun.goodProducer) == 0, "the good producer's keys are never folded")
        #expect(folded(778) == 0)
        #expect(outcome.requestsByModel[Self.freshModel] == freshSent, "a fresh model name keeps its own series")
    }

    /// 10^6 distinct strings in batches without frames: the symbol table takes none of them.
    @Test func aMillionDistinctStringsInZeroFrameBatches() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        try run.startGoodProducer()
        var batches: [[UInt8]] = []
        var next = 0
        while next < 1_000_000 {
            let strings = (next..<min(next + 4_096, 1_000_000)).map { "attack-string-\($0)" }
            batches.append(AttackRun.stringsOnlyBatch(producer: 666, strings: strings, sequence: UInt64(batches.count)))
            next += strings.count
        }
        let sent = try Self.push(batches, to: run.endpoint)
        Thread.sleep(forTimeInterval: 1)
        let freshSent = try Self.sendFreshModel(to: run.endpoint)
        Thread.sleep(forTimeInterval: 1)
        let outcome = try run.finish()
        Self.check("10^6 distinct strings in \(batches.count) zero-frame batches", outcome,
                   extra: "batches sent=\(sent) symbols.interned=\(outcome.counters["symbols.interned", default: 0])")
        guard !AttackRun.isBaseline else { return }
        #expect(sent == batches.count)
        #expect(outcome.counters[ProducerLedger.counterName(producer: 666, field: "batches"), default: 0] == UInt64(sent),
                "every string batch was valid and received")
        #expect(outcome.counters["symbols.interned", default: .max] < 10_000, "no string of those batches was interned")
        #expect(outcome.counters["symbols.overflowed", default: .max] == 0)
        #expect(outcome.requestsByModel[Self.freshModel] == freshSent, "a fresh model name keeps its own series")
    }

    /// Distinct model names in accepted frames, four times what the symbol table holds at
    /// this budget (256 MiB / 16 / 448 B = 37,449): the flooder's share of the table (half:
    /// the good producer is known) fills while the flood's windows are open (later names
    /// map to `~overflow~`, counted), and once those windows are flushed its names are
    /// released. A fresh model name is told apart throughout.
    @Test func distinctNamesInFramesFillTheSymbolTableOnlyWhileTheirWindowsLive() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        // At the default series cap, which this budget's flush share lowers to 2 × 3,198:
        // the names are interned as their batches are resolved, before any series cap.
        let run = try AttackRun()
        try run.startGoodProducer()
        Thread.sleep(forTimeInterval: 0.5)
        var sent = 0
        for round in 0..<3 {
            let now = UInt64(Date().timeIntervalSince1970 * 1e6)
            let batches = try AttackRun.keyBatches(producer: 444, count: 50_000, model: { "name-\(round)-\($0)" },
                                                   eventTime: { _ in now })
            sent += try Self.push(batches, to: run.endpoint)
        }
        // The flood's windows seal 1 s + 2 s (lateness) after their start; then the flusher
        // builds them and the next cycle of the symbol reclaimer releases their names, which
        // the next snapshot's counters show (at most 60 s; 11–19 s measured).
        let deadline = Date().addingTimeInterval(60)
        var releasedSeen: UInt64 = 0
        while Date() < deadline && releasedSeen < 18_000 {
            Thread.sleep(forTimeInterval: 0.5)
            let newest = SnapshotLog.read(directory: run.dir + "/data").records.last
            releasedSeen = newest.flatMap { try? SnapshotCodec.decode($0.payload).counters["symbols.released"] } ?? 0
        }
        let freshSent = try Self.sendFreshModel(to: run.endpoint)
        Thread.sleep(forTimeInterval: 1)
        let outcome = try run.finish()
        let c = { (name: String) in outcome.counters[name, default: 0] }
        Self.check("150,000 distinct model names in frames (symbol table: 37,449)", outcome,
                   extra: "released within \(60 - Int(deadline.timeIntervalSinceNow)) s of the flood; batches sent=\(sent) symbols.overflowed=\(c("symbols.overflowed")) symbols.released=\(c("symbols.released")) symbols.interned=\(c("symbols.interned"))")
        guard !AttackRun.isBaseline else { return }
        #expect(c("symbols.overflowed") > 10_000, "the flood filled the table")
        #expect(c("symbols.released") >= 18_000, "and its names (its share, 37,449 ÷ 2) were released once their windows were flushed")
        #expect(c("symbols.interned") < 1_000, "what is left: the good producer's and the fresh names")
        #expect(outcome.requestsByModel[Self.freshModel] == freshSent, "a fresh model name keeps its own series")
        #expect(outcome.requestsByModel[AttackRun.goodModel, default: 0] > 0)
    }

    /// Every window the future tolerance allows (now … now + 10 s, 1-s windows) filled to
    /// the series cap (2 shards × 3,000) by 7,200 keys each.
    @Test func everyFutureWindowFilledToTheSeriesCap() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun(extraConfig: "max_series_per_shard = 3000\n")
        try run.startGoodProducer()
        Thread.sleep(forTimeInterval: 0.5)
        let now = UInt64(Date().timeIntervalSince1970 * 1e6)
        let windows = 11, keys = 7_200
        // Window k (from now) holds every key once.
        let batches = try AttackRun.keyBatches(producer: 555, count: windows * keys, model: { "future-\($0 % keys)" },
                                               eventTime: { now + UInt64($0 / keys) * 1_000_000 })
        let sent = try Self.push(batches, to: run.endpoint)
        let freshSent = try Self.sendFreshModel(to: run.endpoint)
        Thread.sleep(forTimeInterval: 2)
        let outcome = try run.finish()
        Self.check("every future window (11) at the series cap (2 × 3,000)", outcome,
                   extra: "batches sent=\(sent) frames.folded=\(outcome.counters["frames.folded", default: 0]) dropped.future=\(outcome.counters["dropped.future", default: 0])")
        guard !AttackRun.isBaseline else { return }
        #expect(outcome.counters["frames.folded", default: 0] > 0, "the windows reached the cap")
        #expect(outcome.requestsByModel[Self.freshModel] == freshSent, "a fresh model name keeps its own series")
    }
}
