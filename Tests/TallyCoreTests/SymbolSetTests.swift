import Testing
@testable import TallyCore

/// The bitmap of a window's symbols and the strings looked up from it (``SymbolSet``,
/// ``SymbolTable/strings(_:)``), which name every label of a snapshot.
@Suite struct SymbolSetTests {
    @Test func holdsWhatWasInsertedInAscendingOrder() {
        var set = SymbolSet()
        #expect(set.bound == 0 && !set.contains(0))
        for symbol: UInt32 in [700, 3, 64, 63, 3, 0, 129] { set.insert(symbol) }
        var seen: [UInt32] = []
        set.forEach { seen.append($0) }
        #expect(seen == [0, 3, 63, 64, 129, 700])
        #expect(set.bound == 704, "11 words of 64")
        for symbol: UInt32 in [0, 3, 63, 64, 129, 700] { #expect(set.contains(symbol)) }
        for symbol: UInt32 in [1, 62, 65, 128, 699, 701, 5_000] { #expect(!set.contains(symbol)) }
    }

    @Test func stringsAreFoundBySymbolAndEmptyElsewhere() {
        let symbols = SymbolTable()
        let a = symbols.intern("alpha"), b = symbols.intern("beta"), c = symbols.intern("gamma")
        var used = SymbolSet()
        used.insert(a); used.insert(c)
        used.insert(9_999)  // not a symbol of the table: no string, no trap
        let names = symbols.strings(used)
        #expect(names.count == used.bound)
        #expect(names[Int(a)] == "alpha" && names[Int(c)] == "gamma")
        #expect(names[Int(b)] == "", "not asked for")
        #expect(names[9_999] == "")
    }
}
