import Benchmark
import TallySketches

let benchmarks: @Sendable () -> Void = {
}
