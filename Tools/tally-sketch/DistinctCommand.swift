import ArgumentParser
import TallySketches

/// `tally-sketch distinct`: one item per line into a HyperLogLog.
struct DistinctCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distinct",
        abstract: "Read one item per line (any text; stdin when no FILE) and print the distinct-count estimate and the sketch size.")

    @Option(help: "HyperLogLog precision p (4…18): 2^p registers.") var precision = HyperLogLog.defaultPrecision
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Argument(help: "Input file; standard input when absent.") var file: String?

    func run() throws {
        guard (4...18).contains(precision) else { throw ValidationError("precision must be in 4…18") }
        var sketch = HyperLogLog(precision: precision)
        _ = try forEachLine(of: file) { line, _ in
            sketch.insert(HyperLogLog.hash(line.utf8))
            return true
        }
        let bytes = sketch.serialized().count
        if json {
            print("{\"estimate\":\(jsonNumber(sketch.estimate.rounded())),\"bytes\":\(bytes),\"exact\":\(sketch.isExact)}")
        } else {
            print("estimate  \(Int(sketch.estimate.rounded()))\(sketch.isExact ? " (exact)" : "")")
            print("bytes     \(bytes)")
        }
    }
}
