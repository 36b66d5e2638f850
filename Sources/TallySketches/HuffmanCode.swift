/// A canonical Huffman code over small symbols (0 … 63), with code lengths limited
/// to 15 bits; used to store HyperLogLog registers in about 2.9 bits each instead
/// of 6 (their values cluster around log2(n/m)).
///
/// Serialized as: u8 first symbol, u8 symbol count S, then S code lengths as 4-bit
/// nibbles (high nibble first; 0 = symbol unused; a padding nibble when S is odd).
/// Canonical codes are assigned by (length, symbol), as in DEFLATE (RFC 1951, 3.2.2).
struct HuffmanCode {
    static let maxLength = 15
    /// Code length per symbol (0 = unused), index = symbol − firstSymbol.
    let lengths: [Int]
    let firstSymbol: Int
    /// code per symbol, valid where length > 0.
    let codes: [UInt64]
    /// For decoding: how many codes have each length, and the symbols sorted by (length, symbol).
    let countOfLength: [Int]
    let sortedSymbols: [Int]

    /// Builds an optimal code for `counts` (index = symbol), limited to 15 bits by
    /// halving the counts until the longest code fits. At least one count > 0.
    init(counts: [Int]) {
        let used = counts.indices.filter { counts[$0] > 0 }
        let first = used.first ?? 0, last = used.last ?? 0
        var scaled = Array(counts[first...last])
        var lengths: [Int]
        repeat {
            lengths = HuffmanCode.lengths(for: scaled)
            scaled = scaled.map { $0 == 0 ? 0 : ($0 + 1) / 2 }
        } while lengths.max()! > HuffmanCode.maxLength
        self.init(firstSymbol: first, lengths: lengths)
    }

    init(firstSymbol: Int, lengths: [Int]) {
        self.firstSymbol = firstSymbol
        self.lengths = lengths
        var codes = [UInt64](repeating: 0, count: lengths.count)
        var code: UInt64 = 0
        for length in 1...HuffmanCode.maxLength {
            for symbol in lengths.indices where lengths[symbol] == length {
                codes[symbol] = code
                code += 1
            }
            code <<= 1
        }
        self.codes = codes
        var countOfLength = [Int](repeating: 0, count: HuffmanCode.maxLength + 1)
        for length in lengths where length > 0 { countOfLength[length] += 1 }
        self.countOfLength = countOfLength
        sortedSymbols = lengths.indices.filter { lengths[$0] > 0 }.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
    }

    /// Huffman code lengths by repeatedly joining the two lightest trees.
    /// A single used symbol gets length 1.
    static func lengths(for counts: [Int]) -> [Int] {
        var lengths = [Int](repeating: 0, count: counts.count)
        // Each tree: (weight, symbols in it); O(S²) is fine for S ≤ 64.
        var trees: [(weight: Int, symbols: [Int])] = counts.indices.filter { counts[$0] > 0 }.map { (counts[$0], [$0]) }
        if trees.count == 1 { lengths[trees[0].symbols[0]] = 1; return lengths }
        while trees.count > 1 {
            trees.sort { $0.weight < $1.weight || ($0.weight == $1.weight && $0.symbols[0] < $1.symbols[0]) }
            let a = trees.removeFirst(), b = trees.removeFirst()
            for symbol in a.symbols + b.symbols { lengths[symbol] += 1 }
            trees.append((a.weight + b.weight, a.symbols + b.symbols))
        }
        return lengths
    }

    func write(to writer: inout ByteWriter) {
        writer.u8(UInt8(firstSymbol))
        writer.u8(UInt8(lengths.count))
        var i = 0
        while i < lengths.count {
            let high = UInt8(lengths[i]), low = i + 1 < lengths.count ? UInt8(lengths[i + 1]) : 0
            writer.u8(high << 4 | low)
            i += 2
        }
    }

    static func read(from reader: inout ByteReader, maxSymbol: Int) throws(SketchError) -> HuffmanCode {
        let first = Int(try reader.u8("huffman first symbol"))
        let count = Int(try reader.u8("huffman symbol count"))
        guard count >= 1, first + count - 1 <= maxSymbol else {
            throw .invalidField(field: "huffman symbols", detail: "\(first)+\(count) over \(maxSymbol)")
        }
        var lengths: [Int] = []
        for _ in 0..<((count + 1) / 2) {
            let byte = try reader.u8("huffman lengths")
            lengths.append(Int(byte >> 4))
            lengths.append(Int(byte & 0x0F))
        }
        if lengths.count > count {
            guard lengths.removeLast() == 0 else { throw .invalidField(field: "huffman lengths", detail: "padding") }
        }
        // Kraft: Σ 2^−length ≤ 1, else the code is not prefix-free.
        let kraft = lengths.reduce(0) { $0 + ($1 == 0 ? 0 : 1 << (HuffmanCode.maxLength - $1)) }
        guard kraft <= 1 << HuffmanCode.maxLength, kraft > 0 else {
            throw .invalidField(field: "huffman lengths", detail: "not a prefix code")
        }
        return HuffmanCode(firstSymbol: first, lengths: lengths)
    }

    func encode(_ symbol: Int, into writer: inout BitWriter) {
        let index = symbol - firstSymbol
        writer.write(codes[index], bits: lengths[index])
    }

    /// Canonical decoding: the codes of one length are consecutive, so one
    /// comparison per bit finds the symbol (as in zlib's puff.c).
    func decode(from reader: inout BitReader) throws(SketchError) -> Int {
        var code = 0, first = 0, index = 0
        for length in 1...HuffmanCode.maxLength {
            code |= Int(try reader.bit())
            let count = countOfLength[length]
            if code - first < count { return firstSymbol + sortedSymbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw .invalidField(field: "huffman data", detail: "no code matches")
    }
}
