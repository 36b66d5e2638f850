import Synchronization

/// Interns the strings of frames (model names, versions, tag keys and values)
/// into dense 32-bit symbols shared by every ingest thread and shard. Symbol 0 is
/// the empty string, standing for "none"; symbol 1 is `~overflow~`.
///
/// Lookups happen once per string per batch (``BatchResolver``), never per frame,
/// so one lock is enough. Only strings that a frame of a valid batch uses are interned,
/// not the rest of the batch's string table.
///
/// **Lifetime.** Symbols are freed once nothing can refer to them, so that no sequence
/// of input fills the table for good. Each lookup stamps its symbol with the table's
/// current ``generation``; each window table holds a lease on the generation in which
/// it was created (``openLease()``, ``closeLease(_:)``). ``SymbolReclaimer`` advances
/// the generation, waits until no batch, ring or table can still carry a symbol stamped
/// in an old generation, and then calls ``release(stampedThrough:)``: those symbols'
/// numbers are reused for new strings. A string that is used again before then keeps
/// its symbol (its stamp moves on).
///
/// **Bound.** At most ``maxSymbols`` live strings; past it every new string maps to
/// ``overflow`` until symbols are released, counted as `symbols.overflowed`. Each
/// symbol costs at most ``worstCaseBytesPerSymbol`` (a 255-byte string and its entries).
///
/// **Shares.** The bound is shared between producers like a window's series cap
/// (``WindowTable``): a symbol belongs to the producer whose batch added it; the first
/// half of ``maxSymbols`` is first come, first served, the second half only for a
/// producer holding fewer symbols than its fair share (``maxSymbols`` ÷ the producers
/// holding symbols, or ÷ the producers active, if more: ``ProducerDirectory/active``). So a producer flooding new names
/// fills at most half the table, and the others' new names keep their own symbols.
/// Strings already in the table are found whoever asks.
public final class SymbolTable: Sendable {
    public static let none: UInt32 = 0
    /// The symbol of every string interned after the table is full (its text is "~overflow~").
    public static let overflow: UInt32 = 1
    public let maxSymbols: Int

    /// Bytes one symbol may hold at most: the string's heap buffer (32-byte header, up
    /// to ``TallyWire/WireLimits/maxStringBytes`` + 1 bytes, rounded to malloc's size
    /// class: ≤ 304), its dictionary bucket (20 bytes, ≤ 2.7 buckets a symbol just after
    /// the dictionary grows: 54), its array slots (16 + 8 bytes, ≤ 2 a symbol after
    /// growth: 48), rounded up.
    public static let worstCaseBytesPerSymbol = 448

    private struct State {
        var ids: [String: UInt32] = ["": SymbolTable.none, "~overflow~": SymbolTable.overflow]
        var strings: [String] = ["", "~overflow~"]
        /// The generation of each symbol's latest lookup (by symbol).
        var stamps: [UInt64] = [0, 0]
        /// Released symbols, reused before the arrays grow.
        var free: [UInt32] = []
        var generation: UInt64 = 1
        /// Live leases by the generation they were opened in.
        var leases: [UInt64: Int] = [:]
        var overflowed: UInt64 = 0
        var released: UInt64 = 0
        /// The producer number (``ProducerDirectory``) that added each symbol (by symbol).
        var owners: [UInt32] = [ProducerDirectory.unnumbered, ProducerDirectory.unnumbered]
        /// Live symbols by the producer that added them (producers holding none absent).
        var held: [UInt32: Int] = [:]
    }
    private let state = Mutex(State())

    public init(maxSymbols: Int = 1 << 20) {
        self.maxSymbols = max(2, maxSymbols)
    }

    /// The symbol of `string`, adding it when new and within `producer`'s share (see
    /// "Shares"; `producersActive`: the producers active now); stamps it with the
    /// current generation. ``overflow`` when it is new and there is no room for it.
    public func intern(_ string: String, producer: UInt32 = ProducerDirectory.unnumbered,
                       producersActive: Int = 0) -> UInt32 {
        state.withLock { state in
            if let id = state.ids[string] {
                state.stamps[Int(id)] = state.generation
                return id
            }
            let live = state.strings.count - state.free.count
            guard live < maxSymbols && (live < maxSymbols / 2 || Self.isWithinShare(producer, producersActive, state, maxSymbols))
            else {
                state.overflowed += 1
                return SymbolTable.overflow
            }
            let id: UInt32
            if let reused = state.free.popLast() {
                id = reused
                state.strings[Int(id)] = string
                state.stamps[Int(id)] = state.generation
                state.owners[Int(id)] = producer
            } else {
                id = UInt32(state.strings.count)
                state.strings.append(string)
                state.stamps.append(state.generation)
                state.owners.append(producer)
            }
            state.ids[string] = id
            state.held[producer, default: 0] += 1
            return id
        }
    }

    /// The owner of the symbols of released producers (``disown(_:)``): counted in no share.
    public static let releasedOwner = UInt32.max

    /// Hands the symbols added by producer `numbers` (released from the
    /// ``ProducerDirectory``, whose numbers go to new producers) to ``releasedOwner``: a new
    /// producer under a recycled number starts holding none. O(symbols) under the lock.
    public func disown(_ numbers: Set<UInt32>) {
        state.withLock { state in
            var moved = 0
            for number in numbers { moved += state.held.removeValue(forKey: number) ?? 0 }
            guard moved > 0 else { return }
            state.held[SymbolTable.releasedOwner, default: 0] += moved
            for id in 2..<state.owners.count where numbers.contains(state.owners[id]) {
                state.owners[id] = SymbolTable.releasedOwner
            }
        }
    }

    /// Whether `producer` holds fewer symbols than its fair share.
    private static func isWithinShare(_ producer: UInt32, _ producersActive: Int, _ state: State, _ maxSymbols: Int) -> Bool {
        let mine = state.held[producer] ?? 0
        let holding = state.held.count - (state.held[releasedOwner] == nil ? 0 : 1) + (mine == 0 ? 1 : 0)
        return mine < ProducerDirectory.fairShare(of: maxSymbols, holders: holding, active: producersActive)
    }

    /// Live symbols added by `producer`.
    public func held(by producer: UInt32) -> Int { state.withLock { $0.held[producer] ?? 0 } }

    /// The string of `symbol` ("" for none, an unknown or a released symbol).
    public func string(_ symbol: UInt32) -> String {
        state.withLock { Int(symbol) < $0.strings.count ? $0.strings[Int(symbol)] : "" }
    }

    /// The strings of `symbols` under one lock, by symbol number: element `s` is symbol `s`'s
    /// string for each `s` held, "" elsewhere (an array of ``SymbolSet/bound`` strings,
    /// 16 bytes each; read by index, not hashed as a dictionary's).
    /// The array is made before the lock is taken: under it, only the strings held are
    /// copied, so ingest threads interning strings wait in proportion to those alone.
    public func strings(_ symbols: SymbolSet) -> [String] {
        var result = [String](repeating: "", count: symbols.bound)
        state.withLock { state in
            let known = state.strings.count
            symbols.forEach { symbol in
                if Int(symbol) < known { result[Int(symbol)] = state.strings[Int(symbol)] }
            }
        }
        return result
    }

    /// Live strings, including "" and `~overflow~`.
    public var count: Int { state.withLock { $0.strings.count - $0.free.count } }
    /// Strings mapped to ``overflow`` because the table was full (cumulative).
    public var overflowed: UInt64 { state.withLock { $0.overflowed } }
    /// Symbols released for reuse (cumulative).
    public var released: UInt64 { state.withLock { $0.released } }

    // MARK: Generations and leases (used by ``SymbolReclaimer`` and window tables)

    /// The generation that lookups stamp now (starts at 1).
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Starts a new generation; returns the one that ended.
    @discardableResult
    func advanceGeneration() -> UInt64 {
        state.withLock { state in
            state.generation += 1
            return state.generation - 1
        }
    }

    /// A lease on the symbols a new window table will hold: their stamps are at least
    /// the returned generation, so symbols stamped earlier are not released while the
    /// lease is open. Close it with ``closeLease(_:)`` when the table is freed.
    public func openLease() -> UInt64 {
        state.withLock { state in
            state.leases[state.generation, default: 0] += 1
            return state.generation
        }
    }

    public func closeLease(_ generation: UInt64) {
        state.withLock { state in
            guard let open = state.leases[generation] else { return }
            state.leases[generation] = open > 1 ? open - 1 : nil
        }
    }

    /// Whether a lease opened in `generation` or earlier is still open.
    func hasLease(openedThrough generation: UInt64) -> Bool {
        state.withLock { $0.leases.keys.contains { $0 <= generation } }
    }

    /// Releases every symbol (but "" and `~overflow~`) whose latest lookup was stamped in
    /// `generation` or earlier. The caller (``SymbolReclaimer``) guarantees that nothing
    /// refers to them any more. Returns how many were released. O(symbols) under the lock.
    @discardableResult
    func release(stampedThrough generation: UInt64) -> Int {
        state.withLock { state in
            var releasedNow = 0
            for id in 2..<state.strings.count where state.stamps[id] <= generation {
                state.ids[state.strings[id]] = nil
                state.strings[id] = ""
                state.stamps[id] = .max  // marks a free slot (never ≤ a generation)
                state.free.append(UInt32(id))
                let owner = state.owners[id]
                if let held = state.held[owner] { state.held[owner] = held > 1 ? held - 1 : nil }
                releasedNow += 1
            }
            state.released += UInt64(releasedNow)
            return releasedNow
        }
    }
}
