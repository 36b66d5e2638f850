import Synchronization

/// Interns the strings of frames (model names, versions, tag keys and values)
/// into dense 32-bit symbols shared by every ingest thread and shard. Symbol 0 is
/// the empty string, standing for "none".
///
/// Lookups happen once per string per batch (``BatchResolver``), never per frame,
/// so one lock is enough. Only strings that a frame of a valid batch uses are interned,
/// not the rest of the batch's string table.
/// Symbols are never freed: the table grows with the number of distinct such strings
/// (``maxSymbols`` caps it; past it every new string maps to ``overflow``, counted as
/// `symbols.overflowed`).
public final class SymbolTable: Sendable {
    public static let none: UInt32 = 0
    /// The symbol of every string interned after the table is full (its text is "~overflow~").
    public static let overflow: UInt32 = 1
    public let maxSymbols: Int

    private struct State {
        var ids: [String: UInt32] = ["": SymbolTable.none, "~overflow~": SymbolTable.overflow]
        var strings: [String] = ["", "~overflow~"]
        var overflowed: UInt64 = 0
    }
    private let state = Mutex(State())

    public init(maxSymbols: Int = 1 << 20) {
        self.maxSymbols = maxSymbols
    }

    /// The symbol of `string`, adding it when new.
    public func intern(_ string: String) -> UInt32 {
        state.withLock { state in
            if let id = state.ids[string] { return id }
            guard state.strings.count < maxSymbols else {
                state.overflowed += 1
                return SymbolTable.overflow
            }
            let id = UInt32(state.strings.count)
            state.ids[string] = id
            state.strings.append(string)
            return id
        }
    }

    /// The string of `symbol` ("" for none or an unknown symbol).
    public func string(_ symbol: UInt32) -> String {
        state.withLock { Int(symbol) < $0.strings.count ? $0.strings[Int(symbol)] : "" }
    }

    /// Strings of several symbols under one lock.
    public func strings(_ symbols: some Sequence<UInt32>) -> [UInt32: String] {
        state.withLock { state in
            var result: [UInt32: String] = [:]
            for symbol in symbols where Int(symbol) < state.strings.count { result[symbol] = state.strings[Int(symbol)] }
            return result
        }
    }

    public var count: Int { state.withLock { $0.strings.count } }
    /// Strings mapped to ``overflow`` because the table was full.
    public var overflowed: UInt64 { state.withLock { $0.overflowed } }
}
