import Foundation
import Testing
import TallyOTLP

@Suite struct GzipInflaterTests {
    /// `printf 'hello hello hello hello' | gzip -n` (made with gzip(1), checked in as bytes).
    static let hello: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57,
        0xc8, 0x40, 0x27, 0x01, 0xe3, 0x51, 0x3d, 0x8d, 0x17, 0x00, 0x00, 0x00,
    ]

    func inflate(_ bytes: [UInt8], limit: Int) throws(GzipInflater.Failure) -> [UInt8] {
        let result: Result<[UInt8], GzipInflater.Failure> = bytes.withUnsafeBytes { raw in
            Result { () throws(GzipInflater.Failure) -> [UInt8] in try GzipInflater.inflate(raw, limit: limit) }
        }
        return try result.get()
    }

    @Test func inflatesGzip() throws {
        #expect(String(decoding: try inflate(Self.hello, limit: 100), as: UTF8.self) == "hello hello hello hello")
    }

    @Test func refusesOutputPastTheLimit() {
        #expect(throws: GzipInflater.Failure.tooLarge(limit: 10)) { try inflate(Self.hello, limit: 10) }
    }

    @Test func corruptAndTruncatedStreamsThrow() {
        for bad in [Array(Self.hello.prefix(15)), [0x00, 0x01, 0x02], Self.hello + [0x00], []] {
            do {
                _ = try inflate(bad, limit: 1_000)
                Issue.record("inflated \(bad)")
            } catch {
                guard case .corrupt = error else { Issue.record("\(error)"); continue }
            }
        }
    }
}
