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
