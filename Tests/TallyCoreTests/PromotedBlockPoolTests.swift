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

    /// Blocks from the pools' chunks (4, 8, 16, 32, then 64 blocks): every aggregate and
    /// stash 16-aligned, the open stash filling the block from its start, a built series'
    /// stash from the stash pool, and no two blocks of a pool overlapping, over 300 of each
    /// (six chunks). Each block's open stash is filled and read back, then its aggregate and
    /// its stash written and read back whole, so an overlap would also show as a wrong count.
    @Test func blocksAreAlignedAndApart() {
        var pool = PromotedBlockPool()
        var stashes = PromotedBlockPool(bytesPerBlock: PromotedBlockPool.busyStashBytes)
        #expect(PromotedBlockPool.blockBytes % 16 == 0 && PromotedBlockPool.busyStashBytes % 16 == 0)
        #expect(PromotedBlockPool.blockBytes >= MemoryLayout<LiveSeriesAggregate>.stride)
        #expect(PromotedBlockPool.blockBytes <= 2_048, "Benchmarks/README.md's memory formula")
        #expect(WindowTable.openStashCapacity == 30)
        #expect(WindowTable.openStashCapacity * MemoryLayout<FrameValues>.stride <= PromotedBlockPool.blockBytes)
        #expect(WindowTable.stashCapacity * MemoryLayout<FrameValues>.stride <= PromotedBlockPool.busyStashBytes)
        var taken: [(block: UnsafeMutableRawPointer, stash: UnsafeMutableRawPointer)] = []
        for n in 0..<300 {
            let block = pool.take(), stashBlock = stashes.take()
            #expect(UInt(bitPattern: block) % 16 == 0 && UInt(bitPattern: stashBlock) % 16 == 0)
            let open = PromotedBlockPool.openStash(of: block)
            #expect(UnsafeMutableRawPointer(open) == block)
            open.initialize(repeating: values(UInt32(n)), count: WindowTable.openStashCapacity)
            #expect(open[WindowTable.openStashCapacity - 1].totalLatencyMicros == UInt32(n))
            open.deinitialize(count: WindowTable.openStashCapacity)
            let aggregate = PromotedBlockPool.aggregate(of: block), stash = PromotedBlockPool.stash(of: stashBlock)
            #expect(UnsafeMutableRawPointer(aggregate) == block && UnsafeMutableRawPointer(stash) == stashBlock)
            aggregate.initialize(to: LiveSeriesAggregate(sketches: SketchParameters()))
            for _ in 0...n % 3 { aggregate.pointee.add(values(UInt32(n))) }
            stash.initialize(repeating: values(UInt32(n)), count: WindowTable.stashCapacity)
            taken.append((block, stashBlock))
        }
        for (blocks, bytes) in [(taken.map(\.block), PromotedBlockPool.blockBytes),
                                (taken.map(\.stash), PromotedBlockPool.busyStashBytes)] {
            let starts = blocks.map { UInt(bitPattern: $0) }.sorted()
            for (a, b) in zip(starts, starts.dropFirst()) { #expect(b - a >= UInt(bytes)) }
        }
        for (n, (block, stashBlock)) in taken.enumerated() {
            let aggregate = PromotedBlockPool.aggregate(of: block)
            #expect(aggregate.pointee.base.requests == UInt64(n % 3 + 1))
            #expect(aggregate.pointee.base.totalLatency.max == Double(n))
            let stash = PromotedBlockPool.stash(of: stashBlock)
            #expect(stash[0].totalLatencyMicros == UInt32(n))
            #expect(stash[WindowTable.stashCapacity - 1].totalLatencyMicros == UInt32(n))
            aggregate.pointee.release()
            aggregate.deinitialize(count: 1)
        }
        pool.free()
        stashes.free()
    }
}
