import Testing
@testable import TallyWire

/// `StringIdentityCache`, the encoder's cache from a `String`'s raw bits to its batch
/// reference: sets chosen from every byte of the string, two entries a set, the most
/// recent kept first, and nothing found across generations.
@Suite struct StringIdentityCacheTests {
    /// Strings that differ only in their eighth byte (the top byte of the first raw word:
    /// "tenant-0" … "tenant-9") spread over the sets. The set used to come from bits that
    /// byte never reaches, so all ten shared one slot and evicted each other.
    @Test func setsDependOnEveryByte() {
        let eighthByte = (0..<10).map { "tenant-\($0)" }
        #expect(Set(eighthByte.map { StringIdentityCache.firstEntry(StringIdentityCache.rawBits($0)) }).count >= 8)
        // The last byte of a 15-byte small string, and the length (the second word's top byte).
        let fifteenthByte = (0..<10).map { "abcdefghijklmn\($0)" }
        #expect(Set(fifteenthByte.map { StringIdentityCache.firstEntry(StringIdentityCache.rawBits($0)) }).count >= 8)
        let lengths = (1...10).map { String(repeating: "a", count: $0) }
        #expect(Set(lengths.map { StringIdentityCache.firstEntry(StringIdentityCache.rawBits($0)) }).count >= 8)
    }

    /// Every entry index is even and within the cache, so a set's second entry is too.
    @Test func firstEntriesAreEvenAndInRange() {
        for i in 0..<5_000 {
            let entry = StringIdentityCache.firstEntry(StringIdentityCache.rawBits("s-\(i)"))
            #expect(entry % 2 == 0 && entry >= 0 && entry + 1 < StringIdentityCache.size)
        }
    }

    /// Two strings of one set are both kept; a third evicts the one stored longest ago.
    @Test func aSetKeepsItsTwoMostRecentStrings() {
        let cache = StringIdentityCache()
        defer { cache.deallocate() }
        let sameSet = Self.stringsSharingASet(3)
        cache.store(sameSet[0], 10)
        cache.store(sameSet[1], 11)
        #expect(cache.lookup(sameSet[0]) == 10)
        #expect(cache.lookup(sameSet[1]) == 11)
        cache.store(sameSet[2], 12)
        #expect(cache.lookup(sameSet[0]) == nil)
        #expect(cache.lookup(sameSet[1]) == 11)
        #expect(cache.lookup(sameSet[2]) == 12)
    }

    /// A new generation finds nothing of the old one, and the sets fill again.
    @Test func invalidatedEntriesAreGone() {
        let cache = StringIdentityCache()
        defer { cache.deallocate() }
        let sameSet = Self.stringsSharingASet(3)
        cache.store(sameSet[0], 1)
        cache.store(sameSet[1], 2)
        cache.invalidate()
        #expect(cache.lookup(sameSet[0]) == nil)
        #expect(cache.lookup(sameSet[1]) == nil)
        cache.store(sameSet[1], 4)
        cache.store(sameSet[2], 3)
        #expect(cache.lookup(sameSet[1]) == 4)
        #expect(cache.lookup(sameSet[2]) == 3)
        #expect(cache.lookup(sameSet[0]) == nil)
    }

    /// A large (heap) string is found through a copy (same storage) with its reference.
    @Test func largeStringsAreFoundThroughCopies() {
        let cache = StringIdentityCache()
        defer { cache.deallocate() }
        let large = String(repeating: "llama-3.1-70b-instruct/", count: 2)
        cache.store(large, 7)
        let copy = large
        #expect(cache.lookup(copy) == 7)
        #expect(cache.lookup("llama-3.1-70b-instruct") == nil)
    }

    /// The first `count` strings "s-0", "s-1", … that fall in the same set as "s-0".
    static func stringsSharingASet(_ count: Int) -> [String] {
        let target = StringIdentityCache.firstEntry(StringIdentityCache.rawBits("s-0"))
        var found: [String] = []
        var i = 0
        while found.count < count {
            let s = "s-\(i)"
            if StringIdentityCache.firstEntry(StringIdentityCache.rawBits(s)) == target { found.append(s) }
            i += 1
        }
        return found
    }
}
