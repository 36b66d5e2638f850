import Foundation
import Synchronization
import Testing
import TallyDaemon
import TallySynthetic
import TallyWire
import ZeroMQ

/// The attack suite of issue 18: a real tallyd (`TALLY_TEST_TALLYD`, else the debug
/// build) on loopback TCP with a 256 MiB budget and 32 connections, attacked while a
/// well-behaved producer sends alongside. After each attack: tallyd is alive, its
/// resident memory (sampled every 20 ms) stayed under the budget, every good frame sent
/// arrived and is in a window, and the attack was counted. Each test prints a table row.
/// Shared by the flood's threads.
final class FloodState: Sendable {
    let stopping = Atomic<Bool>(false)
    let sentBatches = Atomic<Int>(0)
}

@Suite(.serialized, .timeLimit(.minutes(15))) struct AttackTests {
    /// - Parameter goodHeldBack: the good producer was kept from sending for a while (refused
    ///   at the connection limit): frames recorded then waited in its client, and those that
    ///   reached tallyd after their window sealed are late, as they should be.
    static func check(_ name: String, _ outcome: AttackRun.Outcome, extra: String = "", goodHeldBack: Bool = false) {
        print("| \(name) | \(String(format: "%.0f", outcome.peakMiB)) MiB | \(outcome.counted) \(extra) (largest snapshot: \(outcome.maxSeries) series, \(outcome.maxSnapshotBytes) B; good frames: \(outcome.goodArrived) arrived, \(outcome.goodInWindows) in windows, \(outcome.goodLate) late, \(outcome.goodFolded) folded; tables ≤ \(outcome.tablesPeakBytes >> 20) MiB, the good producer's ≤ \(outcome.goodPeakBytes >> 20) MiB at flushes) |")
        #expect(outcome.aliveAtEnd, "\(name): tallyd alive after the attack")
        #expect(outcome.goodSent > 0)
        #expect(outcome.goodArrived == outcome.goodSent, "\(name): every good frame sent arrived")
        #expect(outcome.goodInWindows + outcome.droppedTotal + outcome.goodFolded >= outcome.goodArrived, "\(name): accounted for")
        guard !AttackRun.isBaseline else { return }
        #expect(outcome.exitStatus == 0, "\(name): graceful exit")
        #expect(outcome.peakMiB < Double(AttackRun.budgetMiB), "\(name): resident memory under the budget")
        // Exactly, by the good producer's own counters: nothing is lost uncounted.
        #expect(outcome.goodInWindows + outcome.goodFolded + outcome.goodLate + outcome.goodFuture + outcome.goodIngestDropped
                == outcome.goodArrived,
                "\(name): every good frame that arrived is in its series, or counted against the good producer as folded, late, future or dropped at ingest")
        #expect(outcome.goodFuture == 0, "\(name): the good producer's frames are stamped now")
        #expect(outcome.goodPeakBytes > 0, "\(name): what the good producer's series hold is reported")
        guard !goodHeldBack else { return }
        // The attack costs the connected good producer nothing. Once a known issue, twice
        // traced: the connection storm raced the good producer's own handshake (the storm
        // now waits for it), and a flood of 1 MiB batches took ¾ of the window tables'
        // memory first come while the good producer's open windows needed more than the
        // last ¼ (17–19 MiB of 64 MiB at flushes; 445 of 19,300 good frames folded in one CI
        // run, 102 in 1 of 5 local runs). The memory's first-come part is ½ since.
        #expect(outcome.goodInWindows == outcome.goodArrived,
                "\(name): no good frame late (\(outcome.goodLate)), folded (\(outcome.goodFolded)) or dropped at ingest (\(outcome.goodIngestDropped))")
    }

    /// Stops an attack early when the (pre-hardening) tallyd grows past 4 GiB: the
    /// machine is shared.
    static func overLimit(_ run: AttackRun) -> Bool { run.sampler.peakMiB > 4_096 }

    @Test func floodOf1MiBBatches() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        try run.startGoodProducer()
        let flood = FloodState()
        let done = DispatchSemaphore(value: 0)
        for flooder in 0..<2 {
            let thread = Thread {
                defer { done.signal() }
                // A send queue of 2 batches on the flooder's side: its own default (1,000 MiB
                // batches) would hold frames for seconds before tallyd sees them, and make them
                // late on the flooder's account.
                guard let context = try? ZMQContext(), let push = try? ZMQSocket(context: context, type: .push),
                      (try? push.setSendHighWaterMark(2)) != nil,
                      (try? push.setSendTimeout(milliseconds: 100)) != nil, (try? push.connect(run.endpoint)) != nil else { return }
                var rng = SplitMix64(seed: UInt64(flooder))
                let fleet = SyntheticFleet(tenants: 3, users: 1_000)
                var batch = AttackRun.fullBatch(producer: 666, rng: &rng, fleet: fleet)
                var built = Date()
                while !flood.stopping.load(ordering: .acquiring) {
                    if Date().timeIntervalSince(built) > 0.25 {  // fresh timestamps: the flood is current, not late
                        batch = AttackRun.fullBatch(producer: 666, rng: &rng, fleet: fleet)
                        built = Date()
                    }
                    if (try? push.send(batch)) != nil { flood.sentBatches.add(1, ordering: .relaxed) }
                }
            }
            thread.start()
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && !Self.overLimit(run) { Thread.sleep(forTimeInterval: 0.1) }
        flood.stopping.store(true, ordering: .releasing)
        done.wait(); done.wait()
        let outcome = try run.finish()
        Self.check("flood of 1 MiB batches (2 producers, 10 s)", outcome, extra: "batches sent=\(flood.sentBatches.load(ordering: .relaxed))")
        if !AttackRun.isBaseline {
            // The receive queues hold milliseconds of work (3 batches a connection), so a flood
            // does not turn into lateness: at most 1 % of what arrived (0 in runs so far).
            let flooded = outcome.counters[ProducerLedger.counterName(producer: 666, field: "frames"), default: 0]
            #expect(flooded > 0)
            #expect(outcome.counters["dropped.late", default: 0] * 100 <= flooded, "a flood does not turn into lateness")
        }
    }

    @Test func messagesOf64MiB() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        try run.startGoodProducer()
        let context = try ZMQContext()
        let big = [UInt8](repeating: 0xAB, count: 64 << 20)
        for _ in 0..<8 where !Self.overLimit(run) {
            let push = try ZMQSocket(context: context, type: .push)
            try push.setLinger(milliseconds: 1_000)
            try push.connect(run.endpoint)
            try push.send(big)
            Thread.sleep(forTimeInterval: 0.5)
            push.close()
        }
        Thread.sleep(forTimeInterval: 1)
        let outcome = try run.finish()
        Self.check("64 MiB messages (8)", outcome, extra: "ingest.connections.accepted=\(outcome.counters["ingest.connections.accepted", default: 0])")
        if !AttackRun.isBaseline {
            #expect(outcome.counters["ingest.connections.accepted", default: 0] >= 8, "each was let in, then closed at its size header")
            #expect(outcome.counters["ingest.batches", default: 0] == outcome.counters[ProducerLedger.counterName(producer: AttackRun.goodProducer, field: "batches")],
                    "no 64 MiB message was received")
        }
    }

    @Test func zmtpPeersAnnouncingHugeMessagesAndStalling() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        try run.startGoodProducer()
        // 20 peers announce 1 MiB (the limit) and stall after 1,000 bytes; one announces
        // 1 GiB; 4 connect and never finish their greeting.
        var stalled: [RawZMTPPeer] = []
        for _ in 0..<20 {
            guard let peer = RawZMTPPeer(port: run.port) else { continue }
            peer.write(RawZMTPPeer.greeting + RawZMTPPeer.ready + RawZMTPPeer.longMessageHeader(size: 1 << 20)
                       + [UInt8](repeating: 1, count: 1_000))
            stalled.append(peer)
        }
        let huge = try #require(RawZMTPPeer(port: run.port))
        huge.write(RawZMTPPeer.greeting + RawZMTPPeer.ready + RawZMTPPeer.longMessageHeader(size: 1 << 30)
                   + [UInt8](repeating: 2, count: 65_536))
        let silent = (0..<4).compactMap { _ in RawZMTPPeer(port: run.port) }
        let hugeClosed = huge.isClosedByPeer(timeoutMillis: 5_000)
        let silentClosed = silent.allSatisfy { $0.isClosedByPeer(timeoutMillis: 15_000) }
        // Longer than the 10-s heartbeat timeout tallyd once had.
        let stalledClosed = stalled.allSatisfy { $0.isClosedByPeer(timeoutMillis: 12_000) }
        let outcome = try run.finish()
        Self.check("ZMTP peers: 20 announce 1 MiB and stall, 1 announces 1 GiB, 4 silent", outcome,
                   extra: "closed by tallyd: 1 GiB \(hugeClosed), silent \(silentClosed), stalled \(stalledClosed)")
        if !AttackRun.isBaseline {
            #expect(hugeClosed, "a 1 GiB announcement closes the connection at once")
            #expect(silentClosed, "an unfinished handshake is closed after the handshake interval")
            // No ZMTP heartbeat (it also cut producers whose collector was behind, losing their
            // frames uncounted: issue 18): a stalled peer keeps its slot and ≤ 1 MiB, which the
            // budget counts; the good producer's frames still balance (`check`).
            #expect(!stalledClosed, "a peer stalled mid-message keeps its connection")
            #expect(outcome.counters["ingest.refused.handshake_failed", default: 0] >= 4)
        }
    }

    @Test func thousandConnectionsOpeningAndClosing() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        try run.startGoodProducer()
        // The storm is against a fleet that is connected already: a producer whose handshake
        // is still under way when 100 others connect competes with them for the free slots;
        // refused, its frames wait in its client (and turn late) until it gets in.
        try #require(run.waitUntilGoodProducerArrives(), "the good producer is admitted before the storm")
        let context = try ZMQContext()
        let encoder = BatchEncoder(capacity: 4_096, producerID: 900)
        var rng = SplitMix64(seed: 9)
        let fleet = SyntheticFleet(tenants: 1, users: 10)
        for _ in 0..<10 { _ = try encoder.append(fleet.frame(eventTimeMicros: UInt64(Date().timeIntervalSince1970 * 1e6), &rng)) }
        let batch = Array(encoder.finish(sequence: 0))
        for _ in 0..<10 {
            var sockets: [ZMQSocket] = []
            for _ in 0..<100 {
                let push = try ZMQSocket(context: context, type: .push)
                try push.setLinger(milliseconds: 200)
                try push.connect(run.endpoint)
                try push.send(batch)
                sockets.append(push)
            }
            Thread.sleep(forTimeInterval: 0.3)
            for socket in sockets { socket.close() }
        }
        // Every attacking connection is gone again: the open count falls back to the good producer's.
        Thread.sleep(forTimeInterval: 2)
        let openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(run.process.processIdentifier)/fd").count) ?? -1
        let outcome = try run.finish()
        Self.check("1,000 connections opening and closing (10 × 100)", outcome,
                   extra: "accepted=\(outcome.counters["ingest.connections.accepted", default: 0]) open files after=\(openFiles)")
        if !AttackRun.isBaseline {
            // Most of the 1,000 connects reach tallyd; under load some are closed by the attacker
            // before TCP completes (seen: 913 in a full parallel run).
            #expect(outcome.counters["ingest.connections.accepted", default: 0] >= 500)
            #expect(outcome.counters["ingest.refused.connection_limit", default: 0] > 0, "100 at once is over the cap of 32")
            #expect(openFiles < 100, "no connection or file leaks")
        }
    }

    /// A burst of newcomers (a fleet reconnecting at once) gets the free slots: the limit
    /// counts admitted connections, not those still in their handshake, so the first
    /// answered are let in up to the limit and only the rest are refused. (When the limit
    /// counted every open TCP connection, this burst filled 11 and 12 of the 31 free slots in
    /// two runs, and 100 connecting at once were all refused.)
    @Test func aBurstOfNewcomersFillsTheFreeSlots() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        try run.startGoodProducer()
        try #require(run.waitUntilGoodProducerArrives(), "the good producer is admitted first")
        let context = try ZMQContext()
        let newcomers = AttackRun.maxConnections + 8
        let fleet = SyntheticFleet(tenants: 1, users: 10)
        var rng = SplitMix64(seed: 11)
        var sockets: [ZMQSocket] = []
        for i in 0..<newcomers {
            let encoder = BatchEncoder(capacity: 4_096, producerID: UInt64(5_000 + i))
            for _ in 0..<10 { _ = try encoder.append(fleet.frame(eventTimeMicros: UInt64(Date().timeIntervalSince1970 * 1e6), &rng)) }
            let push = try ZMQSocket(context: context, type: .push)
            try push.setLinger(milliseconds: 0)
            try push.connect(run.endpoint)
            try push.send(Array(encoder.finish(sequence: 0)))
            sockets.append(push)
        }
        // Less than the 5-s handshake interval: a refused newcomer has not retried yet.
        Thread.sleep(forTimeInterval: 3)
        for socket in sockets { socket.close() }
        let outcome = try run.finish()
        let delivered = (0..<newcomers).filter {
            outcome.counters[ProducerLedger.counterName(producer: UInt64(5_000 + $0), field: "frames"), default: 0] > 0
        }.count
        Self.check("a burst of \(newcomers) newcomers with 1 slot taken", outcome,
                   extra: "newcomers that got in: \(delivered)")
        if !AttackRun.isBaseline {
            #expect(delivered == AttackRun.maxConnections - 1, "every free slot taken, and no more")
            #expect(outcome.counters["ingest.refused.connection_limit", default: 0] >= UInt64(newcomers - delivered))
        }
    }

    /// A good producer that connects while the connection limit is reached is refused, and
    /// gets in by itself once a slot frees: the gate refuses with ZAP status 300, after which
    /// libzmq reconnects (after a 400 it may give the endpoint up for good, libzmq#3519; seen
    /// here as a producer that sent nothing in a full parallel run).
    @Test func aProducerRefusedAtTheLimitGetsInOnceASlotFrees() throws {
        try #require(FileManager.default.isExecutableFile(atPath: IndexScenarioTests.tallydPath), "build tallyd first")
        let run = try AttackRun()
        let context = try ZMQContext()
        var holders: [ZMQSocket] = []
        for _ in 0..<(AttackRun.maxConnections + 8) {
            let push = try ZMQSocket(context: context, type: .push)
            try push.setLinger(milliseconds: 0)
            try push.connect(run.endpoint)
            holders.append(push)
        }
        Thread.sleep(forTimeInterval: 1.5)  // the holders take every slot
        // On the wire: a refused ZMTP peer is closed without an ERROR command (ZAP 300), which
        // is what makes libzmq clients reconnect. After a 400 tallyd would send `\x05ERROR\x03400`.
        let peer = try #require(RawZMTPPeer(port: run.port))
        peer.write(RawZMTPPeer.greeting + RawZMTPPeer.ready)
        // libzmq holds a connection refused with 300 until the handshake interval (5 s) ends.
        let sent = try #require(peer.receivedUntilClosed(timeoutMillis: 10_000), "tallyd closes a refused connection")
        let error: [UInt8] = [5] + Array("ERROR".utf8)
        #expect(sent.count >= 64, "tallyd's greeting came first")
        #expect(!(0...max(0, sent.count - error.count)).contains { Array(sent.dropFirst($0).prefix(error.count)) == error },
                "no ZMTP ERROR command: \(sent.dropFirst(64).map { String(format: "%02x", $0) }.joined())")
        try run.startGoodProducer()
        Thread.sleep(forTimeInterval: 2)    // the good producer is refused, more than once
        for holder in holders { holder.close() }
        Thread.sleep(forTimeInterval: 3)    // … and gets a slot once they are gone
        let outcome = try run.finish()
        Self.check("good producer refused at the limit, then admitted", outcome, goodHeldBack: true)
        if !AttackRun.isBaseline {
            #expect(outcome.counters["ingest.refused.connection_limit", default: 0] > 0, "the good producer was refused at first")
            #expect(outcome.goodArrived > 0, "and got in once the holders left")
        }
    }
}
