import ArgumentParser
struct QuantilesCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "quantiles") }
