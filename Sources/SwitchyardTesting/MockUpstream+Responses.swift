import Foundation
import Hummingbird
import NIOCore

/// `POST /v1/responses`: OpenAI's Responses API, as a provider marked `responses_api: native`
/// receives it. It answers "Mock reply from openai-responses model M." (so a test can tell a
/// natively served request from a translated one), follows the same scripts (`[[tool: …]]`,
/// `[[json]]`, tool results), and keeps a stored conversation per response id for
/// `previous_response_id`, as OpenAI does.
extension MockUpstream {
    func responses(_ request: Request) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        record(.openai, request, body: buffer)
        if let failure = authFailure(.openai, request) { return failure }
        guard let body = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            return Self.json(400, MockProtocol.openai.errorBody(status: 400, message: "The request body is not valid JSON."))
        }
        let model = body["model"] as? String ?? ""
        guard !model.isEmpty else { return Self.json(400, MockProtocol.openai.errorBody(status: 400, message: "model: Field required")) }
        var items: [[String: Any]] = []
        if let previous = body["previous_response_id"] as? String {
            guard let earlier = storedConversation(previous) else {
                return Self.json(404, MockProtocol.openai.errorBody(status: 404, message: "Previous response with id '\(previous)' not found."))
            }
            items = earlier
        }
        if let text = body["input"] as? String {
            items.append(["type": "message", "role": "user", "content": text])
        } else {
            items += body["input"] as? [[String: Any]] ?? []
        }
        let conversation = Self.responsesConversation(items, body: body, model: model)
        let script = MockScript(text: conversation.lastUserText, fault: takeFault(for: model), defaultChunkDelayMs: configuration.defaultChunkDelayMs, model: model)
        if let early = try await scriptedPrelude(.openai, request, script) { return early }
        let serial = nextSerial()
        let answer = MockAnswer(conversation: conversation, script: script, protocolName: "openai-responses", idPrefix: "call_mock_")
        let id = "resp_mock\(serial)"
        var output: [[String: Any]] = []
        if !answer.text.isEmpty || answer.toolCalls.isEmpty {
            output.append([
                "id": "msg_mock\(serial)", "type": "message", "status": "completed", "role": "assistant",
                "content": [["type": "output_text", "text": answer.text, "annotations": [] as [Any]]],
            ])
        }
        for (index, call) in answer.toolCalls.enumerated() {
            output.append([
                "id": "fc_mock\(serial)_\(index)", "type": "function_call", "status": "completed", "call_id": call.id,
                "name": call.name, "arguments": call.arguments,
            ])
        }
        storeConversation(id, items + output)
        let usage: [String: Any] = [
            "input_tokens": answer.promptTokens, "input_tokens_details": ["cached_tokens": answer.cachedTokens],
            "output_tokens": answer.completionTokens, "output_tokens_details": ["reasoning_tokens": 0],
            "total_tokens": answer.promptTokens + answer.completionTokens,
        ]
        let response: [String: Any] = [
            "id": id, "object": "response", "created_at": 1_700_000_000, "status": answer.stopLength ? "incomplete" : "completed",
            "model": model, "output": output, "usage": usage, "error": NSNull(), "incomplete_details": NSNull(),
            "parallel_tool_calls": true, "tool_choice": body["tool_choice"] ?? "auto", "tools": body["tools"] ?? [] as [Any],
            "previous_response_id": body["previous_response_id"] ?? NSNull(),
        ]
        let headers = Self.requestIDHeader(.openai, serial: serial)
        guard body["stream"] as? Bool == true else {
            return Self.json(200, Data(JSONSerialization.string(response).utf8), headers: headers)
        }
        var events: [[String: Any]] = []
        var progress = response
        progress["status"] = "in_progress"
        progress["output"] = [] as [Any]
        progress["usage"] = NSNull()
        events.append(["type": "response.created", "response": progress])
        for (index, item) in output.enumerated() {
            var added = item
            added["status"] = "in_progress"
            if item["type"] as? String == "message" {
                added["content"] = [] as [Any]
                events.append(["type": "response.output_item.added", "output_index": index, "item": added])
                let itemID = item["id"] as? String ?? ""
                events.append([
                    "type": "response.content_part.added", "item_id": itemID, "output_index": index, "content_index": 0,
                    "part": ["type": "output_text", "text": "", "annotations": [] as [Any]],
                ])
                for piece in answer.textPieces {
                    events.append([
                        "type": "response.output_text.delta", "item_id": itemID, "output_index": index, "content_index": 0, "delta": piece,
                    ])
                }
                events.append([
                    "type": "response.output_text.done", "item_id": itemID, "output_index": index, "content_index": 0, "text": answer.text,
                ])
                events.append([
                    "type": "response.content_part.done", "item_id": itemID, "output_index": index, "content_index": 0,
                    "part": ["type": "output_text", "text": answer.text, "annotations": [] as [Any]],
                ])
            } else {
                added["arguments"] = ""
                events.append(["type": "response.output_item.added", "output_index": index, "item": added])
                events.append([
                    "type": "response.function_call_arguments.delta", "item_id": item["id"] ?? "", "output_index": index,
                    "delta": item["arguments"] ?? "",
                ])
                events.append([
                    "type": "response.function_call_arguments.done", "item_id": item["id"] ?? "", "output_index": index,
                    "arguments": item["arguments"] ?? "",
                ])
            }
            events.append(["type": "response.output_item.done", "output_index": index, "item": item])
        }
        events.append(["type": answer.stopLength ? "response.incomplete" : "response.completed", "response": response])
        let frames = events.enumerated().map { index, event -> String in
            var event = event
            event["sequence_number"] = index
            return "event: \(event["type"] as? String ?? "")\ndata: \(JSONSerialization.string(event))\n\n"
        }
        let delay = script.chunkDelayMs
        var streamHeaders = headers
        streamHeaders[.contentType] = "text/event-stream"
        return Response(
            status: .ok, headers: streamHeaders,
            body: ResponseBody { writer in
                for (index, frame) in frames.enumerated() {
                    if delay > 0, index > 0 { try await Self.pause(milliseconds: delay) }
                    try await writer.write(ByteBuffer(string: frame))
                }
                try await writer.finish(nil)
            })
    }

    /// Responses items as the conversation the mock's scripts read.
    static func responsesConversation(_ items: [[String: Any]], body: [String: Any], model: String) -> MockConversation {
        var texts: [String] = []
        var lastUser = ""
        var results: [String] = []
        for item in items {
            let type = item["type"] as? String ?? "message"
            if type == "message" {
                let text = MockProtocol.text(item["content"])
                texts.append(text)
                if item["role"] as? String == "user" {
                    lastUser = text
                    results = []
                }
            } else if type == "function_call_output" {
                let output = item["output"] as? String ?? MockProtocol.text(item["output"])
                texts.append(output)
                results.append(output)
            }
        }
        if let instructions = body["instructions"] as? String { texts.insert(instructions, at: 0) }
        let format = (body["text"] as? [String: Any])?["format"] as? [String: Any]
        let formatType = format?["type"] as? String
        return MockConversation(
            model: model, stream: body["stream"] as? Bool ?? false, texts: texts, lastUserText: lastUser, toolResults: results,
            wantsJSON: formatType == "json_object" || formatType == "json_schema", schema: format?["schema"], forcedTool: nil)
    }
}
