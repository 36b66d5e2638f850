import Testing
@testable import TallySketches

@Suite struct HyperLogLogRegistersTests {
    /// Random writes agree with a plain byte array at every index: no write spills
    /// into a neighbour, whichever of the four bit offsets (0, 2, 4, 6) it starts at.
    @Test func packedWritesMatchAnArray() {
        for count in [4, 16, 4096] {
            var packed = HyperLogLogRegisters(zeros: count)
            var model = [UInt8](repeating: 0, count: count)
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            for _ in 0..<(count * 8) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let index = Int(state >> 33) % count
                let value = UInt8(truncatingIfNeeded: state >> 20) % 62
                packed[index] = value
                model[index] = value
            }
            #expect(Array(packed) == model)
            #expect(packed.count == count)
        }
    }

    @Test func valuesUpTo63RoundTripAtTheLastIndex() {
        var packed = HyperLogLogRegisters(zeros: 8)
        packed[7] = 63
        packed[6] = 1
        #expect(packed[7] == 63 && packed[6] == 1 && packed[5] == 0)
        packed[7] = 64  // cut to six bits: 0
        #expect(packed[7] == 0 && packed[6] == 1)
    }

    @Test func copiesAreIndependent() {
        var a = HyperLogLogRegisters(zeros: 16)
        a[3] = 9
        var b = a
        b[3] = 10
        b[4] = 2
        #expect(a[3] == 9 && a[4] == 0)
        #expect(b[3] == 10 && b[4] == 2)
        #expect(a != b)
        b[3] = 9
        b[4] = 0
        #expect(a == b)
        #expect(HyperLogLogRegisters() == HyperLogLogRegisters(zeros: 0))
        #expect(HyperLogLogRegisters().isEmpty)
    }
}
