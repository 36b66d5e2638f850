import Foundation
import Synchronization
import Testing
import TallyClient
import TallyCore
@testable import TallyDaemon
import TallyWire

/// The release of an idle producer across the whole collector: the engine releases its
/// number and the flusher moves its ledger counts to `producer.other` (SNAPSHOT.md, the
/// `producer.*` row). The release delay is over a minute (the active horizon's floor), so
/// the collector runs on a clock of the test's that it moves forward; frames travel over a
/// real ZeroMQ socket (ipc://) from a `TallyClient`.
@Suite struct ProducerReleaseDaemonTests {
    /// The collector's clock: starts at the wall clock, moved by the test only.
    final class TestClock: Sendable {
        let micros = Atomic<UInt64>(EndToEndTests.nowMicros())
        var now: UInt64 { micros.load(ordering: .acquiring) }
        func advance(seconds: UInt64) { micros.add(seconds * 1_000_000, ordering: .releasing) }
    }

    static let producer: UInt64 = 0x7A11_0000_0000_0001

    /// Sends `count` frames stamped at the collector's clock from ``producer``, and waits
    /// until the collector has accepted `acceptedAfter` frames in all and its shards have
    /// put them in their windows (before the test moves the clock: a frame a shard takes
    /// after that is late).
    static func send(_ count: Int, to run: EndToEndTests.Run, clock: TestClock, collector: Collector,
                     acceptedAfter: UInt64) throws -> Bool {
        var configuration = TallyClientConfiguration(endpoints: [run.ingest])
        configuration.producerID = producer
        let client = try TallyClient(configuration: configuration)
        for _ in 0..<count {
            client.record(TraceFrame(eventTimeMicros: clock.now, model: "m", totalLatencyMicros: 1_000))
        }
        let sent = client.close(timeoutMillis: 10_000)
        guard sent.framesSent == UInt64(count) else { return false }
        return EndToEndTests.wait(seconds: 30) {
            collector.counters()["frames.accepted"] == acceptedAfter
                && collector.engine.counters.aggregatedPerShard.reduce(0, +) == acceptedAfter
        }
    }

    @Test func anIdleProducerJoinsOtherAndComesBackFromZero() throws {
        let run = EndToEndTests.Run()
        var configuration = run.configuration(window: 1, lateness: 1)
        configuration.futureToleranceSeconds = 1
        configuration.index = false
        configuration.journal = false
        configuration.pubEndpoint = ""
        configuration.replayEndpoint = ""
        let clock = TestClock()
        let collector = try Collector(configuration: configuration, clock: { clock.now })
        collector.start()
        defer { _ = collector.stop() }
        let own = ProducerLedger.counterName(producer: Self.producer, field: "frames")
        let other = ProducerLedger.counterName(producer: ProducerLedger.otherProducers, field: "frames")
        // The release delay: the active horizon (its one-minute floor here), then the future
        // tolerance, a window and its lateness.
        let releaseAfterSeconds = collector.engine.producers.releaseAfterMicros / 1_000_000
        #expect(releaseAfterSeconds == 63)

        try #require(try Self.send(50, to: run, clock: clock, collector: collector, acceptedAfter: 50))
        #expect(collector.counters()[own] == 50)
        // Its window seals and is stored, with the producer's counts under its own name.
        clock.advance(seconds: 3)
        #expect(EndToEndTests.wait(seconds: 30) {
            ((try? EndToEndTests.stored(run.dir)) ?? []).reduce(0) { $0 + $1.requests } == 50
        })
        let stored = try EndToEndTests.stored(run.dir)
        #expect(stored.last?.counters[own] == 50)

        // Idle a second short of the delay: still listed.
        clock.advance(seconds: releaseAfterSeconds - 4)
        Thread.sleep(forTimeInterval: 0.5)  // ten flushes
        #expect(collector.counters()[own] == 50)
        #expect(collector.counters()[other] == nil)

        // Past it: the engine releases the producer and the flusher retires it from the
        // ledger, its counts now `producer.other`'s.
        clock.advance(seconds: 3)
        #expect(EndToEndTests.wait(seconds: 30) { collector.counters()[own] == nil })
        #expect(collector.counters()[other] == 50)
        #expect(collector.engine.producers.count == 0)

        // Back again: a new producer, counted from 0; what it sent before stays in `other`.
        try #require(try Self.send(5, to: run, clock: clock, collector: collector, acceptedAfter: 55))
        #expect(collector.counters()[own] == 5)
        #expect(collector.counters()[other] == 50)

        // Idle past twice the delay (the ledger's own idle retire, after the engine's release):
        // its five join `other` once, not twice.
        clock.advance(seconds: 2 * releaseAfterSeconds + 2)
        #expect(EndToEndTests.wait(seconds: 30) { collector.counters()[own] == nil })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(collector.counters()[other] == 55)
        #expect(collector.counters()["frames.accepted"] == 55)
        #expect(collector.counters()["dropped.late"] == 0, "every frame in its window")
    }
}
