import TallySketches

/// Where a table's busy series live: each series' ``LiveSeriesAggregate`` (1,456 bytes) and
/// its stash (``WindowTable/stashCapacity`` × 64-byte ``FrameValues``, 512 bytes) in one
/// 1,968-byte block, taken from chunks this pool allocates, 4 blocks at first and twice as
/// many each time up to 64 (126 KB). Blocks are never given back one by one: a table's
/// series live until the table is freed, and then ``free()`` gives back the chunks.
///
/// Measured in `tally-kernels aggregate-70k`, where a sixth of the frames promote a series:
/// two `malloc`s a promotion cost ~990 instructions (most of them in jemalloc's functions
/// below `malloc`) and their two `free`s at teardown more. One 1,968-byte block from `malloc`
/// instead was worse (+100 Ir a frame: jemalloc's 2,048-byte class); from chunks, a block is
/// a pointer bump (Benchmarks/README.md, "Busy series from chunks").
///
/// Memory: at most one partly used chunk a table beyond its blocks (< 126 KB, its untouched
/// pages not resident); the blocks themselves cost what the two `malloc` blocks did (1,536
/// and 512 bytes in jemalloc's classes, 2,048 together). Owned by one table's state: not
/// thread-safe.
@usableFromInline
struct PromotedBlockPool {
    /// Where a block's stash starts: the aggregate's stride rounded up to 16 bytes.
    static let stashOffset = (MemoryLayout<LiveSeriesAggregate>.stride + 15) & ~15
    /// Bytes of one block (a multiple of 16, so every block of a chunk stays 16-aligned).
    static let blockBytes = (stashOffset + WindowTable.stashCapacity * MemoryLayout<FrameValues>.stride + 15) & ~15
    /// Blocks in the first chunk, and in the largest.
    static let firstChunkBlocks = 4
    static let largestChunkBlocks = 64

    private var chunks: [UnsafeMutablePointer<UInt8>] = []
    private var next: UnsafeMutableRawPointer? = nil
    private var left = 0
    private var nextChunkBlocks = PromotedBlockPool.firstChunkBlocks

    init() {}

    /// An uninitialized aggregate and stash in a new block.
    mutating func take() -> (aggregate: UnsafeMutablePointer<LiveSeriesAggregate>, stash: UnsafeMutablePointer<FrameValues>) {
        if left == 0 { addChunk() }
        let raw = next.unsafelyUnwrapped
        next = raw + PromotedBlockPool.blockBytes
        left &-= 1
        return (raw.bindMemory(to: LiveSeriesAggregate.self, capacity: 1),
                (raw + PromotedBlockPool.stashOffset).bindMemory(to: FrameValues.self, capacity: WindowTable.stashCapacity))
    }

    /// The aggregate's place in the block whose stash is `stash` (from ``take()``).
    static func aggregate(ofStash stash: UnsafeMutablePointer<FrameValues>) -> UnsafeMutablePointer<LiveSeriesAggregate> {
        (UnsafeMutableRawPointer(stash) - PromotedBlockPool.stashOffset).assumingMemoryBound(to: LiveSeriesAggregate.self)
    }

    private mutating func addChunk() {
        let blocks = nextChunkBlocks
        let chunk = SystemHeap.allocate(UInt8.self, capacity: blocks * PromotedBlockPool.blockBytes)
        chunks.append(chunk)
        next = UnsafeMutableRawPointer(chunk)
        left = blocks
        nextChunkBlocks = Swift.min(2 * blocks, PromotedBlockPool.largestChunkBlocks)
    }

    /// Gives back every chunk (their aggregates deinitialized first; stashes hold trivial values).
    mutating func free() {
        for chunk in chunks { SystemHeap.free(chunk) }
        chunks = []
        next = nil
        left = 0
        nextChunkBlocks = PromotedBlockPool.firstChunkBlocks
    }
}
