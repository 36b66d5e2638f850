/// Registers of a postgresql-hll value (schema version 1, citusdata STORAGE.markdown),
/// decoded independently of Tally's encoder so tests compare registers, not one
/// representation: EMPTY, SPARSE and FULL decode to the same m registers.
enum PostgresHLLRegisters {
    /// From psql's text output of an `hll` (`\x1412…`) or plain hex.
    static func decode(text: String) -> [UInt8]? {
        var hex = Substring(text)
        if hex.hasPrefix("\\x") { hex = hex.dropFirst(2) }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return decode(bytes)
    }

    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 3, bytes[0] >> 4 == 1 else { return nil }
        let width = Int(bytes[1] >> 5) + 1, log2m = Int(bytes[1] & 31), m = 1 << log2m
        var registers = [UInt8](repeating: 0, count: m)
        func bits(_ start: Int, _ count: Int) -> Int {
            var value = 0
            for i in start..<(start + count) { value = value << 1 | Int(bytes[3 + i / 8] >> UInt8(7 - i % 8)) & 1 }
            return value
        }
        switch bytes[0] & 15 {
        case 1: return registers
        case 3:
            let word = log2m + width
            for k in 0..<((bytes.count - 3) * 8 / word) {
                let w = bits(k * word, word)
                registers[w >> width] = max(registers[w >> width], UInt8(w & ((1 << width) - 1)))
            }
            return registers
        case 4:
            guard (bytes.count - 3) * 8 >= m * width else { return nil }
            for i in 0..<m { registers[i] = UInt8(bits(i * width, width)) }
            return registers
        default: return nil
        }
    }
}
