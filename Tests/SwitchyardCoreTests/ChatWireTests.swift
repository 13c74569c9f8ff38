import Foundation
import Testing

@testable import SwitchyardCore

@Suite("OpenAI chat wire format")
struct ChatWireTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    @Test func decodesEveryModelledField() throws {
        let request = try decode(
            ChatRequest.self,
            """
            {"model":"m","messages":[
              {"role":"developer","content":"be brief"},
              {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\\"a\\":1}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"42"}],
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
             "tool_choice":{"type":"function","function":{"name":"f"}},
             "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"},"strict":true}},
             "temperature":0.5,"top_p":0.9,"max_completion_tokens":100,"stop":"END","seed":7,"user":"u1",
             "metadata":{"k":"v"},"stream":true,"stream_options":{"include_usage":true},"parallel_tool_calls":false}
            """)
        #expect(request.messages.count == 4)
        #expect(request.messages[0].role == .developer)
        #expect(request.messages[1].content?.parts.count == 2)
        #expect(request.messages[2].toolCalls?.first?.function.arguments == "{\"a\":1}")
        #expect(request.messages[3].toolCallID == "c1")
        #expect(request.toolChoice == .function("f"))
        #expect(request.responseFormat?.type == .jsonSchema)
        #expect(request.stop == ["END"])
        #expect(request.outputTokenLimit == 100)
        #expect(request.seed == 7)
        #expect(request.stream && request.includeUsage)
        #expect(request.parallelToolCalls == false)
        #expect(request.extra.isEmpty)
    }

    @Test func unknownFieldsPassThroughAndSwitchyardIsStripped() throws {
        let request = try decode(
            ChatRequest.self,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"reasoning_effort":"low","switchyard":{"route":{"only":["x"]}}}"#
        )
        #expect(request.extra["reasoning_effort"] == "low")
        #expect(request.switchyard?["route"] != nil)
        let encoded = try #require(JSONValue.parse(try JSONEncoder().encode(request)))
        #expect(encoded["reasoning_effort"] == "low")
        #expect(encoded["logit_bias"]?["50256"] == .int(-100))
        #expect(encoded["switchyard"] == nil)
        #expect(encoded["stream"] == nil)
    }

    @Test(arguments: [
        (#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#, "messages[0].role"),
        (#"{"model":"m"}"#, "messages"),
        (#"{"messages":[]}"#, "model"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "temperature"),
        (#"{"model":"m","messages":"hello"}"#, "messages"),
    ])
    func decodingErrorsNameTheField(json: String, field: String) throws {
        do {
            _ = try decode(ChatRequest.self, json)
            Issue.record("expected a decoding error")
        } catch let error as SwitchyardError {
            // Checked numbers report themselves, with the range.
            #expect(error.param == field && error.status == 400)
            #expect(error.message.contains(field))
        } catch let error as DecodingError {
            let failure = SwitchyardError.decoding(error)
            #expect(failure.param == field)
            #expect(failure.message.contains(field))
            #expect(failure.status == 400)
        }
    }

    @Test func responseEncodesOpenAIShape() throws {
        let response = ChatResponse(
            id: "chatcmpl-1", created: 1, model: "m",
            choices: [.init(message: ChatMessage(role: .assistant, toolCalls: [ToolCall(id: "c", name: "f", arguments: "{}")]), finishReason: .toolCalls)],
            usage: Usage(promptTokens: 10, completionTokens: 5, cachedTokens: 4))
        let json = try #require(JSONValue.parse(try JSONEncoder().encode(response)))
        #expect(json["object"] == "chat.completion")
        #expect(json["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == .null)
        #expect(json["usage"]?["total_tokens"] == 15)
        #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 4)
    }

    @Test func accumulatorRebuildsStreamedToolCalls() {
        var accumulator = ChatStreamAccumulator()
        accumulator.add(ChatChunk(id: "x", created: 1, model: "m", choices: [.init(delta: .init(role: .assistant, content: ""))]))
        accumulator.add(ChatChunk(id: "x", created: 1, model: "m", choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 0, id: "c1", type: "function", function: .init(name: "get", arguments: "{\"ci"))]))]))
        accumulator.add(ChatChunk(id: "x", created: 1, model: "m", choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 0, function: .init(arguments: "ty\":\"Oslo\"}"))]))]))
        accumulator.add(ChatChunk(id: "x", created: 1, model: "m", choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 1, id: "c2", type: "function", function: .init(name: "now", arguments: "{}"))]))]))
        accumulator.add(ChatChunk(id: "x", created: 1, model: "m", choices: [.init(delta: .init(), finishReason: .toolCalls)]))
        let message = accumulator.response.message
        #expect(message?.toolCalls?.count == 2)
        #expect(message?.toolCalls?[0].function.arguments == #"{"city":"Oslo"}"#)
        #expect(message?.toolCalls?[1].id == "c2")
        #expect(accumulator.finishReason == .toolCalls)
    }

    @Test func priceCountsCachedAndWrittenTokensSeparately() {
        let price = Price(input: 1.0, output: 4.0, cachedInput: 0.1, cacheWrite: 1.25)
        let usage = Usage(promptTokens: 1_000_000, completionTokens: 500_000, cachedTokens: 400_000, cacheWriteTokens: 100_000)
        // 500k plain × $1 + 400k cached × $0.1 + 100k written × $1.25 + 500k out × $4
        #expect(abs(price.cost(of: usage) - (0.5 + 0.04 + 0.125 + 2.0)) < 1e-12)
        #expect(Price(input: 0.15, output: 0.6).cost(of: Usage(promptTokens: 25, completionTokens: 12)) == (25 * 0.15 + 12 * 0.6) / 1e6)
    }

    @Test(arguments: [("time__*", "time__get_current_time", true), ("time__*", "git__log", false), ("*", "x", true), ("a?c", "abc", true), ("a?c", "abbc", false)])
    func globPatterns(pattern: String, text: String, matches: Bool) {
        #expect(GlobPattern(pattern).matches(text) == matches)
    }
}
