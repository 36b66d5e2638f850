// Hot loops of Tally, one per command, for `valgrind --tool=callgrind` instruction
#if canImport(Glibc)
import Glibc
#endif
// counts (Benchmarks/callgrind.sh). Each runs `count` operations after a warm-up
// and prints the work done, so that Ir per operation = (Ir(count) − Ir(0)) / count.
import TallySketches
import TallySynthetic
import TallyWire

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    print("usage: tally-kernels encode|decode|tdigest-insert|hll-insert COUNT")
    exit(2)
}

/// Frames of a typical 64 KiB batch (as in WireBenchmarks).
func typicalFrames() -> [TraceFrame] {
    var rng = SplitMix64(seed: 2026)
    let fleet = SyntheticFleet()
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    var frames: [TraceFrame] = []
    while true {
        let frame = fleet.frame(eventTimeMicros: 1_763_700_000_000_000 + UInt64(frames.count), &rng)
        guard try! encoder.append(frame) else { break }
        frames.append(frame)
    }
    return frames
}

/// Encodes `count` frames, finishing a batch whenever one is full.
func encodeKernel(_ count: Int) -> UInt64 {
    let frames = typicalFrames()
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    var checksum: UInt64 = 0
    frames.withUnsafeBufferPointer { frames in
        var done = 0
        while done < count {
            for frame in frames.baseAddress!..<frames.baseAddress! + frames.count where done < count {
                // `pointee` borrows the frame in place: no copy, no retains.
                let appended = try! encoder.append(frame.pointee)
                if !appended {
                    checksum &+= UInt64(encoder.finish(sequence: 0).count)
                    encoder.reset()
                    _ = try! encoder.append(frame.pointee)
                }
                done += 1
            }
        }
    }
    return checksum
}

/// Decodes (and validates) a typical batch until `count` frames were read.
func decodeKernel(_ count: Int) -> UInt64 {
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    for frame in typicalFrames() { _ = try! encoder.append(frame) }
    let bytes = Array(encoder.finish(sequence: 0))
    let decoder = BatchDecoder()
    var checksum: UInt64 = 0
    bytes.withUnsafeBytes { bytes in
        var done = 0
        while done < count {
            let view = try! decoder.decode(bytes)
            for frame in view.frames { checksum &+= UInt64(frame.totalLatencyMicros) }
            done += view.frameCount
        }
    }
    return checksum
}

/// Inserts `count` lognormal values, one per call, into a warm t-digest.
func tdigestInsertKernel(_ count: Int) -> UInt64 {
    var rng = SplitMix64(seed: 42)
    let values = (0..<100_000).map { _ in Distribution.lognormal(mu: 0, sigma: 1).sample(&rng) }
    var digest = TDigest()
    for x in values { digest.insert(x) }
    var done = 0
    while done < count {
        for x in values where done < count {
            digest.insert(x)
            done += 1
        }
    }
    return digest.count
}

/// Inserts `count` random hashes into a dense HyperLogLog.
func hllInsertKernel(_ count: Int) -> UInt64 {
    var rng = SplitMix64(seed: 43)
    var sketch = HyperLogLog()
    for _ in 0..<10_000 { sketch.insert(rng.next()) }
    for _ in 0..<count { sketch.insert(rng.next()) }
    return UInt64(sketch.estimate)
}

let kernels: [String: (Int) -> UInt64] = [
    "encode": encodeKernel,  // COUNT = frames encoded
    "decode": decodeKernel,  // COUNT = frames decoded
    "tdigest-insert": tdigestInsertKernel,  // COUNT = values inserted
    "hll-insert": hllInsertKernel,  // COUNT = values inserted (includes one SplitMix64 draw each)
]
guard let kernel = kernels[arguments[1]] else {
    print("unknown kernel \(arguments[1]); known: \(kernels.keys.sorted())")
    exit(2)
}
print("\(arguments[1]) \(count): checksum \(kernel(count))")
