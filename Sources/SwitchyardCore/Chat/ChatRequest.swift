import Foundation

/// A chat completion request in the OpenAI shape: the canonical form every ingress protocol is
/// translated into and every provider adapter translates out of.
///
/// Fields Switchyard does not model are kept in `extra` and passed on to OpenAI-compatible upstreams.
/// The `switchyard` field holds per-request gateway options and is never sent upstream.
public struct ChatRequest: Sendable, Hashable {
    public var model: String
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]?
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var responseFormat: ResponseFormat?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var stop: [String]?
    public var seed: Int?
    public var user: String?
    public var metadata: JSONValue?
    public var n: Int?
    public var stream: Bool
    public var includeUsage: Bool
    /// Fields not modelled above, passed through untouched to OpenAI-compatible upstreams.
    public var extra: [String: JSONValue]
    /// Switchyard's own per-request options (`"switchyard": {...}`); stripped before any upstream sees it.
    public var switchyard: JSONValue?

    public init(
        model: String, messages: [ChatMessage], tools: [ToolDefinition]? = nil, toolChoice: ToolChoice? = nil,
        parallelToolCalls: Bool? = nil, responseFormat: ResponseFormat? = nil, temperature: Double? = nil,
        topP: Double? = nil, maxTokens: Int? = nil, maxCompletionTokens: Int? = nil, stop: [String]? = nil,
        seed: Int? = nil, user: String? = nil, metadata: JSONValue? = nil, n: Int? = nil, stream: Bool = false,
        includeUsage: Bool = false, extra: [String: JSONValue] = [:], switchyard: JSONValue? = nil
    ) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.responseFormat = responseFormat
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.stop = stop
        self.seed = seed
        self.user = user
        self.metadata = metadata
        self.n = n
        self.stream = stream
        self.includeUsage = includeUsage
        self.extra = extra
        self.switchyard = switchyard
    }

    /// Output-token caps a client may ask for: no model answers more, and sums with prompt sizes
    /// stay far from overflow.
    public static let outputTokenRange = 1...Int(Int32.max)

    /// The output cap the caller asked for, whichever field it used.
    public var outputTokenLimit: Int? { maxCompletionTokens ?? maxTokens }

    /// The system and developer instructions, joined.
    public var systemText: String {
        messages.filter { $0.role == .system || $0.role == .developer }.map(\.text).joined(separator: "\n\n")
    }
}

extension ChatRequest: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, messages, tools, temperature, stop, seed, user, metadata, n, stream, switchyard
        case toolChoice = "tool_choice"
        case parallelToolCalls = "parallel_tool_calls"
        case responseFormat = "response_format"
        case topP = "top_p"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case streamOptions = "stream_options"
    }

    private static let knownKeys = Set(CodingKeys.allCases.map(\.rawValue))

    struct StreamOptions: Codable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        messages = try container.decode([ChatMessage].self, forKey: .messages)
        tools = try container.decodeIfPresent([ToolDefinition].self, forKey: .tools)
        toolChoice = try container.decodeIfPresent(ToolChoice.self, forKey: .toolChoice)
        parallelToolCalls = try container.decodeIfPresent(Bool.self, forKey: .parallelToolCalls)
        responseFormat = try container.decodeIfPresent(ResponseFormat.self, forKey: .responseFormat)
        // Numbers are checked here, with the range in the message: 1e300 or 1.5 is a 400, never a trap.
        temperature = try container.decodeNumber(.temperature, field: "temperature", in: 0...2)
        topP = try container.decodeNumber(.topP, field: "top_p", in: 0...1)
        maxTokens = try container.decodeInteger(.maxTokens, field: "max_tokens", in: Self.outputTokenRange)
        maxCompletionTokens = try container.decodeInteger(
            .maxCompletionTokens, field: "max_completion_tokens", in: Self.outputTokenRange)
        if let single = try? container.decodeIfPresent(String.self, forKey: .stop) {
            stop = [single]
        } else {
            stop = try container.decodeIfPresent([String].self, forKey: .stop)
        }
        seed = try container.decodeInteger(.seed, field: "seed", in: Int.min...Int.max)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        metadata = try container.decodeIfPresent(JSONValue.self, forKey: .metadata)
        n = try container.decodeInteger(.n, field: "n", in: 1...128)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        includeUsage = try container.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)?.includeUsage ?? false
        switchyard = try container.decodeIfPresent(JSONValue.self, forKey: .switchyard)

        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        var extra: [String: JSONValue] = [:]
        for key in all.allKeys where !Self.knownKeys.contains(key.stringValue) {
            extra[key.stringValue] = try all.decode(JSONValue.self, forKey: key)
        }
        self.extra = extra
    }

    /// Encodes the upstream form: `switchyard` is left out, `extra` fields are written back.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(messages, forKey: .messages)
        if let tools, !tools.isEmpty { try container.encode(tools, forKey: .tools) }
        try container.encodeIfPresent(toolChoice, forKey: .toolChoice)
        try container.encodeIfPresent(parallelToolCalls, forKey: .parallelToolCalls)
        try container.encodeIfPresent(responseFormat, forKey: .responseFormat)
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(topP, forKey: .topP)
        try container.encodeIfPresent(maxTokens, forKey: .maxTokens)
        try container.encodeIfPresent(maxCompletionTokens, forKey: .maxCompletionTokens)
        try container.encodeIfPresent(stop, forKey: .stop)
        try container.encodeIfPresent(seed, forKey: .seed)
        try container.encodeIfPresent(user, forKey: .user)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try container.encodeIfPresent(n, forKey: .n)
        if stream {
            try container.encode(true, forKey: .stream)
            if includeUsage { try container.encode(StreamOptions(includeUsage: true), forKey: .streamOptions) }
        }
        if !extra.isEmpty {
            var all = encoder.container(keyedBy: AnyCodingKey.self)
            for (key, value) in extra { try all.encode(value, forKey: AnyCodingKey(key)) }
        }
    }
}
