/// What one model costs, in US dollars per million tokens.
public struct ModelPrice: Sendable, Hashable {
    /// Prompt tokens not served from the cache.
    public var input: Double
    /// Prompt tokens served from the prompt cache.
    public var cachedInput: Double
    /// Generated tokens.
    public var output: Double

    public init(input: Double, cachedInput: Double, output: Double) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
    }

    /// The cost of one request in US dollars. `inputTokens` includes the cached ones
    /// (as on the wire), so cached tokens are priced once, as cached:
    /// (input − cached)·input + cached·cachedInput + output·output, per 10^6 tokens.
    @inlinable
    public func cost(inputTokens: UInt32, cachedInputTokens: UInt32, outputTokens: UInt32) -> Double {
        let cached = Double(min(cachedInputTokens, inputTokens))
        let uncached = Double(inputTokens) - cached
        return (uncached * input + cached * cachedInput + Double(outputTokens) * output) / 1_000_000
    }
}

/// Prices by model name. A model that is not in the table has no cost: the
/// aggregate counts its requests as unpriced instead of adding a silent zero.
public struct PriceTable: Sendable {
    public var prices: [String: ModelPrice]

    public init(_ prices: [String: ModelPrice] = [:]) { self.prices = prices }

    public func price(of model: String) -> ModelPrice? { prices[model] }
}
