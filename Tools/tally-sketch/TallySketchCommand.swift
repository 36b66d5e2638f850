import ArgumentParser

/// `tally-sketch`: the sketches from the command line, for users and for verification.
@main
struct TallySketchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-sketch",
        abstract: "Quantiles (t-digest) and distinct counts (HyperLogLog) of lines of input, and the sketch accuracy report.",
        subcommands: [QuantilesCommand.self, DistinctCommand.self, AccuracyCommand.self])
}
