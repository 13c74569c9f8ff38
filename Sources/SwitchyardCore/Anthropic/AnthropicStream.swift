import Foundation

extension Anthropic {
    /// One server-sent event of a Messages stream: `event: name` and its JSON `data`.
    public struct StreamEvent: Sendable, Hashable {
        public var name: String
        public var payload: JSONValue

        public init(name: String, payload: JSONValue) {
            self.name = name
            self.payload = payload
        }
    }
}

/// Turns canonical chunks into the Anthropic event sequence a Messages client expects:
/// message_start, ping, (content_block_start, content_block_delta…, content_block_stop)…, message_delta, message_stop.
public struct AnthropicStreamWriter: Sendable {
    private let messageID: String
    private let model: String
    private let estimatedInputTokens: Int
    private var blockIndex = -1
    private var openBlock: OpenBlock?
    private var toolBlocks: [Int: Int] = [:]  // canonical tool-call index → block index
    private var finishReason: FinishReason?
    private var started = false

    private enum OpenBlock { case text, tool(Int) }

    public init(messageID: String, model: String, estimatedInputTokens: Int) {
        self.messageID = AnthropicTranslator.messageID(messageID)
        self.model = model
        self.estimatedInputTokens = estimatedInputTokens
    }

    /// The opening events; call once before any chunk.
    public mutating func start() -> [Anthropic.StreamEvent] {
        started = true
        let message: JSONValue = [
            "id": .string(messageID), "type": "message", "role": "assistant", "model": .string(model), "content": [],
            "stop_reason": nil, "stop_sequence": nil,
            "usage": [
                "input_tokens": .int(Int64(estimatedInputTokens)), "output_tokens": 1,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            ],
        ]
        return [
            .init(name: "message_start", payload: ["type": "message_start", "message": message]),
            .init(name: "ping", payload: ["type": "ping"]),
        ]
    }

    public mutating func add(_ chunk: ChatChunk) -> [Anthropic.StreamEvent] {
        var events: [Anthropic.StreamEvent] = []
        if !started { events += start() }
        for choice in chunk.choices where choice.index == 0 {
            if let text = choice.delta.content, !text.isEmpty {
                if case .text? = openBlock {} else {
                    events += closeBlock()
                    blockIndex += 1
                    openBlock = .text
                    events.append(
                        .init(
                            name: "content_block_start",
                            payload: [
                                "type": "content_block_start", "index": .int(Int64(blockIndex)),
                                "content_block": ["type": "text", "text": ""],
                            ]))
                }
                events.append(delta(["type": "text_delta", "text": .string(text)]))
            }
            for call in choice.delta.toolCalls ?? [] {
                if toolBlocks[call.index] == nil {
                    events += closeBlock()
                    blockIndex += 1
                    toolBlocks[call.index] = blockIndex
                    openBlock = .tool(call.index)
                    events.append(
                        .init(
                            name: "content_block_start",
                            payload: [
                                "type": "content_block_start", "index": .int(Int64(blockIndex)),
                                "content_block": [
                                    "type": "tool_use", "id": .string(call.id ?? "toolu_\(blockIndex)"),
                                    "name": .string(call.function?.name ?? ""), "input": [:],
                                ],
                            ]))
                }
                if let arguments = call.function?.arguments, !arguments.isEmpty, let index = toolBlocks[call.index] {
                    events.append(
                        .init(
                            name: "content_block_delta",
                            payload: [
                                "type": "content_block_delta", "index": .int(Int64(index)),
                                "delta": ["type": "input_json_delta", "partial_json": .string(arguments)],
                            ]))
                }
            }
            if let reason = choice.finishReason { finishReason = reason }
        }
        return events
    }

    /// The closing events, once the upstream stream has ended.
    public mutating func finish(usage: Usage?, switchyard: JSONValue? = nil) -> [Anthropic.StreamEvent] {
        var events: [Anthropic.StreamEvent] = []
        if !started { events += start() }
        events += closeBlock()
        let anthropicUsage = Anthropic.Usage(usage ?? Usage(promptTokens: estimatedInputTokens, completionTokens: 0))
        var payload: [String: JSONValue] = [
            "type": "message_delta",
            "delta": ["stop_reason": .string(AnthropicTranslator.stopReason(finishReason)), "stop_sequence": nil],
            "usage": [
                "input_tokens": .int(Int64(anthropicUsage.inputTokens)),
                "output_tokens": .int(Int64(anthropicUsage.outputTokens)),
                "cache_creation_input_tokens": .int(Int64(anthropicUsage.cacheCreationInputTokens ?? 0)),
                "cache_read_input_tokens": .int(Int64(anthropicUsage.cacheReadInputTokens ?? 0)),
            ],
        ]
        if let switchyard { payload["switchyard"] = switchyard }
        events.append(.init(name: "message_delta", payload: .object(payload)))
        events.append(.init(name: "message_stop", payload: ["type": "message_stop"]))
        return events
    }

    /// The event that ends a stream that failed after it started.
    public static func error(_ error: SwitchyardError) -> Anthropic.StreamEvent {
        .init(
            name: "error",
            payload: [
                "type": "error",
                "error": errorDetail(error),
            ])
    }

    private static func errorDetail(_ error: SwitchyardError) -> JSONValue {
        var detail: [String: JSONValue] = [
            "type": .string(AnthropicErrorType.for(status: error.status)), "message": .string(error.message),
        ]
        if error.code.rawValue.hasPrefix("guardrail_") { detail["code"] = .string(error.code.rawValue) }
        return .object(detail)
    }

    private func delta(_ delta: JSONValue) -> Anthropic.StreamEvent {
        .init(
            name: "content_block_delta",
            payload: ["type": "content_block_delta", "index": .int(Int64(blockIndex)), "delta": delta])
    }

    private mutating func closeBlock() -> [Anthropic.StreamEvent] {
        guard openBlock != nil else { return [] }
        openBlock = nil
        return [
            .init(name: "content_block_stop", payload: ["type": "content_block_stop", "index": .int(Int64(blockIndex))])
        ]
    }
}

/// The `error.type` Anthropic uses for an HTTP status.
public enum AnthropicErrorType {
    public static func `for`(status: Int) -> String {
        switch status {
        case 400, 422: return "invalid_request_error"
        case 401: return "authentication_error"
        case 402: return "billing_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 503, 529: return "overloaded_error"
        case 504: return "timeout_error"
        default: return "api_error"
        }
    }
}

/// Turns an Anthropic upstream event stream into canonical chunks. The last chunk (on
/// message_stop) has no choices and carries the usage, as OpenAI's `include_usage` chunk does.
public struct AnthropicStreamReader: Sendable {
    private let usesJSONTool: Bool
    private var id = ""
    private var model = ""
    private let created = Int(Date().timeIntervalSince1970)
    private var toolIndexByBlock: [Int: Int] = [:]
    private var jsonBlocks: Set<Int> = []
    private var nextToolIndex = 0
    public private(set) var usage: Anthropic.Usage = .init(inputTokens: 0, outputTokens: 0)
    public private(set) var sawUsage = false
    /// True once any usage count was not a plausible token count.
    public private(set) var usageBroken = false
    public private(set) var finished = false

    public init(usesJSONTool: Bool) {
        self.usesJSONTool = usesJSONTool
    }

    private func chunk(_ delta: ChatChunk.Delta, finish: FinishReason? = nil) -> ChatChunk {
        ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta, finishReason: finish)])
    }

    public mutating func read(event: String?, data: String) throws -> [ChatChunk] {
        guard let payload = JSONValue.parse(data) else {
            throw SwitchyardError(
                code: .badUpstreamResponse, message: "The Anthropic upstream sent an event that is not JSON.", status: 502)
        }
        let type = payload["type"]?.stringValue ?? event ?? ""
        switch type {
        case "message_start":
            let message = payload["message"]
            id = message?["id"]?.stringValue ?? ""
            model = message?["model"]?.stringValue ?? ""
            if let usage = message?["usage"] { merge(usage) }
            return [chunk(.init(role: .assistant, content: ""))]
        case "content_block_start":
            let index = payload["index"]?.intValue ?? 0
            let block = payload["content_block"]
            switch block?["type"]?.stringValue {
            case "tool_use":
                let name = block?["name"]?.stringValue ?? ""
                if usesJSONTool && name == AnthropicTranslator.jsonToolName {
                    jsonBlocks.insert(index)
                    return []
                }
                guard nextToolIndex <= ToolCallDelta.maximumIndex else { return [] }
                let toolIndex = nextToolIndex
                nextToolIndex += 1
                toolIndexByBlock[index] = toolIndex
                return [
                    chunk(
                        .init(toolCalls: [
                            ToolCallDelta(
                                index: toolIndex, id: block?["id"]?.stringValue, type: "function",
                                function: .init(name: name, arguments: ""))
                        ]))
                ]
            case "text":
                if let text = block?["text"]?.stringValue, !text.isEmpty { return [chunk(.init(content: text))] }
                return []
            default:
                return []
            }
        case "content_block_delta":
            let index = payload["index"]?.intValue ?? 0
            let delta = payload["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                return [chunk(.init(content: delta?["text"]?.stringValue ?? ""))]
            case "input_json_delta":
                let partial = delta?["partial_json"]?.stringValue ?? ""
                if jsonBlocks.contains(index) { return partial.isEmpty ? [] : [chunk(.init(content: partial))] }
                guard let toolIndex = toolIndexByBlock[index] else { return [] }
                return [chunk(.init(toolCalls: [ToolCallDelta(index: toolIndex, function: .init(arguments: partial))]))]
            default:
                return []
            }
        case "message_delta":
            if let usage = payload["usage"] { merge(usage) }
            var reason = AnthropicTranslator.finishReason(payload["delta"]?["stop_reason"]?.stringValue)
            if usesJSONTool && reason == .toolCalls && nextToolIndex == 0 { reason = .stop }
            return [chunk(.init(), finish: reason)]
        case "message_stop":
            finished = true
            if usageBroken { return [] }
            return [ChatChunk(id: id, created: created, model: model, choices: [], usage: usage.canonical)]
        case "error":
            let message = payload["error"]?["message"]?.stringValue ?? "The upstream stream failed."
            let errorType = payload["error"]?["type"]?.stringValue ?? "api_error"
            let status = errorType == "overloaded_error" ? 529 : errorType == "rate_limit_error" ? 429 : 500
            throw SwitchyardError(code: .upstream, message: "Upstream error (\(errorType)): \(message)", status: status)
        default:
            return []
        }
    }

    /// Takes the counts of a `usage` object; one that is not a plausible token count makes the
    /// stream's usage untrusted (the final chunk then carries none and the gateway estimates).
    private mutating func merge(_ value: JSONValue) {
        sawUsage = true
        func count(_ key: String, into field: WritableKeyPath<Anthropic.Usage, Int>) {
            guard let raw = value[key], raw != .null else { return }
            if let tokens = raw.tokenCount { usage[keyPath: field] = tokens } else { usageBroken = true }
        }
        func optionalCount(_ key: String, into field: WritableKeyPath<Anthropic.Usage, Int?>) {
            guard let raw = value[key], raw != .null else { return }
            if let tokens = raw.tokenCount { usage[keyPath: field] = tokens } else { usageBroken = true }
        }
        count("input_tokens", into: \.inputTokens)
        count("output_tokens", into: \.outputTokens)
        optionalCount("cache_read_input_tokens", into: \.cacheReadInputTokens)
        optionalCount("cache_creation_input_tokens", into: \.cacheCreationInputTokens)
    }
}
