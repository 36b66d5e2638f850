/// What one model costs, in US dollars per million tokens, the way providers bill it:
/// prompt tokens by how the prompt cache served them (not at all, read, written),
/// output tokens with reasoning tokens at their own price where it differs.
public struct ModelPrice: Sendable, Hashable {
    /// Prompt tokens neither read from nor written to the prompt cache.
    public var input: Double
    /// Prompt tokens read from the prompt cache (cache hits).
    public var cachedInput: Double
    /// Prompt tokens written to the prompt cache (e.g. Anthropic bills 1.25× or 2× input);
    /// providers without cache writes bill them as input, which is the default.
    public var cacheWrite: Double
    /// Generated tokens that are not reasoning tokens.
    public var output: Double
    /// Reasoning tokens; providers bill them as output, which is the default.
    public var reasoning: Double

    /// - Parameters: US dollars per million tokens, each ≥ 0; `cacheWrite` defaults to
    ///   `input` and `reasoning` to `output`.
    public init(input: Double, cachedInput: Double, output: Double, cacheWrite: Double? = nil, reasoning: Double? = nil) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
        self.cacheWrite = cacheWrite ?? input
        self.reasoning = reasoning ?? output
    }

    /// The cost of one request in US dollars. The wire's input tokens include cache
    /// reads and writes, and its output tokens include reasoning (FORMAT.md), so every
    /// token is priced once, per 10^6 tokens:
    ///
    ///     uncached·input + reads·cachedInput + writes·cacheWrite
    ///       + (output − reasoning)·output + reasoning·reasoning
    ///     uncached = input − reads − writes
    ///
    /// Parts larger than their whole (which the decoder refuses) are clamped to it.
    @inlinable
    public func cost(inputTokens: UInt32, cachedInputTokens: UInt32, cacheCreationInputTokens: UInt32 = 0,
                     outputTokens: UInt32, reasoningOutputTokens: UInt32 = 0) -> Double {
        let reads = min(cachedInputTokens, inputTokens)
        let writes = min(cacheCreationInputTokens, inputTokens - reads)
        let uncached = inputTokens - reads - writes
        let thinking = min(reasoningOutputTokens, outputTokens)
        let prompt = Double(uncached) * input + Double(reads) * cachedInput + Double(writes) * cacheWrite
        let answer = Double(outputTokens - thinking) * output + Double(thinking) * reasoning
        return (prompt + answer) / 1_000_000
    }
}

/// Prices by model name. A model that is not in the table has no cost: the
/// aggregate counts its requests as unpriced instead of adding a silent zero.
public struct PriceTable: Sendable {
    public var prices: [String: ModelPrice]

    public init(_ prices: [String: ModelPrice] = [:]) { self.prices = prices }

    public func price(of model: String) -> ModelPrice? { prices[model] }
}
