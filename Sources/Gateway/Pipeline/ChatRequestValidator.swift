import SwitchyardCore

/// Checks a chat request before anything is sent upstream, with errors that name the field.
enum ChatRequestValidator {
    /// Content part types Switchyard does not translate but OpenAI defines: passed verbatim to
    /// OpenAI-compatible upstreams (other protocols refuse them with a 400). Any other type is a 400
    /// here, before any upstream sees it, as OpenAI itself answers.
    static let passThroughPartTypes: Set<String> = ["input_audio", "file", "refusal"]

    static func validate(_ request: ChatRequest) throws {
        if request.model.isEmpty { throw SwitchyardError.invalidRequest("model must not be empty.", param: "model") }
        if request.messages.isEmpty {
            throw SwitchyardError.invalidRequest("messages must contain at least one message.", param: "messages")
        }
        for (index, message) in request.messages.enumerated() {
            switch message.role {
            case .tool:
                if message.toolCallID == nil {
                    throw SwitchyardError.invalidRequest(
                        "A message with role 'tool' needs tool_call_id.", param: "messages[\(index)].tool_call_id")
                }
            case .assistant:
                if message.content == nil && (message.toolCalls ?? []).isEmpty {
                    throw SwitchyardError.invalidRequest(
                        "An assistant message needs content or tool_calls.", param: "messages[\(index)].content")
                }
            case .user, .system, .developer:
                if message.content == nil {
                    throw SwitchyardError.invalidRequest(
                        "A \(message.role.rawValue) message needs content.", param: "messages[\(index)].content")
                }
            case .function:
                break
            }
            if case .parts(let parts)? = message.content {
                for (partIndex, part) in parts.enumerated() {
                    guard case .other(let value) = part else { continue }
                    let type = value["type"]?.stringValue ?? ""
                    guard passThroughPartTypes.contains(type) else {
                        throw SwitchyardError.invalidRequest(
                            "messages[\(index)].content[\(partIndex)].type is '\(type.quotedPrefix(40))', a content part type "
                                + "Chat Completions does not define; use text, image_url, input_audio or file.",
                            param: "messages[\(index)].content[\(partIndex)].type")
                    }
                }
            }
        }
        if let temperature = request.temperature, !(0...2).contains(temperature) {
            throw SwitchyardError.invalidRequest("temperature must be between 0 and 2.", param: "temperature")
        }
        if let topP = request.topP, !(0...1).contains(topP) {
            throw SwitchyardError.invalidRequest("top_p must be between 0 and 1.", param: "top_p")
        }
        if let limit = request.maxTokens, limit < 1 {
            throw SwitchyardError.invalidRequest("max_tokens must be at least 1.", param: "max_tokens")
        }
        if let limit = request.maxCompletionTokens, limit < 1 {
            throw SwitchyardError.invalidRequest(
                "max_completion_tokens must be at least 1.", param: "max_completion_tokens")
        }
        if let n = request.n, n < 1 { throw SwitchyardError.invalidRequest("n must be at least 1.", param: "n") }
        if let stop = request.stop, stop.count > 16 {
            throw SwitchyardError.invalidRequest("stop takes at most 16 sequences.", param: "stop")
        }
        if case .function(let name)? = request.toolChoice,
            !(request.tools ?? []).contains(where: { $0.function.name == name })
        {
            throw SwitchyardError.invalidRequest(
                "tool_choice names the function '\(name)', which is not in tools.", param: "tool_choice")
        }
        if let format = request.responseFormat, format.type == .jsonSchema, format.jsonSchema == nil {
            throw SwitchyardError.invalidRequest(
                "response_format of type json_schema needs json_schema.", param: "response_format.json_schema")
        }
    }

    /// Rejects requests that need a capability the model is configured without (when capabilities are listed).
    static func check(_ request: ChatRequest, fits model: ModelSpec) throws {
        guard !model.capabilities.isEmpty else { return }
        if !(request.tools ?? []).isEmpty, !model.capabilities.contains(.tools) {
            throw SwitchyardError.invalidRequest("The model '\(model.name)' does not support tools.", param: "tools")
        }
        if request.responseFormat?.wantsJSON == true, !model.capabilities.contains(.json) {
            throw SwitchyardError.invalidRequest(
                "The model '\(model.name)' does not support JSON output.", param: "response_format")
        }
        let hasImage = request.messages.contains { message in
            message.content?.parts.contains { if case .imageURL = $0 { return true } else { return false } } ?? false
        }
        if hasImage, !model.capabilities.contains(.vision) {
            throw SwitchyardError.invalidRequest("The model '\(model.name)' does not accept images.", param: "messages")
        }
    }
}
