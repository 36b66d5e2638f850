import ArgumentParser
import TallySketches

/// `tally-sketch quantiles`: one number per line into a t-digest.
struct QuantilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantiles",
        abstract: "Read one number per line (stdin when no FILE) and print count, min, max, quantiles and the digest size.")

    @Option(help: "t-digest compression δ (10…10000).") var compression = TDigest.defaultCompression
    @Option(help: "Comma-separated quantiles in [0, 1].") var q = "0.5,0.9,0.99,0.999"
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Argument(help: "Input file; standard input when absent.") var file: String?

    func run() throws {
        let quantiles = try q.split(separator: ",").map { text -> Double in
            guard let value = Double(text.trimmingCharacters()), value >= 0, value <= 1 else {
                throw ValidationError("quantile '\(text)' is not a number in [0, 1]")
            }
            return value
        }
        guard (10...10_000).contains(compression) else { throw ValidationError("compression must be in 10…10000") }
        var digest = TDigest(compression: compression)
        let bad = try forEachLine(of: file) { line, number in
            guard let value = Double(line), value.isFinite else {
                printError("line \(number): not a finite number: \(line.prefix(80))")
                return false
            }
            digest.insert(value)
            return true
        }
        let bytes = digest.serialized().count
        let values = quantiles.map { digest.quantile($0) }
        if json {
            let pairs = zip(quantiles, values).map { "\"\(jsonKey($0))\":\(jsonNumber($1))" }.joined(separator: ",")
            print("{\"count\":\(digest.count),\"min\":\(jsonNumber(digest.isEmpty ? .nan : digest.min)),"
                  + "\"max\":\(jsonNumber(digest.isEmpty ? .nan : digest.max)),\"quantiles\":{\(pairs)},"
                  + "\"bytes\":\(bytes),\"rejected_lines\":\(bad)}")
        } else {
            print("count  \(digest.count)")
            print("min    \(digest.isEmpty ? "-" : "\(digest.min)")")
            print("max    \(digest.isEmpty ? "-" : "\(digest.max)")")
            for (q, value) in zip(quantiles, values) { print("q\(jsonKey(q))".padding(7) + "\(value)") }
            print("bytes  \(bytes)")
        }
        if bad > 0 { throw ExitCode(1) }
    }
}
