import ArgumentParser
struct DistinctCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "distinct") }
