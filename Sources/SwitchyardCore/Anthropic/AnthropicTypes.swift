import Foundation

/// Anthropic Messages API wire types (`POST /v1/messages`). Both the ingress (clients speaking
/// Anthropic to Switchyard) and the Anthropic provider adapter use them, so they live in Core.
public enum Anthropic {}

extension Anthropic {
    public struct ImageSource: Sendable, Hashable, Codable {
        public var type: String
        public var mediaType: String?
        public var data: String?
        public var url: String?

        public init(type: String, mediaType: String? = nil, data: String? = nil, url: String? = nil) {
            self.type = type
            self.mediaType = mediaType
            self.data = data
            self.url = url
        }

        enum CodingKeys: String, CodingKey {
            case type, data, url
            case mediaType = "media_type"
        }
    }

    /// A content block of a message.
    public enum Block: Sendable, Hashable {
        case text(String)
        case image(ImageSource)
        case toolUse(id: String, name: String, input: JSONValue)
        case toolResult(toolUseID: String, content: [Block], isError: Bool)
        case thinking(text: String, signature: String?)
        case other(JSONValue)

        public var text: String? {
            if case .text(let text) = self { return text }
            return nil
        }

        /// The wire `type` of the block.
        public var typeName: String {
            switch self {
            case .text: return "text"
            case .image: return "image"
            case .toolUse: return "tool_use"
            case .toolResult: return "tool_result"
            case .thinking: return "thinking"
            case .other(let value): return value["type"]?.stringValue ?? ""
            }
        }

        /// Blocks a model writes that clients send back in assistant turns; dropped on the way
        /// (they mean nothing to another model).
        public static let assistantOnlyTypes: Set<String> = [
            "redacted_thinking", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
            "code_execution_tool_result", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
            "mcp_tool_use", "mcp_tool_result", "container_upload", "tool_search_tool_result",
        ]

        /// Every block type the Messages API defines in requests.
        public static let knownTypes: Set<String> = assistantOnlyTypes.union([
            "text", "image", "tool_use", "tool_result", "thinking", "document", "search_result",
        ])
    }

    public struct Message: Sendable, Hashable, Codable {
        public var role: String
        public var content: [Block]

        public init(role: String, content: [Block]) {
            self.role = role
            self.content = content
        }

        enum CodingKeys: String, CodingKey { case role, content }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            guard role == "user" || role == "assistant" else {
                throw DecodingError.dataCorruptedError(
                    forKey: .role, in: container, debugDescription: "role must be \"user\" or \"assistant\"")
            }
            if let text = try? container.decode(String.self, forKey: .content) {
                content = [.text(text)]
            } else {
                content = try container.decode([Block].self, forKey: .content)
            }
        }
    }

    public struct Tool: Sendable, Hashable, Codable {
        public var name: String
        public var description: String?
        public var inputSchema: JSONValue

        public init(name: String, description: String? = nil, inputSchema: JSONValue) {
            self.name = name
            self.description = description
            self.inputSchema = inputSchema
        }

        enum CodingKeys: String, CodingKey {
            case name, description
            case inputSchema = "input_schema"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            description = try container.decodeIfPresent(String.self, forKey: .description)
            inputSchema = try container.decodeIfPresent(JSONValue.self, forKey: .inputSchema) ?? ["type": "object"]
        }
    }

    public struct ToolChoice: Sendable, Hashable, Codable {
        public var type: String
        public var name: String?
        public var disableParallelToolUse: Bool?

        public init(type: String, name: String? = nil, disableParallelToolUse: Bool? = nil) {
            self.type = type
            self.name = name
            self.disableParallelToolUse = disableParallelToolUse
        }

        enum CodingKeys: String, CodingKey {
            case type, name
            case disableParallelToolUse = "disable_parallel_tool_use"
        }
    }

    public struct Usage: Sendable, Hashable, Codable {
        public var inputTokens: Int
        public var outputTokens: Int
        public var cacheCreationInputTokens: Int?
        public var cacheReadInputTokens: Int?

        public init(inputTokens: Int, outputTokens: Int, cacheCreationInputTokens: Int? = 0, cacheReadInputTokens: Int? = 0)
        {
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.cacheCreationInputTokens = cacheCreationInputTokens
            self.cacheReadInputTokens = cacheReadInputTokens
        }

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case cacheReadInputTokens = "cache_read_input_tokens"
        }

        /// Reads an upstream's usage; any count that is not a plausible token count makes it
        /// unreadable, so the caller estimates instead (see `SwitchyardCore.Usage.init(from:)`).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.inputTokens, .outputTokens, .cacheCreationInputTokens, .cacheReadInputTokens]
            where container.hasImplausibleTokenCount(key) {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "not a token count from 0 to \(TokenCount.maximum)")
            }
            inputTokens = container.decodeTokenCount(.inputTokens) ?? 0
            outputTokens = container.decodeTokenCount(.outputTokens) ?? 0
            cacheCreationInputTokens = container.decodeTokenCount(.cacheCreationInputTokens)
            cacheReadInputTokens = container.decodeTokenCount(.cacheReadInputTokens)
        }

        /// In Switchyard's canonical form, where prompt tokens include the cached ones.
        public var canonical: SwitchyardCore.Usage {
            let read = cacheReadInputTokens ?? 0
            let written = cacheCreationInputTokens ?? 0
            return SwitchyardCore.Usage(
                promptTokens: inputTokens &+ read &+ written, completionTokens: outputTokens, cachedTokens: read,
                cacheWriteTokens: written)
        }

        public init(_ usage: SwitchyardCore.Usage) {
            let read = max(0, min(usage.cachedTokens, usage.promptTokens))
            let written = max(0, min(usage.cacheWriteTokens, usage.promptTokens - read))
            self.init(
                inputTokens: usage.promptTokens - read - written, outputTokens: usage.completionTokens,
                cacheCreationInputTokens: written, cacheReadInputTokens: read)
        }
    }

    /// `POST /v1/messages` body.
    public struct Request: Sendable, Hashable {
        public var model: String
        public var messages: [Message]
        public var system: [Block]?
        public var maxTokens: Int
        public var metadata: JSONValue?
        public var stopSequences: [String]?
        public var stream: Bool
        public var temperature: Double?
        public var topP: Double?
        public var topK: Int?
        public var tools: [Tool]?
        public var toolChoice: ToolChoice?
        /// Structured outputs: `{"type": "json_schema", "schema": {...}}`.
        public var outputFormat: JSONValue?
        public var thinking: JSONValue?
        /// Switchyard's own options, never sent upstream.
        public var switchyard: JSONValue?

        public init(model: String, messages: [Message], maxTokens: Int) {
            self.model = model
            self.messages = messages
            self.maxTokens = maxTokens
            self.stream = false
        }
    }

    /// A non-streamed Messages API response.
    public struct Response: Sendable, Hashable {
        public var id: String
        public var model: String
        public var content: [Block]
        public var stopReason: String?
        public var stopSequence: String?
        public var usage: Usage
        /// False when the upstream sent no usage or one that could not be trusted (then it is estimated).
        public var usageReported = true
        public var switchyard: JSONValue?

        public init(
            id: String, model: String, content: [Block], stopReason: String?, stopSequence: String? = nil,
            usage: Usage, switchyard: JSONValue? = nil
        ) {
            self.id = id
            self.model = model
            self.content = content
            self.stopReason = stopReason
            self.stopSequence = stopSequence
            self.usage = usage
            self.switchyard = switchyard
        }
    }

    /// The error envelope: `{"type": "error", "error": {"type": ..., "message": ...}}`.
    public struct ErrorBody: Sendable, Hashable, Codable {
        public struct Detail: Sendable, Hashable, Codable {
            public var type: String
            public var message: String
            /// Switchyard's own error code where Anthropic's `type` is too coarse (`guardrail_blocked`).
            public var code: String?
        }

        public var type: String
        public var error: Detail

        public init(type: String, message: String, code: String? = nil) {
            self.type = "error"
            self.error = Detail(type: type, message: message, code: code)
        }
    }
}

extension Anthropic.Block: Codable {
    enum CodingKeys: String, CodingKey {
        case type, text, source, id, name, input, content, thinking, signature
        case toolUseID = "tool_use_id"
        case isError = "is_error"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "text":
            self = .text(try container.decode(String.self, forKey: .text))
        case "image":
            self = .image(try container.decode(Anthropic.ImageSource.self, forKey: .source))
        case "tool_use":
            self = .toolUse(
                id: try container.decode(String.self, forKey: .id), name: try container.decode(String.self, forKey: .name),
                input: try container.decodeIfPresent(JSONValue.self, forKey: .input) ?? [:])
        case "tool_result":
            let content: [Anthropic.Block]
            if let text = try? container.decode(String.self, forKey: .content) {
                content = [.text(text)]
            } else {
                content = try container.decodeIfPresent([Anthropic.Block].self, forKey: .content) ?? []
            }
            self = .toolResult(
                toolUseID: try container.decode(String.self, forKey: .toolUseID), content: content,
                isError: try container.decodeIfPresent(Bool.self, forKey: .isError) ?? false)
        case "thinking":
            self = .thinking(
                text: try container.decodeIfPresent(String.self, forKey: .thinking) ?? "",
                signature: try container.decodeIfPresent(String.self, forKey: .signature))
        default:
            self = .other(try JSONValue(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .text(let text):
            try container.encode("text", forKey: .type)
            try container.encode(text, forKey: .text)
        case .image(let source):
            try container.encode("image", forKey: .type)
            try container.encode(source, forKey: .source)
        case .toolUse(let id, let name, let input):
            try container.encode("tool_use", forKey: .type)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(input, forKey: .input)
        case .toolResult(let toolUseID, let content, let isError):
            try container.encode("tool_result", forKey: .type)
            try container.encode(toolUseID, forKey: .toolUseID)
            try container.encode(content, forKey: .content)
            if isError { try container.encode(true, forKey: .isError) }
        case .thinking(let text, let signature):
            try container.encode("thinking", forKey: .type)
            try container.encode(text, forKey: .thinking)
            try container.encodeIfPresent(signature, forKey: .signature)
        case .other(let value):
            try value.encode(to: encoder)
        }
    }
}

extension Anthropic.Request: Codable {
    enum CodingKeys: String, CodingKey {
        case model, messages, system, metadata, stream, temperature, tools, thinking, switchyard
        case maxTokens = "max_tokens"
        case stopSequences = "stop_sequences"
        case topP = "top_p"
        case topK = "top_k"
        case toolChoice = "tool_choice"
        case outputFormat = "output_format"
        case outputConfig = "output_config"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        messages = try container.decode([Anthropic.Message].self, forKey: .messages)
        if let text = try? container.decode(String.self, forKey: .system) {
            system = [.text(text)]
        } else {
            system = try container.decodeIfPresent([Anthropic.Block].self, forKey: .system)
        }
        guard container.contains(.maxTokens) else {
            throw DecodingError.keyNotFound(
                CodingKeys.maxTokens, .init(codingPath: container.codingPath, debugDescription: "max_tokens is required"))
        }
        // Numbers are checked here, with the range in the message: 1e300 or 1.5 is a 400, never a trap.
        guard let maxTokens = try container.decodeInteger(.maxTokens, field: "max_tokens", in: ChatRequest.outputTokenRange) else {
            throw SwitchyardError.invalidRequest("max_tokens is required: the most tokens the answer may have.", param: "max_tokens")
        }
        self.maxTokens = maxTokens
        metadata = try container.decodeIfPresent(JSONValue.self, forKey: .metadata)
        stopSequences = try container.decodeIfPresent([String].self, forKey: .stopSequences)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        temperature = try container.decodeNumber(.temperature, field: "temperature", in: 0...1)
        topP = try container.decodeNumber(.topP, field: "top_p", in: 0...1)
        topK = try container.decodeInteger(.topK, field: "top_k", in: 0...Int(Int32.max))
        tools = try container.decodeIfPresent([Anthropic.Tool].self, forKey: .tools)
        toolChoice = try container.decodeIfPresent(Anthropic.ToolChoice.self, forKey: .toolChoice)
        // Structured outputs: `output_config.format` (current SDKs) or the older `output_format`.
        outputFormat = try container.decodeIfPresent(JSONValue.self, forKey: .outputConfig)?["format"]
            ?? container.decodeIfPresent(JSONValue.self, forKey: .outputFormat)
        thinking = try container.decodeIfPresent(JSONValue.self, forKey: .thinking)
        if let thinking, thinking != .null {
            guard thinking.objectValue != nil else {
                throw SwitchyardError.invalidRequest("thinking must be an object like {\"type\": \"enabled\", \"budget_tokens\": 2048}.", param: "thinking")
            }
            if let budget = thinking["budget_tokens"] {
                _ = try budget.integer("thinking.budget_tokens", in: 1...Int(Int32.max))
            }
        }
        switchyard = try container.decodeIfPresent(JSONValue.self, forKey: .switchyard)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(messages, forKey: .messages)
        if let system, !system.isEmpty {
            if system.count == 1, let text = system[0].text {
                try container.encode(text, forKey: .system)
            } else {
                try container.encode(system, forKey: .system)
            }
        }
        try container.encode(maxTokens, forKey: .maxTokens)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try container.encodeIfPresent(stopSequences, forKey: .stopSequences)
        if stream { try container.encode(true, forKey: .stream) }
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(topP, forKey: .topP)
        try container.encodeIfPresent(topK, forKey: .topK)
        if let tools, !tools.isEmpty { try container.encode(tools, forKey: .tools) }
        try container.encodeIfPresent(toolChoice, forKey: .toolChoice)
        try container.encodeIfPresent(outputFormat, forKey: .outputFormat)
        try container.encodeIfPresent(thinking, forKey: .thinking)
    }
}

extension Anthropic.Response: Codable {
    enum CodingKeys: String, CodingKey {
        case id, type, role, model, content, usage, switchyard
        case stopReason = "stop_reason"
        case stopSequence = "stop_sequence"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        model = try container.decodeIfPresent(String.self, forKey: .model) ?? ""
        content = try container.decodeIfPresent([Anthropic.Block].self, forKey: .content) ?? []
        stopReason = try container.decodeIfPresent(String.self, forKey: .stopReason)
        stopSequence = try container.decodeIfPresent(String.self, forKey: .stopSequence)
        if let reported = (try? container.decodeIfPresent(Anthropic.Usage.self, forKey: .usage)) ?? nil {
            usage = reported
        } else {
            usage = .init(inputTokens: 0, outputTokens: 0)
            usageReported = false
        }
        switchyard = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("message", forKey: .type)
        try container.encode("assistant", forKey: .role)
        try container.encode(model, forKey: .model)
        try container.encode(content, forKey: .content)
        try container.encode(stopReason, forKey: .stopReason)
        try container.encode(stopSequence, forKey: .stopSequence)
        try container.encode(usage, forKey: .usage)
        try container.encodeIfPresent(switchyard, forKey: .switchyard)
    }
}
