import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Anthropic ⇄ canonical translation")
struct AnthropicTranslationTests {
    func anthropicRequest(_ json: String) throws -> Anthropic.Request {
        try JSONDecoder().decode(Anthropic.Request.self, from: Data(json.utf8))
    }

    @Test func clientRequestBecomesCanonical() throws {
        let request = try anthropicRequest(
            """
            {"model":"m","max_tokens":256,"system":[{"type":"text","text":"sys"}],"stop_sequences":["X"],"top_k":5,
             "metadata":{"user_id":"u9"},"tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "tools":[{"name":"weather","description":"d","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "messages":[
               {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"QUJD"}}]},
               {"role":"assistant","content":[{"type":"text","text":"calling"},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Oslo"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"rain"},{"type":"text","text":"and?"}]}]}
            """)
        let chat = try AnthropicTranslator.chatRequest(from: request)
        #expect(chat.messages.map(\.role) == [.system, .user, .assistant, .tool, .user])
        #expect(chat.messages[0].text == "sys")
        #expect(chat.messages[1].content?.parts.last == .imageURL(url: "data:image/png;base64,QUJD", detail: nil))
        #expect(chat.messages[2].toolCalls?.first?.id == "toolu_1")
        #expect(JSONValue.parse(chat.messages[2].toolCalls?.first?.function.arguments ?? "") == ["city": "Oslo"])
        #expect(chat.messages[3].toolCallID == "toolu_1" && chat.messages[3].text == "rain")
        #expect(chat.maxTokens == 256 && chat.stop == ["X"] && chat.user == "u9")
        #expect(chat.toolChoice == .required && chat.parallelToolCalls == false)
        #expect(chat.extra["top_k"] == 5)
        #expect(chat.tools?.first?.function.parameters?["properties"]?["city"] != nil)
    }

    @Test func missingMaxTokensNamesTheField() {
        #expect {
            _ = try anthropicRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        } throws: { error in
            SwitchyardError.decoding(error as! DecodingError).param == "max_tokens"
        }
    }

    @Test func canonicalRequestBecomesAnthropicUpstream() throws {
        var chat = ChatRequest(
            model: "claude", messages: [
                .system("a"), ChatMessage(role: .developer, content: .text("b")), .user("q"),
                ChatMessage(role: .assistant, toolCalls: [ToolCall(id: "c1", name: "f", arguments: "{\"x\":1}"), ToolCall(id: "c2", name: "g", arguments: "{}")]),
                ChatMessage(role: .tool, content: .text("r1"), toolCallID: "c1"),
                ChatMessage(role: .tool, content: .text("r2"), toolCallID: "c2"),
                .user("next"),
            ])
        chat.temperature = 1.7
        chat.toolChoice = .function("f")
        chat.tools = [ToolDefinition(function: .init(name: "f")), ToolDefinition(function: .init(name: "g"))]
        let (upstream, usesJSONTool) = try AnthropicTranslator.anthropicRequest(from: chat, upstreamModel: "claude-x", defaultMaxTokens: 1000)
        #expect(!usesJSONTool)
        #expect(upstream.model == "claude-x" && upstream.maxTokens == 1000)
        #expect(upstream.system == [.text("a\n\nb")])
        #expect(upstream.temperature == 1)  // Anthropic's range is 0…1
        #expect(upstream.messages.map(\.role) == ["user", "assistant", "user"])
        // Both tool results and the next user text share one user turn, results first.
        let last = upstream.messages[2].content
        #expect(last.count == 3)
        if case .toolResult(let id, _, _) = last[0] { #expect(id == "c1") } else { Issue.record("expected tool_result") }
        #expect(last[2] == .text("next"))
        #expect(upstream.toolChoice == .init(type: "tool", name: "f"))
    }

    @Test func jsonSchemaUsesAForcedToolAndComesBackAsText() throws {
        var chat = ChatRequest(model: "c", messages: [.user("give json")])
        chat.responseFormat = ResponseFormat(type: .jsonSchema, jsonSchema: .init(name: "x", schema: ["type": "object"]))
        let (upstream, usesJSONTool) = try AnthropicTranslator.anthropicRequest(from: chat, upstreamModel: "c", defaultMaxTokens: 10)
        #expect(usesJSONTool)
        #expect(upstream.tools?.first?.name == AnthropicTranslator.jsonToolName)
        #expect(upstream.toolChoice?.type == "tool")
        let response = Anthropic.Response(
            id: "msg_1", model: "c", content: [.toolUse(id: "t", name: AnthropicTranslator.jsonToolName, input: ["a": 1])],
            stopReason: "tool_use", usage: .init(inputTokens: 3, outputTokens: 2))
        let canonical = AnthropicTranslator.chatResponse(from: response, usesJSONTool: true)
        #expect(canonical.message?.text == #"{"a":1}"#)
        #expect(canonical.message?.toolCalls == nil)
        #expect(canonical.choices.first?.finishReason == .stop)
    }

    @Test func usageWithCacheSurvivesBothWays() {
        let anthropic = Anthropic.Usage(inputTokens: 10, outputTokens: 7, cacheCreationInputTokens: 5, cacheReadInputTokens: 20)
        let canonical = anthropic.canonical
        #expect(canonical.promptTokens == 35 && canonical.cachedTokens == 20 && canonical.cacheWriteTokens == 5)
        #expect(Anthropic.Usage(canonical) == anthropic)
    }

    @Test func responseToClientKeepsToolUseAndStopReason() throws {
        let response = ChatResponse(
            id: "chatcmpl-abc", created: 0, model: "gpt",
            choices: [.init(message: ChatMessage(role: .assistant, content: .text("ok"), toolCalls: [ToolCall(id: "c1", name: "f", arguments: "{\"q\":\"x\"}")]), finishReason: .toolCalls)],
            usage: Usage(promptTokens: 9, completionTokens: 3))
        let anthropic = AnthropicTranslator.anthropicResponse(from: response, model: "pub")
        #expect(anthropic.id == "msg_abc")
        #expect(anthropic.stopReason == "tool_use")
        #expect(anthropic.content == [.text("ok"), .toolUse(id: "c1", name: "f", input: ["q": "x"])])
        let json = try #require(JSONValue.parse(try JSONEncoder().encode(anthropic)))
        #expect(json["type"] == "message" && json["role"] == "assistant" && json["usage"]?["input_tokens"] == 9)
    }

    @Test func streamWriterEmitsTheFullEventSequence() {
        var writer = AnthropicStreamWriter(messageID: "chatcmpl-1", model: "pub", estimatedInputTokens: 12)
        var events = writer.start()
        events += writer.add(ChatChunk(id: "1", created: 0, model: "m", choices: [.init(delta: .init(role: .assistant, content: "Hel"))]))
        events += writer.add(ChatChunk(id: "1", created: 0, model: "m", choices: [.init(delta: .init(content: "lo"))]))
        events += writer.add(ChatChunk(id: "1", created: 0, model: "m", choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 0, id: "c1", type: "function", function: .init(name: "f", arguments: "{\"a\""))]))]))
        events += writer.add(ChatChunk(id: "1", created: 0, model: "m", choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 0, function: .init(arguments: ":1}"))]))]))
        events += writer.add(ChatChunk(id: "1", created: 0, model: "m", choices: [.init(delta: .init(), finishReason: .toolCalls)]))
        events += writer.finish(usage: Usage(promptTokens: 12, completionTokens: 4))
        #expect(events.map(\.name) == [
            "message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
        ])
        #expect(events[6].payload["content_block"]?["type"] == "tool_use")
        #expect(events[6].payload["index"] == 1)
        #expect(events[10].payload["delta"]?["stop_reason"] == "tool_use")
        #expect(events[10].payload["usage"]?["output_tokens"] == 4)
    }

    @Test func streamReaderTurnsEventsIntoChunks() throws {
        var reader = AnthropicStreamReader(usesJSONTool: false)
        var accumulator = ChatStreamAccumulator()
        let events: [(String, String)] = [
            ("message_start", #"{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":20,"output_tokens":1,"cache_read_input_tokens":5}}}"#),
            ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
            ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            ("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"f","input":{}}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"2}"}}"#),
            ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#),
            ("message_stop", #"{"type":"message_stop"}"#),
        ]
        for (name, data) in events { for chunk in try reader.read(event: name, data: data) { accumulator.add(chunk) } }
        #expect(reader.finished)
        #expect(accumulator.text == "Hi")
        #expect(accumulator.toolCalls == [ToolCall(id: "toolu_9", name: "f", arguments: #"{"a":2}"#)])
        #expect(accumulator.finishReason == .toolCalls)
        #expect(accumulator.usage == Usage(promptTokens: 25, completionTokens: 9, cachedTokens: 5))
        #expect(throws: SwitchyardError.self) {
            _ = try reader.read(event: "error", data: #"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#)
        }
    }
}
