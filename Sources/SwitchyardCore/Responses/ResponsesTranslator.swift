import Foundation

/// Translates the Responses API to chat requests and chat answers back to Response objects, so that
/// every configured model, on every provider protocol, serves `/v1/responses` through the same
/// pipeline as chat completions (routing, caching, grounding, budgets, tools).
///
/// Items map to chat messages: `message` items to messages of their role (`input_text`,
/// `output_text`, `input_image`, `refusal` parts), `function_call` items to the `tool_calls` of one
/// assistant message (consecutive calls share it), `function_call_output` items to `tool` messages;
/// `reasoning` items carry nothing a chat upstream can use and are skipped.
public enum ResponsesTranslator {
    // MARK: Items in

    static let messageRoles: Set<String> = ["user", "system", "developer", "assistant"]

    /// Checks one input item's shape (a 400 naming the field when it is wrong).
    static func checkItem(_ item: JSONValue, field: String) throws {
        guard let object = item.objectValue else {
            throw SwitchyardError.invalidRequest("\(field) must be an object (an input item).", param: field)
        }
        let type = object["type"]?.stringValue ?? (object["role"] != nil ? "message" : "")
        switch type {
        case "message":
            guard let role = object["role"]?.stringValue, messageRoles.contains(role) else {
                throw SwitchyardError.invalidRequest("\(field).role must be user, system, developer or assistant.", param: "\(field).role")
            }
            _ = try content(object["content"], role: role, field: "\(field).content")
        case "function_call":
            for key in ["call_id", "name"] where (object[key]?.stringValue ?? "").isEmpty {
                throw SwitchyardError.invalidRequest("\(field).\(key) must be a non-empty string.", param: "\(field).\(key)")
            }
            guard object["arguments"]?.stringValue != nil else {
                throw SwitchyardError.invalidRequest("\(field).arguments must be a string of JSON.", param: "\(field).arguments")
            }
        case "function_call_output":
            guard !(object["call_id"]?.stringValue ?? "").isEmpty else {
                throw SwitchyardError.invalidRequest("\(field).call_id must be a non-empty string.", param: "\(field).call_id")
            }
            _ = try outputText(object["output"], field: "\(field).output")
        case "reasoning":
            break
        case "":
            throw SwitchyardError.invalidRequest("\(field) needs a type (message, function_call, function_call_output).", param: "\(field).type")
        default:
            throw SwitchyardError.invalidRequest(
                "\(field).type is '\(type.quotedPrefix(40))'; Switchyard accepts message, function_call, function_call_output "
                    + "and reasoning items.",
                param: "\(field).type")
        }
    }

    /// A message item's content as chat content.
    static func content(_ value: JSONValue?, role: String, field: String) throws -> MessageContent {
        switch value {
        case .string(let text)?:
            return .text(text)
        case .array(let parts)?:
            var converted: [ContentPart] = []
            for (index, part) in parts.enumerated() {
                let partField = "\(field)[\(index)]"
                let type = part["type"]?.stringValue ?? ""
                switch type {
                case "input_text", "output_text", "text":
                    guard let text = part["text"]?.stringValue else {
                        throw SwitchyardError.invalidRequest("\(partField).text must be a string.", param: "\(partField).text")
                    }
                    converted.append(.text(text))
                case "refusal":
                    converted.append(.text(part["refusal"]?.stringValue ?? ""))
                case "input_image":
                    guard let url = part["image_url"]?.stringValue, !url.isEmpty else {
                        throw SwitchyardError.invalidRequest(
                            "\(partField) needs image_url (an https or data: URL); file_id images are not served.",
                            param: "\(partField).image_url")
                    }
                    converted.append(.imageURL(url: url, detail: part["detail"]?.stringValue))
                default:
                    throw SwitchyardError.invalidRequest(
                        "\(partField).type is '\(type.quotedPrefix(40))'; use input_text, input_image, output_text or refusal.",
                        param: "\(partField).type")
                }
            }
            if converted.count == 1, case .text(let text) = converted[0] { return .text(text) }
            return .parts(converted)
        default:
            throw SwitchyardError.invalidRequest("\(field) must be a string or a list of content parts.", param: field)
        }
    }

    /// A function call's output as the text a tool message carries.
    static func outputText(_ value: JSONValue?, field: String) throws -> String {
        switch value {
        case .string(let text)?:
            return text
        case .array(let parts)?:
            return try parts.enumerated().map { index, part in
                guard part["type"]?.stringValue == "input_text", let text = part["text"]?.stringValue else {
                    throw SwitchyardError.invalidRequest(
                        "\(field)[\(index)] must be an input_text part (other output parts are not served).", param: "\(field)[\(index)]")
                }
                return text
            }.joined()
        default:
            throw SwitchyardError.invalidRequest("\(field) must be a string or a list of input_text parts.", param: field)
        }
    }

    /// Chat messages for a conversation's items (already checked).
    public static func messages(from items: [JSONValue]) throws -> [ChatMessage] {
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            let field = "input[\(index)]"
            let type = item["type"]?.stringValue ?? "message"
            switch type {
            case "message":
                let role = item["role"]?.stringValue ?? "user"
                let content = try content(item["content"], role: role, field: "\(field).content")
                messages.append(ChatMessage(role: ChatMessage.Role(rawValue: role) ?? .user, content: content))
            case "function_call":
                let call = ToolCall(
                    id: item["call_id"]?.stringValue ?? "", name: item["name"]?.stringValue ?? "",
                    arguments: item["arguments"]?.stringValue ?? "{}")
                if let last = messages.last, last.role == .assistant {
                    messages[messages.count - 1].toolCalls = (last.toolCalls ?? []) + [call]
                } else {
                    messages.append(ChatMessage(role: .assistant, content: nil, toolCalls: [call]))
                }
            case "function_call_output":
                var message = ChatMessage(role: .tool, content: .text(try outputText(item["output"], field: "\(field).output")))
                message.toolCallID = item["call_id"]?.stringValue
                messages.append(message)
            default:
                continue  // reasoning
            }
        }
        return messages
    }

    /// The chat request that serves a Responses request whose conversation so far is `history`
    /// (the items of the responses it continues, oldest first).
    public static func chatRequest(_ request: ResponsesRequest, history: [JSONValue]) throws -> ChatRequest {
        var messages: [ChatMessage] = []
        if let instructions = request.instructions, !instructions.isEmpty { messages.append(.system(instructions)) }
        messages += try self.messages(from: history + request.input)
        guard messages.contains(where: { $0.role != .system && $0.role != .developer }) else {
            throw SwitchyardError.invalidRequest("input must contain at least one message or function call output.", param: "input")
        }
        var chat = ChatRequest(model: request.model, messages: messages)
        if !request.tools.isEmpty {
            chat.tools = request.tools.map { tool in
                ToolDefinition(function: .init(
                    name: tool["name"]?.stringValue ?? "", description: tool["description"]?.stringValue,
                    parameters: tool["parameters"].flatMap { $0 == .null ? nil : $0 }, strict: tool["strict"]?.boolValue))
            }
        }
        chat.toolChoice = try toolChoice(request.toolChoice, tools: request.tools)
        chat.parallelToolCalls = request.parallelToolCalls
        chat.responseFormat = try responseFormat(request.textFormat)
        chat.temperature = request.temperature
        chat.topP = request.topP
        chat.maxTokens = request.maxOutputTokens
        chat.user = request.user
        chat.stream = request.stream
        chat.includeUsage = request.stream
        if let effort = request.reasoningEffort { chat.extra["reasoning_effort"] = .string(effort) }
        chat.switchyard = request.switchyard
        return chat
    }

    static func toolChoice(_ value: JSONValue?, tools: [JSONValue]) throws -> ToolChoice? {
        switch value {
        case nil: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object(let object)?:
            switch object["type"]?.stringValue {
            case "function":
                guard let name = object["name"]?.stringValue, tools.contains(where: { $0["name"]?.stringValue == name }) else {
                    throw SwitchyardError.invalidRequest("tool_choice.name must name one of the function tools.", param: "tool_choice.name")
                }
                return .function(name)
            case "allowed_tools":
                switch object["mode"]?.stringValue {
                case "required": return .required
                default: return .auto
                }
            default:
                break
            }
        default:
            break
        }
        throw SwitchyardError.invalidRequest(
            "tool_choice must be auto, none, required or {\"type\": \"function\", \"name\": ...}.", param: "tool_choice")
    }

    static func responseFormat(_ value: JSONValue?) throws -> ResponseFormat? {
        guard let value else { return nil }
        switch value["type"]?.stringValue {
        case "text": return nil
        case "json_object": return ResponseFormat(type: .jsonObject)
        case "json_schema":
            guard let schema = value["schema"], schema.objectValue != nil else {
                throw SwitchyardError.invalidRequest("text.format.schema must be a JSON schema object.", param: "text.format.schema")
            }
            let name = value["name"]?.stringValue ?? "response"
            guard !name.isEmpty, name.utf8.count <= 64 else {
                throw SwitchyardError.invalidRequest("text.format.name must be 1 to 64 characters.", param: "text.format.name")
            }
            return ResponseFormat(
                type: .jsonSchema,
                jsonSchema: .init(name: name, description: value["description"]?.stringValue, schema: schema, strict: value["strict"]?.boolValue))
        default:
            throw SwitchyardError.invalidRequest("text.format.type must be text, json_object or json_schema.", param: "text.format.type")
        }
    }

    // MARK: Ids

    /// `resp_…` for a request id (`req_…`).
    public static func responseID(requestID: String) -> String {
        "resp_" + (requestID.hasPrefix("req_") ? String(requestID.dropFirst(4)) : requestID)
    }

    /// An output item's id: its kind, the response's id and its place, so ids are unique and stable.
    static func itemID(_ kind: String, responseID: String, index: Int) -> String {
        "\(kind)_\(responseID.dropFirst(5))\(String(format: "%02x", index))"
    }

    /// The input items as stored and listed (`input_items`): each with an id and its content as parts.
    public static func normalizedInput(_ items: [JSONValue], responseID: String) -> [JSONValue] {
        items.enumerated().map { index, item in
            guard var object = item.objectValue else { return item }
            let type = object["type"]?.stringValue ?? "message"
            object["type"] = .string(type)
            if object["id"] == nil || object["id"] == .null {
                let kind = type == "message" ? "msg" : type == "function_call" ? "fc" : type == "function_call_output" ? "fco" : "item"
                object["id"] = .string(itemID(kind, responseID: responseID, index: 0x80 + index))
            }
            if type == "message", let text = object["content"]?.stringValue {
                let role = object["role"]?.stringValue ?? "user"
                object["content"] = [[
                    "type": .string(role == "assistant" ? "output_text" : "input_text"), "text": .string(text),
                ]]
            }
            if type == "message" || type == "function_call_output", object["status"] == nil { object["status"] = "completed" }
            return .object(object)
        }
    }

    // MARK: Response out

    /// The output items of a chat answer: a message (when it has text or a refusal, or nothing else)
    /// and one `function_call` item per tool call.
    public static func outputItems(_ message: ChatMessage?, responseID: String) -> [JSONValue] {
        var items: [JSONValue] = []
        let text = message?.text ?? ""
        let calls = message?.toolCalls ?? []
        if !text.isEmpty || message?.refusal != nil || calls.isEmpty {
            var content: [JSONValue] = []
            if !text.isEmpty || message?.refusal == nil { content.append(outputText(text)) }
            if let refusal = message?.refusal { content.append(["type": "refusal", "refusal": .string(refusal)]) }
            items.append(messageItem(id: itemID("msg", responseID: responseID, index: 0), status: "completed", content: content))
        }
        for (index, call) in calls.enumerated() {
            items.append(functionCallItem(
                id: itemID("fc", responseID: responseID, index: index + 1), callID: call.id, name: call.function.name,
                arguments: call.function.arguments, status: "completed"))
        }
        return items
    }

    static func outputText(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    static func messageItem(id: String, status: String, content: [JSONValue]) -> JSONValue {
        ["id": .string(id), "type": "message", "status": .string(status), "role": "assistant", "content": .array(content)]
    }

    static func functionCallItem(id: String, callID: String, name: String, arguments: String, status: String) -> JSONValue {
        [
            "id": .string(id), "type": "function_call", "status": .string(status), "call_id": .string(callID),
            "name": .string(name), "arguments": .string(arguments),
        ]
    }

    /// The Responses usage object.
    public static func usage(_ usage: Usage) -> JSONValue {
        [
            "input_tokens": .int(Int64(usage.promptTokens)),
            "input_tokens_details": ["cached_tokens": .int(Int64(usage.cachedTokens))],
            "output_tokens": .int(Int64(usage.completionTokens)),
            "output_tokens_details": ["reasoning_tokens": .int(Int64(usage.reasoningTokens ?? 0))],
            "total_tokens": .int(Int64(usage.totalTokens)),
        ]
    }

    /// `completed`, or `incomplete` with its reason, from a chat finish reason.
    public static func status(_ finish: FinishReason?) -> (status: String, incomplete: JSONValue) {
        switch finish {
        case .length?: return ("incomplete", ["reason": "max_output_tokens"])
        case .contentFilter?: return ("incomplete", ["reason": "content_filter"])
        default: return ("completed", .null)
        }
    }

    /// A whole Response object. `model` is the name the client asked for.
    public static func response(
        id: String, request: ResponsesRequest, createdAt: Date, status: String, output: [JSONValue], usage: Usage?,
        incomplete: JSONValue = .null, error: JSONValue = .null, switchyard: JSONValue? = nil
    ) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "response", "created_at": .int(Int64(createdAt.timeIntervalSince1970.rounded(.down))),
            "status": .string(status), "background": false, "error": error, "incomplete_details": incomplete,
            "instructions": request.instructions.map { .string($0) } ?? .null,
            "max_output_tokens": request.maxOutputTokens.map { .int(Int64($0)) } ?? .null,
            "max_tool_calls": .null, "model": .string(request.model), "output": .array(output),
            "parallel_tool_calls": .bool(request.parallelToolCalls ?? true),
            "previous_response_id": request.previousResponseID.map { .string($0) } ?? .null,
            "reasoning": ["effort": request.reasoningEffort.map { .string($0) } ?? .null, "summary": .null],
            "service_tier": "default", "store": .bool(request.store),
            "temperature": .double(request.temperature ?? 1), "top_p": .double(request.topP ?? 1),
            "text": ["format": request.textFormat ?? ["type": "text"]],
            "tool_choice": request.toolChoice ?? "auto", "tools": .array(request.tools), "truncation": "disabled",
            "usage": usage.map(Self.usage) ?? .null, "user": request.user.map { .string($0) } ?? .null,
            "metadata": request.metadata ?? [:],
        ]
        if status == "completed" || status == "incomplete" {
            object["completed_at"] = .int(Int64(Date().timeIntervalSince1970.rounded(.down)))
        }
        if let switchyard { object["switchyard"] = switchyard }
        return .object(object)
    }

    /// The Response for a whole chat answer.
    public static func response(
        id: String, request: ResponsesRequest, createdAt: Date, chat: ChatResponse, switchyard: JSONValue?
    ) -> JSONValue {
        let (status, incomplete) = status(chat.choices.first?.finishReason)
        return response(
            id: id, request: request, createdAt: createdAt, status: status, output: outputItems(chat.message, responseID: id),
            usage: chat.usage, incomplete: incomplete, switchyard: switchyard)
    }
}
