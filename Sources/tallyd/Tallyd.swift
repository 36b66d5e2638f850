import ArgumentParser

/// tallyd: the Tally collector (`tallyd [serve]`, the default) and its key tool (`tallyd keygen`).
@main
struct Tallyd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tallyd",
        abstract: "Tally collector: ZeroMQ trace frames in, per-window snapshots out.",
        subcommands: [Serve.self, Keygen.self],
        defaultSubcommand: Serve.self)
}
