import Foundation

/// Prices in USD per one million tokens.
public struct Price: Sendable, Hashable, Codable {
    public var input: Double
    public var output: Double
    /// Price of prompt tokens read from the provider's cache; defaults to `input`.
    public var cachedInput: Double?
    /// Price of prompt tokens written to the provider's cache; defaults to `input`.
    public var cacheWrite: Double?

    public init(input: Double, output: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
    }

    enum CodingKeys: String, CodingKey {
        case input, output
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
    }

    /// The cost of one call with this usage.
    public func cost(of usage: Usage) -> Double {
        let cached = min(usage.cachedTokens, usage.promptTokens)
        let written = min(usage.cacheWriteTokens, usage.promptTokens - cached)
        let plain = usage.promptTokens - cached - written
        let micro =
            Double(plain) * input + Double(cached) * (cachedInput ?? input) + Double(written) * (cacheWrite ?? input)
            + Double(usage.completionTokens) * output
        return micro / 1_000_000
    }
}

/// What a model can do, used to route and to reject requests it cannot serve.
public enum Capability: String, Sendable, Hashable, Codable, CaseIterable {
    case tools, json, vision, streaming, embeddings
}

/// A model clients may ask for, and where it lives.
public struct ModelSpec: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case chat, embedding
    }

    /// The public name clients send in `model`.
    public var name: String
    public var kind: Kind
    /// Name of the configured provider that serves it.
    public var provider: String
    /// The provider's own id for the model.
    public var upstream: String
    public var price: Price
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    public var capabilities: Set<Capability>
    public var tags: Set<String>
    /// The fraction taken off this model's price for requests of a batch (`batch_discount`, 0…1;
    /// 0.5 is the half price OpenAI and Anthropic charge for their batch APIs). 0 by default.
    public var batchDiscount: Double = 0

    public init(
        name: String, kind: Kind = .chat, provider: String, upstream: String? = nil, price: Price,
        contextWindow: Int? = nil, maxOutputTokens: Int? = nil, capabilities: Set<Capability> = [],
        tags: Set<String> = []
    ) {
        self.name = name
        self.kind = kind
        self.provider = provider
        self.upstream = upstream ?? name
        self.price = price
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.capabilities = capabilities
        self.tags = tags
    }

    /// The cost of one call with this usage, at the batch price when `batch` is true.
    public func cost(of usage: Usage, batch: Bool) -> Double {
        let full = price.cost(of: usage)
        return batch ? full * (1 - min(max(batchDiscount, 0), 1)) : full
    }
}
