import Synchronization
import Testing
@testable import TallyDaemon

/// The ledger of frames per producer retires the producers the engine released: their
/// counts join `producer.other`, so a sum over every producer never decreases, and their
/// entries make room for new producers.
@Suite struct ProducerLedgerTests {
    @Test func retiredProducersJoinOtherAndMakeRoom() {
        let ledger = ProducerLedger(capacity: 2)
        ledger.record(producer: 0xA, frames: 10, dropped: 1)
        ledger.record(producer: 0xA, frames: 5, dropped: 0)
        ledger.record(producer: 0xB, frames: 7, dropped: 0)
        ledger.record(producer: 0xC, frames: 3, dropped: 0)  // past the capacity: other
        #expect(ledger.snapshot[ProducerLedger.otherProducers]?.frames == 3)

        ledger.retire([0xA, 0xD, ProducerLedger.otherProducers])  // 0xD unknown; other is not a producer
        var snapshot = ledger.snapshot
        #expect(snapshot[0xA] == nil && snapshot.count == 2)
        var other = ProducerLedger.Entry()
        other.frames = 18
        other.ingestDropped = 1
        other.batches = 3
        #expect(snapshot[ProducerLedger.otherProducers] == other)
        #expect(snapshot.values.reduce(0) { $0 + $1.frames } == 25, "nothing lost")

        ledger.record(producer: 0xC, frames: 4, dropped: 0)  // room again
        ledger.record(producer: 0xA, frames: 2, dropped: 0)  // back, but the ledger is full again
        snapshot = ledger.snapshot
        #expect(snapshot[0xC]?.frames == 4 && snapshot[0xB]?.frames == 7)
        #expect(snapshot[ProducerLedger.otherProducers]?.frames == 20)
    }
}

/// A producer the engine never numbered is never released there; the ledger retires it, and
/// any other, once idle past the delay the collector passes, by its own clock.
@Suite struct ProducerLedgerIdleTests {
    @Test func idleProducersAreRetiredByTheLedgersClock() {
        let now = Mutex<UInt64>(1_000)
        let ledger = ProducerLedger(capacity: 2, clock: { now.withLock { $0 } })
        ledger.record(producer: 0xA, frames: 10, dropped: 0)
        now.withLock { $0 = 1_050 }
        ledger.record(producer: 0xB, frames: 7, dropped: 2)
        ledger.record(producer: 0xC, frames: 3, dropped: 0)  // past the capacity: other, never idle-retired itself

        now.withLock { $0 = 1_100 }
        #expect(ledger.retireIdle(longerThanMicros: 100).isEmpty, "idle exactly the delay: kept")
        #expect(ledger.retireIdle(longerThanMicros: .max).isEmpty)

        now.withLock { $0 = 1_101 }
        #expect(ledger.retireIdle(longerThanMicros: 100) == [0xA])
        var snapshot = ledger.snapshot
        #expect(snapshot[0xA] == nil && snapshot[0xB]?.frames == 7)
        #expect(snapshot[ProducerLedger.otherProducers]?.frames == 13 && snapshot[ProducerLedger.otherProducers]?.batches == 2)

        // A batch of 0xB resets its idle time; a new producer takes 0xA's room.
        now.withLock { $0 = 1_140 }
        ledger.record(producer: 0xB, frames: 1, dropped: 0)
        ledger.record(producer: 0xD, frames: 5, dropped: 0)
        now.withLock { $0 = 1_200 }
        #expect(ledger.retireIdle(longerThanMicros: 100).isEmpty, "0xB's last batch came at 1,140")
        snapshot = ledger.snapshot
        #expect(snapshot[0xD]?.frames == 5, "the room 0xA left")

        now.withLock { $0 = 1_300 }
        #expect(ledger.retireIdle(longerThanMicros: 100) == [0xB, 0xD])
        snapshot = ledger.snapshot
        #expect(snapshot.count == 1)
        #expect(snapshot[ProducerLedger.otherProducers]?.frames == 26, "nothing lost: 10 + 7 + 3 + 1 + 5")
        #expect(snapshot[ProducerLedger.otherProducers]?.ingestDropped == 2)
    }

    @Test func aProducerRetiredByTheEngineIsForgottenByTheIdleClock() {
        let now = Mutex<UInt64>(0)
        let ledger = ProducerLedger(capacity: 4, clock: { now.withLock { $0 } })
        ledger.record(producer: 0xA, frames: 4, dropped: 0)
        ledger.retire([0xA])
        now.withLock { $0 = 500 }
        #expect(ledger.retireIdle(longerThanMicros: 100).isEmpty, "already retired: not retired twice")
        #expect(ledger.snapshot[ProducerLedger.otherProducers]?.frames == 4)
    }
}
