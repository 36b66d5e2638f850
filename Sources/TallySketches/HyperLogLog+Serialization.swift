#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The compact binary form of a HyperLogLog, version 1:
///
/// | field | encoding |
/// |---|---|
/// | version and kind | u8: version 1 in the high nibble; kind in the low one: 1 exact, 3 dense (single stream: martingale estimate follows), 4 dense (union) |
/// | precision | u8, 4 … 18 |
/// | *exact* count n | varint, 0 … ``exactLimit`` |
/// | *exact* keys | the n sorted, distinct 28-bit keys, Elias–Fano coded with l = ⌊log2(2^28/n)⌋ low bits: n × l low bits, then for each key in order (high part − previous high part) zeros and a one; then, for each key whose bits p…27 are zero, its register value in 6 bits. One bit stream, MSB first, zero-padded to a byte: exactly 3 + ⌈(n·l + n + 2^(28−l) + 6e)/8⌉ bytes at most, for e such keys |
/// | *dense* estimate | f64, kind 3 only: the martingale estimate |
/// | *dense* registers | a canonical Huffman code (``HuffmanCode``) and the m registers coded with it, MSB first, zero-padded |
///
/// At p = 14: an exact sketch of n values takes 3 + about 3n bytes (n ≤ 2,048);
/// a dense one about 6 KB (≈ 2.9 bits a register).
extension HyperLogLog {
    static let formatVersion: UInt8 = 1

    /// Low bits per key of the Elias–Fano code for n keys over 2^28.
    static func lowBits(count: Int) -> Int {
        guard count > 0 else { return 0 }
        var l = keyBits
        while l > 0 && (1 << keyBits) >> l < count { l -= 1 }
        return l
    }

    /// Serializes the sketch in the form above.
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        serialize(appendingTo: &bytes)
        return bytes
    }

    /// ``serialized()``'s bytes appended to `bytes` (no array of its own: a snapshot's
    /// encoder reuses one buffer for every sketch).
    public func serialize(appendingTo bytes: inout [UInt8]) {
        withUnsafePointer(to: self) { HyperLogLog.serialize(at: $0, appendingTo: &bytes) }
    }

    /// ``serialize(appendingTo:)`` of the sketch at `sketch`, read in place: a method call on
    /// a sketch read through a pointer (a snapshot's series, in its encoder) copies it first,
    /// retaining and releasing its arrays (~180 Ir a sketch).
    public static func serialize(at sketch: UnsafePointer<HyperLogLog>, appendingTo bytes: inout [UInt8]) {
        guard sketch.pointee.registers.isEmpty else { return sketch.pointee.serializeDense(appendingTo: &bytes) }
        let precision = sketch.pointee.precision
        sketch.pointee.exact.withSortedKeys { keys in HyperLogLog.writeExact(keys, precision: precision, appendingTo: &bytes) }
    }

    private func serializeDense(appendingTo bytes: inout [UInt8]) {
        var writer = ByteWriter()
        swap(&writer.bytes, &bytes)
        defer { swap(&writer.bytes, &bytes) }
        writer.u8(HyperLogLog.formatVersion << 4 | (hipValid ? 3 : 4))
        writer.u8(UInt8(precision))
        if hipValid { writer.f64(hipEstimate) }
        var counts = [Int](repeating: 0, count: Int(maxRegister) + 1)
        for r in registers { counts[Int(r)] += 1 }
        let code = HuffmanCode(counts: counts)
        code.write(to: &writer)
        var bits = BitWriter(expectedBytes: registers.count)
        for r in registers { code.encode(Int(r), into: &bits) }
        bits.finish(appendingTo: &writer.bytes)
    }

    /// The exact form: header, key count, then the keys' low bits, their high parts in
    /// unary and the escapes' register values, in one bit stream. Its size is worked out
    /// first and the bytes written through a pointer into temporary memory, then appended
    /// at once: a ``BitWriter`` appended to an array per byte and made a call per bit of
    /// the unary parts (~700 instructions for a set of four keys, two sets a series).
    private static func writeExact(_ keys: UnsafeBufferPointer<UInt64>, precision: Int,
                                   appendingTo bytes: inout [UInt8]) {
        let n = keys.count, l = HyperLogLog.lowBits(count: n)
        // The unary parts hold one one a key and, in all, as many zeros as the last high part.
        let lastHigh = n == 0 ? 0 : Int((keys[n - 1] & HyperLogLog.keyMask) >> UInt64(l))
        var escapes = 0
        for key in keys where key >> 32 != 0 { escapes += 1 }
        let bound = 2 + 3 + (n * l + lastHigh + n + 6 * escapes + 7) / 8  // count < 2^21: ≤ 3 varint bytes
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound + StackByteSink.slack) { out in
            var sink = StackByteSink(out.baseAddress!)
            sink.byte(HyperLogLog.formatVersion << 4 | 1)
            sink.byte(UInt8(precision))
            sink.varint(UInt64(n))
            for key in keys { sink.bits(key, count: l) }
            var previousHigh = 0
            for key in keys {
                let high = Int((key & HyperLogLog.keyMask) >> UInt64(l))
                var zeros = high - previousHigh
                while zeros >= 32 {
                    sink.bits(0, count: 32)
                    zeros -= 32
                }
                sink.bits(1, count: zeros + 1)  // the zeros left, then a one
                previousHigh = high
            }
            for key in keys where key >> 32 != 0 { sink.bits(key >> 32, count: 6) }
            let written = sink.finish() - out.baseAddress!
            precondition(written <= bound, "exact HyperLogLog overran its bound")
            bytes.append(contentsOf: UnsafeBufferPointer(start: out.baseAddress!, count: written))
        }
    }

    /// Reads a sketch written by ``serialized()``, validating every field.
    /// - Throws: ``SketchError`` naming the first fault; never traps on bad bytes.
    public init(serialized bytes: [UInt8]) throws(SketchError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(SketchError) in try HyperLogLog.read(raw) } }
        self = try result.get()
    }

    static func read(_ raw: UnsafeRawBufferPointer) throws(SketchError) -> HyperLogLog {
        var reader = ByteReader(raw)
        let head = try reader.u8("version")
        guard head >> 4 == formatVersion else { throw .unsupportedVersion(head >> 4) }
        let kind = head & 0x0F
        guard kind == 1 || kind == 3 || kind == 4 else { throw .invalidField(field: "kind", detail: "\(kind)") }
        let precision = Int(try reader.u8("precision"))
        guard (4...18).contains(precision) else { throw .invalidField(field: "precision", detail: "\(precision)") }
        var sketch = HyperLogLog(precision: precision)

        if kind == 1 {
            let count = try reader.varint("count")
            guard count <= UInt64(sketch.exactLimit) else {
                throw .invalidField(field: "count", detail: "\(count) over \(sketch.exactLimit)")
            }
            let n = Int(count)
            let l = lowBits(count: n)
            var bits = BitReader(raw, from: reader.offset)
            var keys: [UInt64] = []
            keys.reserveCapacity(n)
            for _ in 0..<n { keys.append(try bits.read(bits: l)) }
            var high: UInt64 = 0
            let highLimit = UInt64((1 << keyBits) >> l)
            for i in 0..<n {
                // The zeros before the next one raise the high part; it stays below highLimit.
                guard let zeros = try bits.zerosBeforeOne(limit: Int(highLimit - 1 - high)) else {
                    throw .invalidField(field: "key[\(i)]", detail: "over 28 bits")
                }
                high += UInt64(zeros)
                keys[i] |= high << UInt64(l)
                guard i == 0 || keys[i] > keys[i - 1] else {
                    throw .invalidField(field: "key[\(i)]", detail: "not increasing")
                }
            }
            for i in keys.indices where keys[i] >> UInt64(precision) == 0 {
                let r = try bits.read(bits: 6)
                guard r > UInt64(keyBits - precision), r <= UInt64(sketch.maxRegister) else {
                    throw .invalidField(field: "key[\(i)] register", detail: "\(r)")
                }
                keys[i] |= r << 32
            }
            reader.offset = try bits.finish()
            try reader.expectEnd()
            sketch.keys = keys
            return sketch
        }

        if kind == 3 {
            let estimate = try reader.f64("estimate")
            guard estimate.isFinite, estimate >= 0 else { throw .invalidField(field: "estimate", detail: "\(estimate)") }
            sketch.hipEstimate = estimate
        } else {
            sketch.hipValid = false
        }
        let code = try HuffmanCode.read(from: &reader, maxSymbol: Int(sketch.maxRegister))
        var bits = BitReader(raw, from: reader.offset)
        var registers = HyperLogLogRegisters(zeros: sketch.registerCount)
        for i in registers.indices { registers[i] = UInt8(try code.decode(from: &bits)) }
        reader.offset = try bits.finish()
        try reader.expectEnd()
        sketch.registers = registers
        sketch.recomputeChangeMass()
        return sketch
    }
}
