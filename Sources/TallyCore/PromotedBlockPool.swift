import TallySketches

/// Where a table's promoted series live: each series' block, and each built series' stash.
/// A block is room for the series' ``LiveSeriesAggregate`` (1,456 bytes); until the aggregate
/// is built the whole block is the series' stash (``openStash(of:)``:
/// ``WindowTable/openStashCapacity`` = 30 frames, 1,920 bytes). A built series' stash
/// (``WindowTable/stashCapacity`` × 64-byte ``FrameValues``, 2,048 bytes) comes from a second
/// pool of its table, whose blocks are ``busyStashBytes`` long. Both pools take blocks from
/// chunks they allocate, 4 blocks at first and twice as many each time up to 64 (123 KB and
/// 131 KB). Blocks are never given back one by one: a table's series live until the table is
/// freed, and then ``free()`` gives back the chunks.
///
/// Measured in `tally-kernels aggregate-70k`, where a sixth of the frames promote a series:
/// two `malloc`s a promotion cost ~990 instructions (most of them in jemalloc's functions
/// below `malloc`) and their two `free`s at teardown more. One 1,968-byte block from `malloc`
/// instead was worse (+100 Ir a frame: jemalloc's 2,048-byte class); from chunks, a block is
/// a pointer bump (Benchmarks/README.md, "Busy series from chunks").
///
/// Memory: at most one partly used chunk of each pool a table beyond its blocks (< 131 KB
/// each, their untouched pages not resident). Owned by one table's state: not thread-safe.
@usableFromInline
struct PromotedBlockPool {
    /// Bytes of a series' block: its aggregate's stride or its open stash, whichever is
    /// more, rounded up to 16 (so every block of a chunk stays 16-aligned).
    static let blockBytes = (Swift.max(MemoryLayout<LiveSeriesAggregate>.stride,
                                       WindowTable.openStashCapacity * MemoryLayout<FrameValues>.stride) + 15) & ~15
    /// Bytes of a built series' stash (a multiple of 16).
    static let busyStashBytes = (WindowTable.stashCapacity * MemoryLayout<FrameValues>.stride + 15) & ~15
    /// Blocks in the first chunk, and in the largest.
    static let firstChunkBlocks = 4
    static let largestChunkBlocks = 64

    /// Bytes of each block this pool gives.
    let bytesPerBlock: Int
    private var chunks: [UnsafeMutablePointer<UInt8>] = []
    private var next: UnsafeMutableRawPointer? = nil
    private var left = 0
    private var nextChunkBlocks = PromotedBlockPool.firstChunkBlocks

    /// A pool of series' blocks (``blockBytes``), or of `bytesPerBlock`-byte blocks (a
    /// multiple of 16: ``busyStashBytes`` for built series' stashes).
    init(bytesPerBlock: Int = PromotedBlockPool.blockBytes) {
        precondition(bytesPerBlock > 0 && bytesPerBlock % 16 == 0, "blocks of a multiple of 16 bytes")
        self.bytesPerBlock = bytesPerBlock
    }

    /// A new block, uninitialized: a series' open stash (``openStash(of:)``) until its
    /// aggregate is built, then its aggregate (``aggregate(of:)``); from a stash pool, a built
    /// series' stash (``stash(of:)``).
    mutating func take() -> UnsafeMutableRawPointer {
        if left == 0 { addChunk() }
        let block = next.unsafelyUnwrapped
        next = block + bytesPerBlock
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

    /// A built series' stash: a block of a ``busyStashBytes`` pool as
    /// ``WindowTable/stashCapacity`` frames.
    static func stash(of block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<FrameValues> {
        block.bindMemory(to: FrameValues.self, capacity: WindowTable.stashCapacity)
    }

    private mutating func addChunk() {
        let blocks = nextChunkBlocks
        let chunk = SystemHeap.allocate(UInt8.self, capacity: blocks * bytesPerBlock)
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
