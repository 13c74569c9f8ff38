import Foundation
import SwitchyardCore

/// Translation between canonical chat types and Gemini `generateContent`.
enum GeminiTranslator {
    /// The `generateContent` body for a canonical request.
    static func request(from request: ChatRequest) throws -> JSONValue {
        var system: [String] = []
        var contents: [JSONValue] = []
        var toolNames: [String: String] = [:]  // tool_call_id → function name

        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if let last = contents.last, last["role"]?.stringValue == role, var existing = last["parts"]?.arrayValue {
                existing += parts
                contents[contents.count - 1] = ["role": .string(role), "parts": .array(existing)]
            } else {
                contents.append(["role": .string(role), "parts": .array(parts)])
            }
        }

        for (index, message) in request.messages.enumerated() {
            switch message.role {
            case .system, .developer:
                if !message.text.isEmpty { system.append(message.text) }
            case .user:
                append("user", try parts(for: message.content, field: "messages[\(index)].content"))
            case .assistant:
                var parts: [JSONValue] = []
                if !message.text.isEmpty { parts.append(["text": .string(message.text)]) }
                for call in message.toolCalls ?? [] {
                    toolNames[call.id] = call.function.name
                    parts.append([
                        "functionCall": [
                            "id": .string(call.id), "name": .string(call.function.name),
                            "args": JSONValue.parse(call.function.arguments) ?? [:],
                        ]
                    ])
                }
                append("model", parts)
            case .tool, .function:
                let id = message.toolCallID ?? ""
                guard let name = toolNames[id] ?? message.name else {
                    throw SwitchyardError.invalidRequest(
                        "Tool message \(index) answers tool_call_id '\(id)', which no earlier assistant message made.",
                        param: "messages[\(index)].tool_call_id")
                }
                let response = functionResponse(for: message.text)
                append("user", [["functionResponse": ["id": .string(id), "name": .string(name), "response": response]]])
            }
        }

        var body: [String: JSONValue] = ["contents": .array(contents)]
        if !system.isEmpty { body["systemInstruction"] = ["parts": [["text": .string(system.joined(separator: "\n\n"))]]] }
        if let tools = request.tools, !tools.isEmpty {
            let declarations: [JSONValue] = tools.map { tool in
                var declaration: [String: JSONValue] = ["name": .string(tool.function.name)]
                if let description = tool.function.description { declaration["description"] = .string(description) }
                if let parameters = tool.function.parameters { declaration["parameters"] = cleanSchema(parameters) }
                return .object(declaration)
            }
            body["tools"] = [["functionDeclarations": .array(declarations)]]
        }
        switch request.toolChoice {
        case .none?: body["toolConfig"] = ["functionCallingConfig": ["mode": "NONE"]]
        case .auto?: body["toolConfig"] = ["functionCallingConfig": ["mode": "AUTO"]]
        case .required?: body["toolConfig"] = ["functionCallingConfig": ["mode": "ANY"]]
        case .function(let name)?:
            body["toolConfig"] = ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": [.string(name)]]]
        case nil: break
        }

        var generation: [String: JSONValue] = [:]
        if let temperature = request.temperature { generation["temperature"] = .double(temperature) }
        if let topP = request.topP { generation["topP"] = .double(topP) }
        if let limit = request.outputTokenLimit { generation["maxOutputTokens"] = .int(Int64(limit)) }
        if let stop = request.stop, !stop.isEmpty { generation["stopSequences"] = .array(stop.map { .string($0) }) }
        if let seed = request.seed { generation["seed"] = .int(Int64(seed)) }
        if let n = request.n, n > 1 { generation["candidateCount"] = .int(Int64(n)) }
        if let format = request.responseFormat, format.wantsJSON {
            generation["responseMimeType"] = "application/json"
            if let schema = format.jsonSchema?.schema { generation["responseJsonSchema"] = schema }
        }
        if !generation.isEmpty { body["generationConfig"] = .object(generation) }
        return .object(body)
    }

    /// Gemini's `functionResponse.response` must be a JSON object. A tool result that is one passes as
    /// it is; anything else (a scalar such as `"18C"` or `42`, an array, `null`) is wrapped as
    /// `{"result": value}`, keeping the parsed value so a number stays a number; text that is not JSON
    /// is wrapped as a string. (A nil in a ternary here once became `JSONValue.null`, sending
    /// `"response": null` for every non-object result.)
    static func functionResponse(for text: String) -> JSONValue {
        switch JSONValue.parse(text) {
        case .object(let object)?: return .object(object)
        case let value?: return ["result": value]
        case .none: return ["result": .string(text)]
        }
    }

    private static func parts(for content: MessageContent?, field: String) throws -> [JSONValue] {
        guard let content else { return [] }
        return try content.parts.map { part in
            switch part {
            case .text(let text):
                return ["text": .string(text)]
            case .imageURL(let url, _):
                if let data = DataURL(url) {
                    return ["inlineData": ["mimeType": .string(data.mediaType), "data": .string(data.base64)]]
                }
                return ["fileData": ["fileUri": .string(url), "mimeType": .string(mimeType(forURL: url))]]
            case .other(let value):
                throw SwitchyardError.invalidRequest(
                    "Content parts of type '\(value["type"]?.stringValue ?? "?")' cannot be sent to a Gemini model.",
                    param: field)
            }
        }
    }

    private static func mimeType(forURL url: String) -> String {
        let lower = url.lowercased()
        if lower.hasSuffix(".png") { return "image/png" }
        if lower.hasSuffix(".webp") { return "image/webp" }
        if lower.hasSuffix(".gif") { return "image/gif" }
        return "image/jpeg"
    }

    /// Gemini's `parameters` take an OpenAPI subset of JSON Schema; drop the keywords it rejects.
    static func cleanSchema(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let object):
            var cleaned: [String: JSONValue] = [:]
            for (key, value) in object where !["additionalProperties", "$schema", "strict", "$id", "$defs", "examples"].contains(key) {
                cleaned[key] = cleanSchema(value)
            }
            return .object(cleaned)
        case .array(let items):
            return .array(items.map(cleanSchema))
        default:
            return schema
        }
    }

    /// Reads a `GenerateContentResponse` (whole, or one stream piece).
    static func read(_ json: JSONValue, nextToolIndex: inout Int) -> (
        text: String, calls: [ToolCall], finish: FinishReason?, usage: Usage?
    ) {
        let candidate = json["candidates"]?.arrayValue?.first
        var text = ""
        var calls: [ToolCall] = []
        for part in candidate?["content"]?["parts"]?.arrayValue ?? [] {
            if part["thought"]?.boolValue == true { continue }
            if let value = part["text"]?.stringValue { text += value }
            if let call = part["functionCall"] {
                let id = call["id"]?.stringValue ?? "call_\(nextToolIndex)"
                nextToolIndex += 1
                calls.append(
                    ToolCall(id: id, name: call["name"]?.stringValue ?? "", arguments: (call["args"] ?? [:]).jsonString()))
            }
        }
        var finish: FinishReason?
        if let reason = candidate?["finishReason"]?.stringValue {
            switch reason {
            case "MAX_TOKENS": finish = .length
            case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": finish = .contentFilter
            default: finish = .stop
            }
        }
        var usage: Usage?
        if let metadata = json["usageMetadata"] {
            // A count that is present but not a plausible token count makes the usage untrusted
            // (nil: the gateway estimates), never a trap or a bill for a quintillion tokens.
            let keys = ["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount"]
            let broken = keys.contains { key in metadata[key].map { $0 != .null && $0.tokenCount == nil } ?? false }
            if !broken {
                let thoughts = metadata["thoughtsTokenCount"]?.tokenCount
                let prompt = metadata["promptTokenCount"]?.tokenCount ?? 0
                usage = Usage(
                    promptTokens: prompt, completionTokens: (metadata["candidatesTokenCount"]?.tokenCount ?? 0) + (thoughts ?? 0),
                    cachedTokens: min(metadata["cachedContentTokenCount"]?.tokenCount ?? 0, prompt), reasoningTokens: thoughts)
            }
        }
        return (text, calls, finish, usage)
    }
}
