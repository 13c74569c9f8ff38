import Foundation

/// Token usage of one completion, in OpenAI's shape.
public struct Usage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens served from the provider's prompt cache (a subset of `promptTokens`).
    public var cachedTokens: Int
    /// Prompt tokens written to the provider's prompt cache (Anthropic reports these), a subset of `promptTokens`.
    public var cacheWriteTokens: Int
    public var reasoningTokens: Int?
    /// True when Switchyard estimated the counts because the upstream reported none.
    public var estimated: Bool

    public init(
        promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0, cacheWriteTokens: Int = 0,
        reasoningTokens: Int? = nil, estimated: Bool = false
    ) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.estimated = estimated
    }

    public var totalTokens: Int { promptTokens &+ completionTokens }

    /// True when every count is a plausible token count (see `TokenCount`).
    public var isPlausible: Bool {
        TokenCount.plausible.contains(promptTokens) && TokenCount.plausible.contains(completionTokens)
            && TokenCount.plausible.contains(cachedTokens) && TokenCount.plausible.contains(cacheWriteTokens)
            && reasoningTokens.map(TokenCount.plausible.contains) ?? true
    }
}

extension Usage: Codable {
    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
        case completionTokensDetails = "completion_tokens_details"
    }

    struct PromptDetails: Codable {
        var cachedTokens: Int?
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }

    struct CompletionDetails: Codable {
        var reasoningTokens: Int?
        enum CodingKeys: String, CodingKey { case reasoningTokens = "reasoning_tokens" }
    }

    /// Reads an upstream's usage. Counts that are not plausible token counts (1e300, -5, "12") make
    /// the whole usage unreadable: the caller treats it as missing and estimates, never trusts it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.promptTokens, .completionTokens] where container.hasImplausibleTokenCount(key) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "not a token count from 0 to \(TokenCount.maximum)")
        }
        promptTokens = container.decodeTokenCount(.promptTokens) ?? 0
        completionTokens = container.decodeTokenCount(.completionTokens) ?? 0
        let prompt = try? container.nestedContainer(keyedBy: PromptDetails.CodingKeys.self, forKey: .promptTokensDetails)
        cachedTokens = min(prompt?.decodeTokenCount(.cachedTokens) ?? 0, promptTokens)
        let completion = try? container.nestedContainer(keyedBy: CompletionDetails.CodingKeys.self, forKey: .completionTokensDetails)
        reasoningTokens = completion?.decodeTokenCount(.reasoningTokens)
        cacheWriteTokens = 0
        estimated = false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
        try container.encode(PromptDetails(cachedTokens: cachedTokens), forKey: .promptTokensDetails)
        if let reasoningTokens {
            try container.encode(CompletionDetails(reasoningTokens: reasoningTokens), forKey: .completionTokensDetails)
        }
    }
}

/// A rough token count for text when the upstream reports none: about four characters a token.
public enum TokenEstimator {
    public static func estimate(_ text: String) -> Int {
        text.isEmpty ? 0 : max(1, (text.utf8.count + 3) / 4)
    }

    public static func estimate(_ request: ChatRequest) -> Int {
        var total = 0
        for message in request.messages {
            total += 4 + estimate(message.text)
            for call in message.toolCalls ?? [] { total += estimate(call.function.name) + estimate(call.function.arguments) }
        }
        for tool in request.tools ?? [] {
            total += estimate(tool.function.name) + estimate(tool.function.description ?? "")
                + estimate(tool.function.parameters?.jsonString() ?? "")
        }
        return total
    }
}
