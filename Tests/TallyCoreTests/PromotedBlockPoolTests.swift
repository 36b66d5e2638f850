import Testing
import TallySketches
import TallyWire
@testable import TallyCore

@Suite struct PromotedBlockPoolTests {
    func values(_ latency: UInt32) -> FrameValues {
        FrameValues(userHash: 1, sessionHash: 1, cost: 0, queueTimeMicros: 0, timeToFirstTokenMicros: WireLimits.absent32,
                    totalLatencyMicros: latency, inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, errorClass: 0,
                    categoryID: WireLimits.noCategory, safetyKinds: [], status: .ok, outcome: OutcomeBits(task: .success),
                    safetySeverity: .none)
    }

    /// Blocks from the pool's chunks (4, 8, 16, 32, then 64 blocks): every aggregate and stash
    /// 16-aligned, each stash inside its own block after its aggregate, and no two blocks
    /// overlapping, over 300 blocks (six chunks). Each aggregate is written and read back
    /// whole, so an overlap would also show as a wrong count.
    @Test func blocksAreAlignedAndApart() {
        var pool = PromotedBlockPool()
        #expect(PromotedBlockPool.blockBytes % 16 == 0)
        #expect(PromotedBlockPool.stashOffset >= MemoryLayout<LiveSeriesAggregate>.stride)
        #expect(PromotedBlockPool.blockBytes <= 2_048, "Benchmarks/README.md's memory formula")
        var taken: [(aggregate: UnsafeMutablePointer<LiveSeriesAggregate>, stash: UnsafeMutablePointer<FrameValues>)] = []
        for n in 0..<300 {
            let block = pool.take()
            #expect(UInt(bitPattern: block.aggregate) % 16 == 0)
            #expect(UnsafeRawPointer(block.stash) - UnsafeRawPointer(block.aggregate) == PromotedBlockPool.stashOffset)
            block.aggregate.initialize(to: LiveSeriesAggregate(sketches: SketchParameters()))
            for _ in 0...n % 3 { block.aggregate.pointee.add(values(UInt32(n))) }
            block.stash.initialize(repeating: values(UInt32(n)), count: WindowTable.stashCapacity)
            taken.append(block)
        }
        let starts = taken.map { UInt(bitPattern: $0.aggregate) }.sorted()
        for (a, b) in zip(starts, starts.dropFirst()) { #expect(b - a >= UInt(PromotedBlockPool.blockBytes)) }
        for (n, block) in taken.enumerated() {
            #expect(block.aggregate.pointee.base.requests == UInt64(n % 3 + 1))
            #expect(block.aggregate.pointee.base.totalLatency.max == Double(n))
            #expect(block.stash[WindowTable.stashCapacity - 1].totalLatencyMicros == UInt32(n))
            block.aggregate.pointee.release()
            block.aggregate.deinitialize(count: 1)
        }
        pool.free()
    }
}
