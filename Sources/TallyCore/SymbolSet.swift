/// A set of ``SymbolTable`` symbols as a bitmap over their numbers: what a sealed window's
/// tables use, gathered before their strings are looked up under one lock.
///
/// Symbols are dense (the table numbers its strings from 0 and reuses released numbers),
/// so the bitmap takes at most ``SymbolTable/maxSymbols`` ÷ 8 bytes (128 KiB at the default
/// 2^20). A `Set<UInt32>` hashed every insert: ~120 instructions, six or more a series.
public struct SymbolSet: Sendable {
    private var words: [UInt64] = []

    public init() {}

    /// One past the largest symbol that can be held (a multiple of 64; 0 when empty).
    public var bound: Int { words.count * 64 }

    /// Adds `symbol`; the bitmap grows to reach it.
    @inline(__always)
    public mutating func insert(_ symbol: UInt32) {
        let word = Int(symbol >> 6)
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word + 1 - words.count)) }
        words[word] |= 1 << UInt64(symbol & 63)
    }

    public func contains(_ symbol: UInt32) -> Bool {
        let word = Int(symbol >> 6)
        return word < words.count && words[word] & 1 << UInt64(symbol & 63) != 0
    }

    /// Calls `body` with each symbol held, in ascending order.
    public func forEach(_ body: (UInt32) -> Void) {
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                body(UInt32(w * 64 + bits.trailingZeroBitCount))
                bits &= bits - 1
            }
        }
    }
}
