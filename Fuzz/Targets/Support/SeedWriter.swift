#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer calls this once before fuzzing. With `TALLY_FUZZ_WRITE_SEEDS=<dir>` set
/// (`Tools/fuzz.sh seeds`), it writes the target's seed inputs (``fuzzSeeds()``, defined
/// by each target from the code's own encoders) to `<dir>/seed-NN` and exits;
/// otherwise it does nothing.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    guard let directory = getenv("TALLY_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return 0 }
    for (index, seed) in fuzzSeeds().enumerated() {
        let path = directory + "/seed-" + (index < 10 ? "0" : "") + String(index)
        guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        let written = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        guard written == seed.count else { fatalError("short write to \(path)") }
    }
    exit(0)
}

/// The fuzz input as bytes (copied: the decoders under test take arrays).
@inline(__always)
func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}
