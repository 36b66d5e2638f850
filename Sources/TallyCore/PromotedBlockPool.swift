import TallySketches

/// Where a table's busy series live: each series' ``LiveSeriesAggregate`` (1,456 bytes) and
/// its stash (``WindowTable/stashCapacity`` × 64-byte ``FrameValues``, 512 bytes) in one
/// 1,968-byte block, taken from chunks this pool allocates, 4 blocks at first and twice as
/// many each time up to 64 (126 KB). Until its aggregate is built the whole block is the
/// series' stash (``openStash(of:)``: ``WindowTable/openStashCapacity`` frames, the
/// aggregate's room included). Blocks are never given back one by one: a table's
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

    /// A new block, uninitialized: its open stash (``openStash(of:)``) until the aggregate
    /// is built, then the aggregate (``aggregate(of:)``) and the stash after it
    /// (``stash(of:)``).
    mutating func take() -> UnsafeMutableRawPointer {
        if left == 0 { addChunk() }
        let block = next.unsafelyUnwrapped
        next = block + PromotedBlockPool.blockBytes
        left &-= 1
        return block
    }

    /// The stash of a series whose aggregate is not built yet: the whole block, room of the
    /// aggregate included (``WindowTable/openStashCapacity`` frames).
    static func openStash(of block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<FrameValues> {
        block.bindMemory(to: FrameValues.self, capacity: WindowTable.openStashCapacity)
    }

    /// The aggregate's place at the start of `block` (its open stash moved out first).
    static func aggregate(of block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<LiveSeriesAggregate> {
        block.bindMemory(to: LiveSeriesAggregate.self, capacity: 1)
    }

    /// The stash of a built series: ``WindowTable/stashCapacity`` frames after its aggregate.
    static func stash(of block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<FrameValues> {
        (block + PromotedBlockPool.stashOffset).bindMemory(to: FrameValues.self, capacity: WindowTable.stashCapacity)
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
