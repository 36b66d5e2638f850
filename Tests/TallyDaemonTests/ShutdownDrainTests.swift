import Foundation
import Testing
import TallyCore
@testable import TallyDaemon
import TallySynthetic
import TallyWire
import ZeroMQ

/// What ZeroMQ holds at stop is aggregated within the drain time or counted as dropped:
/// a source whose engine is made slow (tiny rings that no shard empties) has batches
/// queued when it is stopped; every batch is then either ingested or counted.
@Suite struct ShutdownDrainTests {
    /// An engine that is never started, with one 16-record ring: once the ring is full,
    /// each frame waits `waitMicros` and is dropped (counted as ring_full_timeout).
    static func slowEngine(waitMicros: Int) -> AggregationEngine {
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.shards = 1
        engineConfiguration.ringCapacity = 16
        engineConfiguration.backPressure = .wait(maxMicros: UInt64(waitMicros))
        return AggregationEngine(configuration: engineConfiguration)
    }

    @Test(.timeLimit(.minutes(15))) func batchesQueuedAtStopAreIngestedOrCountedNeverLost() throws {
        let engine = Self.slowEngine(waitMicros: 20_000)  // ~20 ms a frame once the ring is full
        let context = try ZMQContext()
        let endpoint = "inproc://drain-\(UUID().uuidString)"
        var settings = IngestSocketSettings(receiveQueueBatches: 100)
        settings.drainMillis = 300
        let source = try ZeroMQSource(context: context, endpoint: endpoint, port: engine.makeIngestPort(), settings: settings)
        source.start()
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(endpoint)
        var rng = SplitMix64(seed: 1)
        let fleet = SyntheticFleet(tenants: 1, users: 10)
        let batches = 12, framesPerBatch = 20
        for sequence in 0..<batches {
            let encoder = BatchEncoder(capacity: 8_192, producerID: 5)
            for _ in 0..<framesPerBatch {
                #expect(try encoder.append(fleet.frame(eventTimeMicros: UInt64(Date().timeIntervalSince1970 * 1e6), &rng)))
            }
            try push.send(Array(encoder.finish(sequence: UInt64(sequence))), flags: .dontWait)  // inproc: queued at once
        }
        Thread.sleep(forTimeInterval: 0.1)
        source.stop()  // ~0.4 s a batch: most are still queued
        let ingested = source.batches.load(ordering: .relaxed)
        let dropped = source.shutdownDroppedBatches.load(ordering: .relaxed)
        #expect(ingested + dropped == UInt64(batches), "every queued batch ingested or counted")
        #expect(dropped >= 1, "the drain time ran out with batches left")
        #expect(ingested >= 1)
        #expect(source.frames.load(ordering: .relaxed) + source.shutdownDroppedFrames.load(ordering: .relaxed)
                == UInt64(batches * framesPerBatch))
    }
}
