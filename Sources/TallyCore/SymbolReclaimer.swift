import Synchronization

/// Decides when symbols can be released (``SymbolTable``'s lifetime), without a lock
/// or a check per frame. A symbol travels from an ingest thread's batch, through a
/// shard's ring, into a window table, and is read when the flusher builds that
/// table's snapshot. One cycle frees the symbols last used in a generation `g`:
///
/// 1. The table starts generation g+1 (lookups from now on stamp g+1).
/// 2. **Batches**: every ingest port that was resolving a batch then has finished it
///    (``IngestPort`` counts batches begun and ended), so every record carrying a
///    symbol stamped ≤ g is in a ring.
/// 3. **Rings**: every shard has popped what the rings held at that point…
/// 4. **Shards**: …and finished the pass that popped it, so those records are in tables.
/// 5. The table starts generation g+2. Only tables created in generation ≤ g+1 can hold
///    a symbol stamped ≤ g (records added later were resolved later).
/// 6. **Tables**: every such table has been freed (sealed, built into a snapshot and
///    dropped by the flusher): their leases are closed.
/// 7. Symbols stamped ≤ g are released; the next cycle starts.
///
/// A cycle takes about a window's lifetime (interval + lateness, or longer while a
/// window ahead of time is open), and a string last used during one cycle is released by
/// the next: within about two window lifetimes of its last use. ``step()`` never blocks: it moves on as far as the conditions allow. It runs
/// on the flusher's thread (``AggregationEngine/collectSealedWindows()``).
final class SymbolReclaimer: Sendable {
    private enum Phase {
        case idle
        case batches(stampedThrough: UInt64, marks: [(port: IngestPort, begun: UInt64)])
        case rings(stampedThrough: UInt64, marks: [(ring: SPSCRing<FrameRecord>, pushed: Int)])
        case shards(stampedThrough: UInt64, marks: [(shard: Shard, passes: UInt64)])
        case tables(stampedThrough: UInt64, leasesThrough: UInt64)
    }

    private let symbols: SymbolTable
    private let shards: [Shard]
    private let phase = Mutex(Phase.idle)

    init(symbols: SymbolTable, shards: [Shard]) {
        self.symbols = symbols
        self.shards = shards
    }

    /// Advances the cycle as far as it can now, given the engine's ingest `ports`;
    /// returns the symbols released by this call.
    @discardableResult
    func step(ports: [IngestPort]) -> Int {
        phase.withLock { phase in
            var released = 0
            // At most one cycle per call; each phase either moves on or waits for the next call.
            for _ in 0..<6 {
                guard let next = advance(phase, ports: ports, released: &released) else { return released }
                phase = next
                if case .idle = next { return released }
            }
            return released
        }
    }

    private func advance(_ phase: Phase, ports: [IngestPort], released: inout Int) -> Phase? {
        switch phase {
        case .idle:
            let ended = symbols.advanceGeneration()
            // A port's count is odd while it resolves a batch; read after the new generation
            // began (under the table's lock, which orders it after the port's lookups).
            let marks = ports.map { (port: $0, begun: $0.batchCount) }.filter { $0.begun & 1 == 1 }
            return .batches(stampedThrough: ended, marks: marks)
        case .batches(let through, let marks):
            guard marks.allSatisfy({ $0.port.batchCount != $0.begun }) else { return nil }
            return .rings(stampedThrough: through,
                          marks: ports.flatMap { $0.rings.map { (ring: $0, pushed: $0.pushedCount) } })
        case .rings(let through, let marks):
            guard marks.allSatisfy({ $0.ring.poppedCount &- $0.pushed >= 0 }) else { return nil }
            return .shards(stampedThrough: through, marks: shards.map { (shard: $0, passes: $0.passes.load(ordering: .acquiring)) })
        case .shards(let through, let marks):
            guard marks.allSatisfy({ $0.shard.passes.load(ordering: .acquiring) != $0.passes
                                     || $0.shard.finished.load(ordering: .acquiring) }) else { return nil }
            return .tables(stampedThrough: through, leasesThrough: symbols.advanceGeneration())
        case .tables(let through, let leases):
            guard !symbols.hasLease(openedThrough: leases) else { return nil }
            released += symbols.release(stampedThrough: through)
            return .idle
        }
    }
}
