import Foundation

/// One upstream wire protocol: how to read a request and write answers and errors.
enum MockProtocol: String, Sendable {
    case openai, anthropic, gemini, ollama

    // MARK: Reading

    func conversation(_ body: [String: Any], pathModel: String?, streamAction: Bool) -> MockConversation {
        switch self {
        case .openai: return Self.openAIConversation(body)
        case .anthropic: return Self.anthropicConversation(body)
        case .gemini: return Self.geminiConversation(body, model: pathModel ?? "", stream: streamAction)
        case .ollama: return Self.ollamaConversation(body)
        }
    }

    static func text(_ content: Any?) -> String {
        if let string = content as? String { return string }
        if let parts = content as? [[String: Any]] {
            return parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
        }
        return ""
    }

    static func openAIConversation(_ body: [String: Any]) -> MockConversation {
        let messages = body["messages"] as? [[String: Any]] ?? []
        let lastUser = messages.lastIndex { ($0["role"] as? String) == "user" } ?? -1
        let results = messages.enumerated().filter { $0.offset > lastUser && ($0.element["role"] as? String) == "tool" }
            .map { text($0.element["content"]) }
        let format = body["response_format"] as? [String: Any]
        let formatType = format?["type"] as? String
        let tools = body["tools"] as? [[String: Any]] ?? []
        var forced: (String, Any?)?
        let choice = body["tool_choice"]
        if let named = (choice as? [String: Any])?["function"] as? [String: Any], let name = named["name"] as? String {
            let tool = tools.first { (($0["function"] as? [String: Any])?["name"] as? String) == name }
            forced = (name, (tool?["function"] as? [String: Any])?["parameters"])
        } else if (choice as? String) == "required", let first = tools.first?["function"] as? [String: Any], let name = first["name"] as? String {
            forced = (name, first["parameters"])
        }
        return MockConversation(
            model: body["model"] as? String ?? "", stream: body["stream"] as? Bool ?? false,
            texts: messages.map { text($0["content"]) }, lastUserText: lastUser >= 0 ? text(messages[lastUser]["content"]) : "",
            toolResults: results, wantsJSON: formatType == "json_object" || formatType == "json_schema",
            schema: (format?["json_schema"] as? [String: Any])?["schema"], forcedTool: forced)
    }

    static func anthropicConversation(_ body: [String: Any]) -> MockConversation {
        var blocks: [(role: String, type: String, text: String)] = []
        let messages = body["messages"] as? [[String: Any]] ?? []
        for message in messages {
            let role = message["role"] as? String ?? ""
            if let string = message["content"] as? String {
                blocks.append((role, "text", string))
            } else {
                for block in message["content"] as? [[String: Any]] ?? [] {
                    let type = block["type"] as? String ?? ""
                    if type == "tool_result" {
                        blocks.append((role, type, text(block["content"])))
                    } else if type == "text" {
                        blocks.append((role, type, block["text"] as? String ?? ""))
                    } else if type == "tool_use" {
                        blocks.append((role, type, JSONSerialization.string(block["input"] ?? [:])))
                    }
                }
            }
        }
        let lastUserText = blocks.lastIndex { $0.role == "user" && $0.type == "text" } ?? -1
        var texts = blocks.map(\.text)
        if let system = body["system"] { texts.append(text(system)) }
        let tools = body["tools"] as? [[String: Any]] ?? []
        var forced: (String, Any?)?
        if let choice = body["tool_choice"] as? [String: Any] {
            if choice["type"] as? String == "tool", let name = choice["name"] as? String {
                forced = (name, tools.first { $0["name"] as? String == name }?["input_schema"])
            } else if choice["type"] as? String == "any", let first = tools.first, let name = first["name"] as? String {
                forced = (name, first["input_schema"])
            }
        }
        let output = body["output_format"] as? [String: Any]
        return MockConversation(
            model: body["model"] as? String ?? "", stream: body["stream"] as? Bool ?? false, texts: texts,
            lastUserText: lastUserText >= 0 ? blocks[lastUserText].text : "",
            toolResults: blocks.enumerated().filter { $0.offset > lastUserText && $0.element.type == "tool_result" }.map(\.element.text),
            wantsJSON: output?["type"] as? String == "json_schema", schema: output?["schema"], forcedTool: forced)
    }

    static func geminiConversation(_ body: [String: Any], model: String, stream: Bool) -> MockConversation {
        var parts: [(role: String, kind: String, text: String)] = []
        for content in body["contents"] as? [[String: Any]] ?? [] {
            let role = content["role"] as? String ?? "user"
            for part in content["parts"] as? [[String: Any]] ?? [] {
                if let text = part["text"] as? String {
                    parts.append((role, "text", text))
                } else if let response = part["functionResponse"] as? [String: Any] {
                    // `{"result": value}` echoes the value (`42`, `[1,2]`, `18C`); any other object as JSON;
                    // a response that is not an object (which Gemini refuses) as `<not an object: …>`.
                    let text: String
                    if let payload = response["response"] as? [String: Any] {
                        if payload.count == 1, let result = payload["result"] {
                            text = result as? String ?? JSONSerialization.string(result)
                        } else {
                            text = JSONSerialization.string(payload)
                        }
                    } else {
                        text = "<not an object: \(JSONSerialization.string(response["response"] ?? NSNull()))>"
                    }
                    parts.append((role, "result", text))
                } else if let call = part["functionCall"] as? [String: Any] {
                    parts.append((role, "call", JSONSerialization.string(call["args"] ?? [:])))
                }
            }
        }
        let lastUser = parts.lastIndex { $0.role == "user" && $0.kind == "text" } ?? -1
        var texts = parts.map(\.text)
        if let system = body["systemInstruction"] as? [String: Any] { texts.append(text(system["parts"])) }
        let generation = body["generationConfig"] as? [String: Any]
        var forced: (String, Any?)?
        let calling = (body["toolConfig"] as? [String: Any])?["functionCallingConfig"] as? [String: Any]
        if calling?["mode"] as? String == "ANY" {
            let declarations = (body["tools"] as? [[String: Any]] ?? []).flatMap { $0["functionDeclarations"] as? [[String: Any]] ?? [] }
            let allowed = calling?["allowedFunctionNames"] as? [String]
            if let declaration = declarations.first(where: { allowed == nil || allowed!.contains($0["name"] as? String ?? "") }),
                let name = declaration["name"] as? String
            {
                forced = (name, declaration["parameters"] ?? declaration["parametersJsonSchema"])
            }
        }
        return MockConversation(
            model: model, stream: stream, texts: texts, lastUserText: lastUser >= 0 ? parts[lastUser].text : "",
            toolResults: parts.enumerated().filter { $0.offset > lastUser && $0.element.kind == "result" }.map(\.element.text),
            wantsJSON: generation?["responseMimeType"] as? String == "application/json",
            schema: generation?["responseJsonSchema"] ?? generation?["responseSchema"], forcedTool: forced)
    }

    static func ollamaConversation(_ body: [String: Any]) -> MockConversation {
        let messages = body["messages"] as? [[String: Any]] ?? []
        let lastUser = messages.lastIndex { ($0["role"] as? String) == "user" } ?? -1
        let format = body["format"]
        return MockConversation(
            model: body["model"] as? String ?? "", stream: body["stream"] as? Bool ?? true,
            texts: messages.map { $0["content"] as? String ?? "" },
            lastUserText: lastUser >= 0 ? messages[lastUser]["content"] as? String ?? "" : "",
            toolResults: messages.enumerated().filter { $0.offset > lastUser && ($0.element["role"] as? String) == "tool" }
                .map { $0.element["content"] as? String ?? "" },
            wantsJSON: format != nil, schema: format as? [String: Any], forcedTool: nil)
    }

    // MARK: Writing answers

    var toolIDPrefix: String {
        switch self {
        case .openai: return "call_mock_"
        case .anthropic: return "toolu_mock_"
        case .gemini: return "call_gemini_"
        case .ollama: return "call_ollama_"
        }
    }

    func body(_ answer: MockAnswer, model: String, serial: Int) -> Data {
        let now = Int(Date().timeIntervalSince1970)
        switch self {
        case .openai:
            var message: [String: Any] = ["role": "assistant", "content": answer.text.isEmpty && !answer.toolCalls.isEmpty ? NSNull() : answer.text, "refusal": NSNull()]
            if !answer.toolCalls.isEmpty {
                message["tool_calls"] = answer.toolCalls.map { ["id": $0.id, "type": "function", "function": ["name": $0.name, "arguments": $0.arguments]] }
            }
            var body: [String: Any] = [
                "id": "chatcmpl-mock-\(serial)", "object": "chat.completion", "created": now, "model": model,
                "system_fingerprint": "fp_mock",
                "choices": [["index": 0, "message": message, "logprobs": NSNull(), "finish_reason": openAIFinish(answer)]],
            ]
            if answer.includeUsage { body["usage"] = openAIUsage(answer) }
            return JSONSerialization.bytes(body)
        case .anthropic:
            var content: [[String: Any]] = []
            if !answer.text.isEmpty || answer.toolCalls.isEmpty { content.append(["type": "text", "text": answer.text]) }
            for call in answer.toolCalls {
                content.append(["type": "tool_use", "id": call.id, "name": call.name, "input": Self.object(call.arguments)])
            }
            return JSONSerialization.bytes([
                "id": "msg_mock_\(serial)", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": anthropicStop(answer), "stop_sequence": NSNull(),
                "usage": answer.includeUsage ? anthropicUsage(answer) : ["input_tokens": 0, "output_tokens": 0],
            ])
        case .gemini:
            var parts: [[String: Any]] = []
            if !answer.text.isEmpty { parts.append(["text": answer.text]) }
            for call in answer.toolCalls { parts.append(["functionCall": ["name": call.name, "args": Self.object(call.arguments)]]) }
            var body: [String: Any] = [
                "candidates": [["content": ["role": "model", "parts": parts], "finishReason": answer.stopLength ? "MAX_TOKENS" : "STOP", "index": 0]],
                "modelVersion": model, "responseId": "mock-\(serial)",
            ]
            if answer.includeUsage { body["usageMetadata"] = geminiUsage(answer) }
            return JSONSerialization.bytes(body)
        case .ollama:
            var message: [String: Any] = ["role": "assistant", "content": answer.text]
            if !answer.toolCalls.isEmpty {
                message["tool_calls"] = answer.toolCalls.map { ["function": ["name": $0.name, "arguments": Self.object($0.arguments)]] }
            }
            var body: [String: Any] = [
                "model": model, "created_at": ISO8601DateFormatter().string(from: Date()), "message": message, "done": true,
                "done_reason": answer.stopLength ? "length" : "stop", "total_duration": 1_000_000, "load_duration": 1000,
            ]
            if answer.includeUsage {
                body["prompt_eval_count"] = answer.promptTokens
                body["prompt_eval_duration"] = 1000
                body["eval_count"] = answer.completionTokens
                body["eval_duration"] = 1000
            }
            return JSONSerialization.bytes(body)
        }
    }

    /// The stream as framed pieces (SSE events or NDJSON lines), in order.
    func streamPieces(_ answer: MockAnswer, model: String, serial: Int, includeUsage: Bool) -> [String] {
        let now = Int(Date().timeIntervalSince1970)
        switch self {
        case .openai:
            let id = "chatcmpl-mock-\(serial)"
            // With include_usage every chunk carries `"usage": null` until the final usage chunk, as OpenAI sends it.
            let usageField: [String: Any] = includeUsage && answer.includeUsage ? ["usage": NSNull()] : [:]
            func chunk(_ delta: [String: Any], finish: String? = nil) -> String {
                "data: " + JSONSerialization.string([
                    "id": id, "object": "chat.completion.chunk", "created": now, "model": model, "system_fingerprint": "fp_mock",
                    "choices": [["index": 0, "delta": delta, "logprobs": NSNull(), "finish_reason": finish ?? NSNull()] as [String: Any]],
                ].merging(usageField) { $1 }) + "\n\n"
            }
            var pieces = [chunk(["role": "assistant", "content": "", "refusal": NSNull()])]
            pieces += answer.textPieces.map { chunk(["content": $0]) }
            for (index, call) in answer.toolCalls.enumerated() {
                pieces.append(chunk(["tool_calls": [["index": index, "id": call.id, "type": "function", "function": ["name": call.name, "arguments": ""]]]]))
                for part in MockAnswer.split(call.arguments) {
                    pieces.append(chunk(["tool_calls": [["index": index, "function": ["arguments": part]]]]))
                }
            }
            pieces.append(chunk([:], finish: openAIFinish(answer)))
            if includeUsage && answer.includeUsage {
                pieces.append("data: " + JSONSerialization.string([
                    "id": id, "object": "chat.completion.chunk", "created": now, "model": model, "system_fingerprint": "fp_mock",
                    "choices": [] as [Any], "usage": openAIUsage(answer),
                ]) + "\n\n")
            }
            pieces.append("data: [DONE]\n\n")
            return pieces
        case .anthropic:
            func event(_ name: String, _ payload: [String: Any]) -> String {
                "event: \(name)\ndata: " + JSONSerialization.string(payload) + "\n\n"
            }
            var usage = answer.includeUsage ? anthropicUsage(answer) : ["input_tokens": 0, "output_tokens": 0]
            usage["output_tokens"] = 1
            var pieces = [
                event("message_start", ["type": "message_start", "message": [
                    "id": "msg_mock_\(serial)", "type": "message", "role": "assistant", "model": model, "content": [] as [Any],
                    "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": usage,
                ] as [String: Any]]),
                event("ping", ["type": "ping"]),
            ]
            var index = 0
            if !answer.text.isEmpty || answer.toolCalls.isEmpty {
                pieces.append(event("content_block_start", ["type": "content_block_start", "index": index, "content_block": ["type": "text", "text": ""]]))
                for piece in answer.textPieces {
                    pieces.append(event("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "text_delta", "text": piece]]))
                }
                pieces.append(event("content_block_stop", ["type": "content_block_stop", "index": index]))
                index += 1
            }
            for call in answer.toolCalls {
                pieces.append(event("content_block_start", ["type": "content_block_start", "index": index, "content_block": ["type": "tool_use", "id": call.id, "name": call.name, "input": [:] as [String: Any]]]))
                for part in MockAnswer.split(call.arguments) {
                    pieces.append(event("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "input_json_delta", "partial_json": part]]))
                }
                pieces.append(event("content_block_stop", ["type": "content_block_stop", "index": index]))
                index += 1
            }
            pieces.append(event("message_delta", [
                "type": "message_delta", "delta": ["stop_reason": anthropicStop(answer), "stop_sequence": NSNull()],
                "usage": ["output_tokens": answer.includeUsage ? answer.completionTokens : 0],
            ]))
            pieces.append(event("message_stop", ["type": "message_stop"]))
            return pieces
        case .gemini:
            func data(_ parts: [[String: Any]], finish: String? = nil, usage: Bool = false) -> String {
                var candidate: [String: Any] = ["content": ["role": "model", "parts": parts], "index": 0]
                if let finish { candidate["finishReason"] = finish }
                var body: [String: Any] = ["candidates": [candidate], "modelVersion": model, "responseId": "mock-\(serial)"]
                if usage && answer.includeUsage { body["usageMetadata"] = geminiUsage(answer) }
                return "data: " + JSONSerialization.string(body) + "\r\n\r\n"
            }
            var pieces = answer.textPieces.map { data([["text": $0]]) }
            if !answer.toolCalls.isEmpty {
                pieces.append(data(answer.toolCalls.map { ["functionCall": ["name": $0.name, "args": Self.object($0.arguments)]] }))
            }
            pieces.append(data([["text": ""]], finish: answer.stopLength ? "MAX_TOKENS" : "STOP", usage: true))
            return pieces
        case .ollama:
            let created = ISO8601DateFormatter().string(from: Date())
            func line(_ message: [String: Any], done: Bool = false) -> String {
                var body: [String: Any] = ["model": model, "created_at": created, "message": message, "done": done]
                if done {
                    body["done_reason"] = answer.stopLength ? "length" : "stop"
                    body["total_duration"] = 1_000_000
                    body["load_duration"] = 1000
                    if answer.includeUsage {
                        body["prompt_eval_count"] = answer.promptTokens
                        body["prompt_eval_duration"] = 1000
                        body["eval_count"] = answer.completionTokens
                        body["eval_duration"] = 1000
                    }
                }
                return JSONSerialization.string(body) + "\n"
            }
            var pieces = answer.textPieces.map { line(["role": "assistant", "content": $0]) }
            if !answer.toolCalls.isEmpty {
                pieces.append(line(["role": "assistant", "content": "", "tool_calls": answer.toolCalls.map { ["function": ["name": $0.name, "arguments": Self.object($0.arguments)]] }]))
            }
            pieces.append(line(["role": "assistant", "content": ""], done: true))
            return pieces
        }
    }

    var streamContentType: String { self == .ollama ? "application/x-ndjson" : "text/event-stream" }

    /// A line of stream data that is not valid JSON, framed for this protocol.
    var malformedPiece: String { self == .ollama ? "{not json\n" : "data: {not json\n\n" }

    // MARK: Errors

    func errorBody(status: Int, message: String) -> Data {
        switch self {
        case .openai:
            // As api.openai.com answers: 401 invalid_api_key, 404 model_not_found, 429 rate limits, 5xx server_error.
            let (type, code): (String, Any) = {
                switch status {
                case 401: return ("invalid_request_error", "invalid_api_key")
                case 403: return ("invalid_request_error", "unsupported_country_region_territory")
                case 404: return ("invalid_request_error", "model_not_found")
                case 429: return ("requests", "rate_limit_exceeded")
                case 500...: return ("server_error", NSNull())
                default: return ("invalid_request_error", NSNull())
                }
            }()
            return JSONSerialization.bytes(["error": ["message": message, "type": type, "param": NSNull(), "code": code]])
        case .anthropic:
            let type: String
            switch status {
            case 400: type = "invalid_request_error"
            case 401: type = "authentication_error"
            case 403: type = "permission_error"
            case 404: type = "not_found_error"
            case 413: type = "request_too_large"
            case 429: type = "rate_limit_error"
            case 503, 529: type = "overloaded_error"
            default: type = "api_error"
            }
            return JSONSerialization.bytes(["type": "error", "error": ["type": type, "message": message]])
        case .gemini:
            let status: (Int, String) = {
                switch status {
                case 400: return (400, "INVALID_ARGUMENT")
                case 401: return (401, "UNAUTHENTICATED")
                case 403: return (403, "PERMISSION_DENIED")
                case 404: return (404, "NOT_FOUND")
                case 429: return (429, "RESOURCE_EXHAUSTED")
                case 503: return (503, "UNAVAILABLE")
                case 504: return (504, "DEADLINE_EXCEEDED")
                default: return (status, "INTERNAL")
                }
            }()
            return JSONSerialization.bytes(["error": ["code": status.0, "message": message, "status": status.1]])
        case .ollama:
            return JSONSerialization.bytes(["error": message])
        }
    }

    // MARK: Helpers

    static func object(_ arguments: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(arguments.utf8), options: [.fragmentsAllowed])) ?? [:] as [String: Any]
    }

    func openAIFinish(_ answer: MockAnswer) -> String {
        answer.stopLength ? "length" : answer.toolCalls.isEmpty ? "stop" : "tool_calls"
    }

    func anthropicStop(_ answer: MockAnswer) -> String {
        answer.stopLength ? "max_tokens" : answer.toolCalls.isEmpty ? "end_turn" : "tool_use"
    }

    func openAIUsage(_ answer: MockAnswer) -> [String: Any] {
        [
            "prompt_tokens": answer.promptTokens, "completion_tokens": answer.completionTokens,
            "total_tokens": answer.promptTokens + answer.completionTokens,
            "prompt_tokens_details": ["cached_tokens": answer.cachedTokens, "audio_tokens": 0],
            "completion_tokens_details": ["reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0],
        ]
    }

    func anthropicUsage(_ answer: MockAnswer) -> [String: Any] {
        [
            "input_tokens": answer.promptTokens - answer.cachedTokens, "output_tokens": answer.completionTokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": answer.cachedTokens,
        ]
    }

    func geminiUsage(_ answer: MockAnswer) -> [String: Any] {
        var usage: [String: Any] = [
            "promptTokenCount": answer.promptTokens, "candidatesTokenCount": answer.completionTokens,
            "totalTokenCount": answer.promptTokens + answer.completionTokens,
        ]
        if answer.cachedTokens > 0 { usage["cachedContentTokenCount"] = answer.cachedTokens }
        return usage
    }
}
