import Synchronization

/// What the engine's window tables may hold, in bytes, estimated at each series' worst
/// case in steps, as it grows: ``oneFrameSeriesBytes`` when a series is admitted,
/// ``promotedSeriesBytes`` more at its second frame (its block, which stashes its next 29
/// frames, and its snapshot's extra at the flush), the rest of ``busySeriesBytes`` when its aggregate is built at its 31st frame
/// (aggregate, stash and sketches, every sketch at its largest; refused, the series keeps
/// its 30 frames and its later ones fold, `frames.folded_memory`), and 16 KiB each time a
/// busy series' histogram front ends need room (``LiveSeriesAggregate``; refused, the
/// series stays on its digests, counted as `series.histograms_refused`). (Until December
/// 2026 the second frame reserved the whole busy series: a series of 2 to 30 frames, most
/// series that are not one frame, counted 32 KiB where it holds 2.3 KB and its flush needs 3.5 KB more.)
/// Tables reserve before they grow and release what they reserved when they are freed
/// (after the flusher has built the window's snapshot), so open and sealed-but-unflushed
/// windows both count.
///
/// When a reservation does not fit, the frame folds into its table's overflow series
/// (counted as `frames.folded` and `frames.folded_memory`): a new key is not admitted, a
/// one-frame series is not given its block, a 30-frame series its aggregate. The overflow series (one a table)
/// is outside the limit, so that folding never takes room from the series: the tables can
/// hold up to ``busySeriesBytes`` each beyond it.
///
/// Shared fairly between producers, like a window's series cap: the first ½ of the limit
/// first come, first served; the second ½ only for a producer holding less than its share,
/// the limit divided by the producers active now (``ProducerDirectory/fairShare(of:holders:active:)``).
/// A producer whose traffic fills the tables is stopped at ½ (or at its share, if that is
/// more) and the others keep room to grow; with two producers each is sure of its half.
/// (¾ until December 2026: under a flood of 1 MiB batches, a well-behaved producer whose
/// open windows needed more than the last quarter folded some of its frames, 445 of 19,300
/// in one CI run of the attack tests.) One lock per reservation (a new series, a series'
/// second frame, its 31st, a histogram allowance), never per frame.
public final class EngineMemory: Sendable {
    /// Bytes a series with one frame holds: its entry (the first record, pointers) and its
    /// index slots (Benchmarks/README.md, "Memory": 255 B measured).
    public static let oneFrameSeriesBytes = 256
    /// Bytes a series with an aggregate holds at most beyond its histograms (which take
    /// allowances of their own): block, stash, seven digests and two HyperLogLogs at their
    /// largest (Benchmarks/README.md, "Memory": 32,219 B measured for saturated sketches with
    /// an 8-frame stash in the block; the 32-frame stash of its own adds 2,048 B).
    public static let busySeriesBytes = 35 << 10
    /// Bytes a series' second frame reserves, of ``busySeriesBytes`` (the rest is reserved
    /// when its aggregate is built). It holds its block (``PromotedBlockPool``, 1,920 B); the
    /// reservation is over 4 × what building and encoding its snapshot costs beyond a
    /// one-frame series' (3,460 B at most for 30 frames, `tally-kernels memory-flush-30`;
    /// Benchmarks/README.md, "Memory"), the ratio a busy series' 32 KiB (35 since December 7, evening) kept to its ~8 KB,
    /// so that the tables' quarter of the budget bounds the flush's extra bytes to a
    /// sixteenth of it (`MemoryShares`) as before.
    public static let promotedSeriesBytes = 16 << 10

    /// The limit (bytes); `Int.max`: unlimited.
    public let limitBytes: Int
    /// The engine's producers; those active now are the fair share's divisor (nil: one).
    let producers: ProducerDirectory?
    private let used = Atomic<Int>(0)
    /// Bytes reserved per producer number (``ProducerDirectory``).
    private let byProducer = Mutex<[Int]>([])

    public init(limitBytes: Int = .max, producers: ProducerDirectory? = nil) {
        self.limitBytes = limitBytes
        self.producers = producers
    }

    /// Reserves `bytes` for `producer` (a ``ProducerDirectory`` number) when they fit under
    /// the limit and, past its first ½, under the producer's share; returns whether they did.
    public func reserve(_ bytes: Int, producer: Int) -> Bool {
        if limitBytes == .max {
            add(bytes)
            return true
        }
        let total = usedBytes + bytes
        if total > limitBytes { return false }
        let share = ProducerDirectory.fairShare(of: limitBytes, holders: 1, active: producers?.active ?? 1)
        let firstCome = total <= limitBytes - limitBytes / 2
        let granted = byProducer.withLock { held -> Bool in
            if producer >= held.count { held += [Int](repeating: 0, count: producer + 1 - held.count) }
            guard firstCome || held[producer] + bytes <= share else { return false }
            held[producer] += bytes
            return true
        }
        if granted { add(bytes) }
        return granted
    }

    private func add(_ bytes: Int) { used.add(bytes, ordering: .relaxed) }

    /// Gives back what a freed table reserved: `total` bytes, of which `byProducer` per producer.
    public func release(_ total: Int, byProducer returned: [Int: Int]) {
        used.subtract(total, ordering: .relaxed)
        guard limitBytes != .max, !returned.isEmpty else { return }
        byProducer.withLock { held in
            for (producer, bytes) in returned where producer < held.count { held[producer] -= bytes }
        }
    }

    /// Bytes reserved now.
    public var usedBytes: Int { used.load(ordering: .relaxed) }

    /// Bytes reserved now by each producer number that holds any (empty without a limit:
    /// then nothing is counted per producer).
    public var bytesByProducer: [Int: Int] {
        byProducer.withLock { held in
            var byNumber: [Int: Int] = [:]
            for (number, bytes) in held.enumerated() where bytes > 0 { byNumber[number] = bytes }
            return byNumber
        }
    }
}
