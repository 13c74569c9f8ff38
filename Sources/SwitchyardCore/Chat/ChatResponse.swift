import Foundation

/// Why a model stopped, in OpenAI's vocabulary.
public enum FinishReason: String, Sendable, Hashable, Codable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
    case functionCall = "function_call"
}

/// A non-streamed chat completion in the OpenAI shape.
public struct ChatResponse: Sendable, Hashable {
    public struct Choice: Sendable, Hashable {
        public var index: Int
        public var message: ChatMessage
        public var finishReason: FinishReason?

        public init(index: Int = 0, message: ChatMessage, finishReason: FinishReason?) {
            self.index = index
            self.message = message
            self.finishReason = finishReason
        }
    }

    public var id: String
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
    public var systemFingerprint: String?
    /// Switchyard's extension object (request id, cost, …), added by the gateway.
    public var switchyard: JSONValue?

    public init(
        id: String, created: Int, model: String, choices: [Choice], usage: Usage?, systemFingerprint: String? = nil,
        switchyard: JSONValue? = nil
    ) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.systemFingerprint = systemFingerprint
        self.switchyard = switchyard
    }

    /// The first choice's message, which is the answer for `n = 1`.
    public var message: ChatMessage? { choices.first?.message }
}

extension ChatResponse.Choice: Codable {
    enum CodingKeys: String, CodingKey {
        case index, message, logprobs
        case finishReason = "finish_reason"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        index = (try? container.decodeIfPresent(JSONValue.self, forKey: .index))??.intValue ?? 0
        message = try container.decode(ChatMessage.self, forKey: .message)
        finishReason = FinishReason.lenient(try container.decodeIfPresent(String.self, forKey: .finishReason))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(message, forKey: .message)
        try container.encodeNil(forKey: .logprobs)
        try container.encode(finishReason, forKey: .finishReason)
    }
}

extension FinishReason {
    /// Maps the finish reasons that OpenAI-compatible servers actually send (some invent their own).
    public static func lenient(_ raw: String?) -> FinishReason? {
        guard let raw else { return nil }
        if let known = FinishReason(rawValue: raw) { return known }
        switch raw {
        case "eos", "end_turn", "stop_sequence": return .stop
        case "max_tokens", "model_length": return .length
        case "tool_use", "function_calls": return .toolCalls
        default: return .stop
        }
    }
}

extension ChatResponse: Codable {
    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, switchyard
        case systemFingerprint = "system_fingerprint"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        created = container.decodeTimestamp(.created)
        model = try container.decodeIfPresent(String.self, forKey: .model) ?? ""
        choices = try container.decode([Choice].self, forKey: .choices)
        usage = (try? container.decodeIfPresent(Usage.self, forKey: .usage)) ?? nil  // unreadable usage is missing usage
        systemFingerprint = try container.decodeIfPresent(String.self, forKey: .systemFingerprint)
        switchyard = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("chat.completion", forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        try container.encodeIfPresent(usage, forKey: .usage)
        try container.encodeIfPresent(systemFingerprint, forKey: .systemFingerprint)
        try container.encodeIfPresent(switchyard, forKey: .switchyard)
    }
}

/// One streamed chunk (`chat.completion.chunk`).
public struct ChatChunk: Sendable, Hashable {
    public struct Delta: Sendable, Hashable, Codable {
        public var role: ChatMessage.Role?
        public var content: String?
        public var toolCalls: [ToolCallDelta]?
        public var refusal: String?

        public init(
            role: ChatMessage.Role? = nil, content: String? = nil, toolCalls: [ToolCallDelta]? = nil,
            refusal: String? = nil
        ) {
            self.role = role
            self.content = content
            self.toolCalls = toolCalls
            self.refusal = refusal
        }

        enum CodingKeys: String, CodingKey {
            case role, content, refusal
            case toolCalls = "tool_calls"
        }
    }

    public struct Choice: Sendable, Hashable {
        public var index: Int
        public var delta: Delta
        public var finishReason: FinishReason?

        public init(index: Int = 0, delta: Delta, finishReason: FinishReason? = nil) {
            self.index = index
            self.delta = delta
            self.finishReason = finishReason
        }
    }

    public var id: String
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
    public var systemFingerprint: String?
    public var switchyard: JSONValue?

    public init(
        id: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil,
        systemFingerprint: String? = nil, switchyard: JSONValue? = nil
    ) {
        self.id = id
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.systemFingerprint = systemFingerprint
        self.switchyard = switchyard
    }
}

extension ChatChunk.Choice: Codable {
    enum CodingKeys: String, CodingKey {
        case index, delta, logprobs
        case finishReason = "finish_reason"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        index = (try? container.decodeIfPresent(JSONValue.self, forKey: .index))??.intValue ?? 0
        delta = try container.decodeIfPresent(ChatChunk.Delta.self, forKey: .delta) ?? .init()
        finishReason = FinishReason.lenient(try container.decodeIfPresent(String.self, forKey: .finishReason))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(delta, forKey: .delta)
        try container.encodeNil(forKey: .logprobs)
        try container.encode(finishReason, forKey: .finishReason)
    }
}

extension ChatChunk: Codable {
    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, switchyard
        case systemFingerprint = "system_fingerprint"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        created = container.decodeTimestamp(.created)
        model = try container.decodeIfPresent(String.self, forKey: .model) ?? ""
        choices = try container.decodeIfPresent([Choice].self, forKey: .choices) ?? []
        usage = (try? container.decodeIfPresent(Usage.self, forKey: .usage)) ?? nil  // unreadable usage is missing usage
        systemFingerprint = try container.decodeIfPresent(String.self, forKey: .systemFingerprint)
        switchyard = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("chat.completion.chunk", forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        if let usage { try container.encode(usage, forKey: .usage) }
        try container.encodeIfPresent(systemFingerprint, forKey: .systemFingerprint)
        try container.encodeIfPresent(switchyard, forKey: .switchyard)
    }
}

/// Folds a stream of chunks back into one response: for logging, caching and tests.
public struct ChatStreamAccumulator: Sendable {
    public private(set) var id = ""
    public private(set) var model = ""
    public private(set) var created = 0
    public private(set) var text = ""
    public private(set) var toolCalls: [ToolCall] = []
    public private(set) var finishReason: FinishReason?
    public private(set) var usage: Usage?
    public private(set) var chunkCount = 0
    /// Where each streamed tool-call index landed in `toolCalls` (indexes come from upstreams: sparse,
    /// huge or negative ones must neither trap nor allocate).
    private var toolSlots: [Int: Int] = [:]

    public init() {}

    public mutating func add(_ chunk: ChatChunk) {
        chunkCount += 1
        if id.isEmpty { id = chunk.id }
        if model.isEmpty { model = chunk.model }
        if created == 0 { created = chunk.created }
        if let usage = chunk.usage { self.usage = usage }
        for choice in chunk.choices where choice.index == 0 {
            if let content = choice.delta.content { text += content }
            for delta in choice.delta.toolCalls ?? [] {
                let slot: Int
                if let known = toolSlots[delta.index] {
                    slot = known
                } else {
                    guard toolCalls.count <= ToolCallDelta.maximumIndex else { continue }
                    slot = toolCalls.count
                    toolSlots[delta.index] = slot
                    toolCalls.append(ToolCall(id: "", name: "", arguments: ""))
                }
                if let id = delta.id { toolCalls[slot].id = id }
                if let name = delta.function?.name { toolCalls[slot].function.name += name }
                if let arguments = delta.function?.arguments { toolCalls[slot].function.arguments += arguments }
            }
            if let reason = choice.finishReason { finishReason = reason }
        }
    }

    public var response: ChatResponse {
        let message = ChatMessage(
            role: .assistant, content: text.isEmpty && !toolCalls.isEmpty ? nil : .text(text),
            toolCalls: toolCalls.isEmpty ? nil : toolCalls)
        return ChatResponse(
            id: id, created: created, model: model,
            choices: [.init(index: 0, message: message, finishReason: finishReason)], usage: usage)
    }
}
