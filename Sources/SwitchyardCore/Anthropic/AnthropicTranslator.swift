import Foundation

/// Translation between Anthropic Messages and the canonical (OpenAI-shaped) chat types, both ways.
public enum AnthropicTranslator {
    /// Name of the tool used to get schema-conforming JSON from Anthropic models (a forced tool call
    /// is the one way that works on every Claude model).
    public static let jsonToolName = "switchyard_json_output"

    // MARK: Anthropic client → canonical

    /// Reads an Anthropic Messages request into the canonical request.
    public static func chatRequest(from request: Anthropic.Request) throws -> ChatRequest {
        var messages: [ChatMessage] = []
        if let system = request.system {
            for (index, block) in system.enumerated() where block.text == nil {
                throw SwitchyardError.invalidRequest(
                    "system[\(index)] is a '\(block.typeName.quotedPrefix(40))' block; system takes text blocks only.",
                    param: "system[\(index)].type")
            }
            let text = system.compactMap(\.text).joined(separator: "\n\n")
            if !text.isEmpty { messages.append(.system(text)) }
        }
        for (index, message) in request.messages.enumerated() {
            if message.role == "assistant" {
                var text = ""
                var calls: [ToolCall] = []
                for (blockIndex, block) in message.content.enumerated() {
                    switch block {
                    case .text(let value): text += value
                    case .toolUse(let id, let name, let input):
                        calls.append(ToolCall(id: id, name: name, arguments: input.jsonString()))
                    case .other(let value) where !Anthropic.Block.assistantOnlyTypes.contains(value["type"]?.stringValue ?? ""):
                        throw unknownBlock(value, field: "messages[\(index)].content[\(blockIndex)]")
                    default: continue  // thinking and server-tool blocks a model wrote: not sent on
                    }
                }
                messages.append(
                    ChatMessage(
                        role: .assistant, content: text.isEmpty && !calls.isEmpty ? nil : .text(text),
                        toolCalls: calls.isEmpty ? nil : calls))
            } else {
                var parts: [ContentPart] = []
                for (blockIndex, block) in message.content.enumerated() {
                    switch block {
                    case .text(let value):
                        parts.append(.text(value))
                    case .image(let source):
                        parts.append(try imagePart(source, field: "messages[\(index)].content"))
                    case .toolResult(let id, let content, let isError):
                        let text = content.compactMap(\.text).joined(separator: "\n")
                        messages.append(
                            ChatMessage(role: .tool, content: .text(isError ? "Error: \(text)" : text), toolCallID: id))
                    case .toolUse:
                        throw SwitchyardError.invalidRequest(
                            "tool_use blocks may only appear in assistant messages.", param: "messages[\(index)].content")
                    case .other(let value):
                        throw unknownBlock(value, field: "messages[\(index)].content[\(blockIndex)]")
                    case .thinking:
                        continue
                    }
                }
                if !parts.isEmpty {
                    if parts.count == 1, case .text(let text) = parts[0] {
                        messages.append(.user(text))
                    } else {
                        messages.append(ChatMessage(role: .user, content: .parts(parts)))
                    }
                }
            }
        }

        var chat = ChatRequest(model: request.model, messages: messages)
        chat.maxTokens = request.maxTokens
        chat.temperature = request.temperature
        chat.topP = request.topP
        chat.stop = request.stopSequences
        chat.stream = request.stream
        chat.includeUsage = request.stream
        chat.user = request.metadata?["user_id"]?.stringValue
        chat.switchyard = request.switchyard
        if let topK = request.topK { chat.extra["top_k"] = .int(Int64(topK)) }
        if let tools = request.tools, !tools.isEmpty {
            chat.tools = tools.map {
                ToolDefinition(function: .init(name: $0.name, description: $0.description, parameters: $0.inputSchema))
            }
        }
        if let choice = request.toolChoice {
            switch choice.type {
            case "auto": chat.toolChoice = .auto
            case "any": chat.toolChoice = .required
            case "none": chat.toolChoice = ToolChoice.none
            case "tool":
                guard let name = choice.name else {
                    throw SwitchyardError.invalidRequest(
                        "tool_choice of type \"tool\" needs a name.", param: "tool_choice.name")
                }
                chat.toolChoice = .function(name)
            default:
                throw SwitchyardError.invalidRequest(
                    "tool_choice.type must be one of auto, any, tool, none.", param: "tool_choice.type")
            }
            if choice.disableParallelToolUse == true { chat.parallelToolCalls = false }
        }
        if let format = request.outputFormat {
            guard format["type"]?.stringValue == "json_schema", let schema = format["schema"] else {
                throw SwitchyardError.invalidRequest(
                    "output_format must be {\"type\": \"json_schema\", \"schema\": {...}}.", param: "output_format")
            }
            chat.responseFormat = ResponseFormat(type: .jsonSchema, jsonSchema: .init(name: "output", schema: schema))
        }
        return chat
    }

    /// A block Switchyard cannot carry: a 400 naming it, never a silent drop or a pass-through.
    private static func unknownBlock(_ value: JSONValue, field: String) -> SwitchyardError {
        let type = value["type"]?.stringValue ?? ""
        let message = Anthropic.Block.knownTypes.contains(type)
            ? "\(field) is a '\(type)' block, which Switchyard does not support in requests yet; send text, image, tool_use or tool_result blocks."
            : "\(field) has the content block type '\(type.quotedPrefix(40))', which the Messages API does not define; use text, image, tool_use or tool_result."
        return SwitchyardError.invalidRequest(message, param: "\(field).type")
    }

    private static func imagePart(_ source: Anthropic.ImageSource, field: String) throws -> ContentPart {
        switch source.type {
        case "base64":
            guard let data = source.data, let mediaType = source.mediaType else {
                throw SwitchyardError.invalidRequest("An image source of type base64 needs media_type and data.", param: field)
            }
            return .imageURL(url: DataURL(mediaType: mediaType, base64: data).url, detail: nil)
        case "url":
            guard let url = source.url else {
                throw SwitchyardError.invalidRequest("An image source of type url needs a url.", param: field)
            }
            return .imageURL(url: url, detail: nil)
        default:
            throw SwitchyardError.invalidRequest("Unsupported image source type '\(source.type)'.", param: field)
        }
    }

    /// Writes a canonical response as an Anthropic Messages response.
    public static func anthropicResponse(from response: ChatResponse, model: String) -> Anthropic.Response {
        let choice = response.choices.first
        var blocks: [Anthropic.Block] = []
        if let text = choice?.message.content?.text, !text.isEmpty { blocks.append(.text(text)) }
        for call in choice?.message.toolCalls ?? [] {
            blocks.append(
                .toolUse(id: call.id, name: call.function.name, input: JSONValue.parse(call.function.arguments) ?? [:]))
        }
        return Anthropic.Response(
            id: messageID(response.id), model: model, content: blocks, stopReason: stopReason(choice?.finishReason),
            usage: Anthropic.Usage(response.usage ?? Usage(promptTokens: 0, completionTokens: 0)))
    }

    static func messageID(_ id: String) -> String {
        if id.hasPrefix("msg_") { return id }
        let stripped = id.hasPrefix("chatcmpl-") ? String(id.dropFirst(9)) : id
        return "msg_" + stripped
    }

    public static func stopReason(_ reason: FinishReason?) -> String {
        switch reason {
        case .length: return "max_tokens"
        case .toolCalls, .functionCall: return "tool_use"
        case .contentFilter: return "refusal"
        case .stop, .none: return "end_turn"
        }
    }

    public static func finishReason(_ stopReason: String?) -> FinishReason? {
        switch stopReason {
        case nil: return nil
        case "max_tokens", "model_context_window_exceeded": return .length
        case "tool_use": return .toolCalls
        case "refusal": return .contentFilter
        default: return .stop
        }
    }

    // MARK: canonical → Anthropic upstream

    /// Builds the request for an Anthropic upstream. `usesJSONTool` tells the caller to turn the
    /// forced JSON tool call back into text content.
    public static func anthropicRequest(
        from request: ChatRequest, upstreamModel: String, defaultMaxTokens: Int
    ) throws -> (request: Anthropic.Request, usesJSONTool: Bool) {
        var system: [String] = []
        var turns: [Anthropic.Message] = []
        func append(_ role: String, _ blocks: [Anthropic.Block]) {
            guard !blocks.isEmpty else { return }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].content += blocks
            } else {
                turns.append(Anthropic.Message(role: role, content: blocks))
            }
        }
        for (index, message) in request.messages.enumerated() {
            switch message.role {
            case .system, .developer:
                let text = message.text
                if !text.isEmpty { system.append(text) }
            case .user:
                append("user", try blocks(for: message.content, field: "messages[\(index)].content"))
            case .assistant:
                var blocks: [Anthropic.Block] = []
                let text = message.text
                if !text.isEmpty { blocks.append(.text(text)) }
                for call in message.toolCalls ?? [] {
                    blocks.append(
                        .toolUse(
                            id: call.id, name: call.function.name, input: JSONValue.parse(call.function.arguments) ?? [:]))
                }
                append("assistant", blocks)
            case .tool, .function:
                guard let id = message.toolCallID ?? message.name else {
                    throw SwitchyardError.invalidRequest(
                        "A tool message needs tool_call_id.", param: "messages[\(index)].tool_call_id")
                }
                append("user", [.toolResult(toolUseID: id, content: [.text(message.text)], isError: false)])
            }
        }

        var upstream = Anthropic.Request(
            model: upstreamModel, messages: turns, maxTokens: request.outputTokenLimit ?? defaultMaxTokens)
        upstream.temperature = request.temperature.map { min($0, 1) }
        upstream.topP = request.topP
        upstream.stopSequences = request.stop
        upstream.stream = request.stream
        if let user = request.user { upstream.metadata = ["user_id": .string(user)] }
        upstream.topK = request.extra["top_k"]?.intValue
        upstream.thinking = request.extra["thinking"]
        if let tools = request.tools, !tools.isEmpty {
            upstream.tools = tools.map {
                Anthropic.Tool(
                    name: $0.function.name, description: $0.function.description,
                    inputSchema: $0.function.parameters ?? ["type": "object", "properties": [:]])
            }
        }
        let disableParallel = request.parallelToolCalls == false ? true : nil
        switch request.toolChoice {
        case .none?: upstream.toolChoice = .init(type: "none")
        case .auto?: upstream.toolChoice = .init(type: "auto", disableParallelToolUse: disableParallel)
        case .required?: upstream.toolChoice = .init(type: "any", disableParallelToolUse: disableParallel)
        case .function(let name)?: upstream.toolChoice = .init(type: "tool", name: name, disableParallelToolUse: disableParallel)
        case nil: if disableParallel != nil { upstream.toolChoice = .init(type: "auto", disableParallelToolUse: true) }
        }

        var usesJSONTool = false
        if let format = request.responseFormat, format.wantsJSON {
            // A forced tool call is the one way to get JSON from every Claude model; json_object
            // uses a free-form object schema.
            let schema: JSONValue? = format.type == .jsonSchema ? format.jsonSchema?.schema : ["type": "object", "additionalProperties": true]
            if let schema, upstream.tools == nil {
                upstream.tools = [
                    Anthropic.Tool(
                        name: jsonToolName, description: "Return the answer as JSON matching this schema.",
                        inputSchema: schema)
                ]
                upstream.toolChoice = .init(type: "tool", name: jsonToolName)
                usesJSONTool = true
            } else {
                var instruction = "Respond with a single valid JSON object and nothing else."
                if let schema = format.jsonSchema?.schema {
                    instruction += " It must match this JSON schema: \(schema.jsonString())"
                }
                system.append(instruction)
            }
        }
        if !system.isEmpty { upstream.system = [.text(system.joined(separator: "\n\n"))] }
        if turns.isEmpty {
            throw SwitchyardError.invalidRequest("The request needs at least one user message.", param: "messages")
        }
        return (upstream, usesJSONTool)
    }

    private static func blocks(for content: MessageContent?, field: String) throws -> [Anthropic.Block] {
        guard let content else { return [] }
        var blocks: [Anthropic.Block] = []
        for part in content.parts {
            switch part {
            case .text(let text):
                blocks.append(.text(text))
            case .imageURL(let url, _):
                if let data = DataURL(url) {
                    blocks.append(.image(.init(type: "base64", mediaType: data.mediaType, data: data.base64)))
                } else {
                    blocks.append(.image(.init(type: "url", url: url)))
                }
            case .other(let value):
                throw SwitchyardError.invalidRequest(
                    "Content parts of type '\(value["type"]?.stringValue ?? "?")' cannot be sent to an Anthropic model.",
                    param: field)
            }
        }
        return blocks
    }

    /// Reads an Anthropic upstream response into the canonical response.
    public static func chatResponse(from response: Anthropic.Response, usesJSONTool: Bool) -> ChatResponse {
        var text = ""
        var calls: [ToolCall] = []
        for block in response.content {
            switch block {
            case .text(let value): text += value
            case .toolUse(let id, let name, let input):
                if usesJSONTool && name == jsonToolName {
                    text += input.jsonString()
                } else {
                    calls.append(ToolCall(id: id, name: name, arguments: input.jsonString()))
                }
            default: continue
            }
        }
        var finish = finishReason(response.stopReason)
        if usesJSONTool && finish == .toolCalls && calls.isEmpty { finish = .stop }
        let message = ChatMessage(
            role: .assistant, content: text.isEmpty && !calls.isEmpty ? nil : .text(text),
            toolCalls: calls.isEmpty ? nil : calls)
        return ChatResponse(
            id: response.id, created: Int(Date().timeIntervalSince1970), model: response.model,
            choices: [.init(index: 0, message: message, finishReason: finish)], usage: response.usageReported ? response.usage.canonical : nil)
    }
}
