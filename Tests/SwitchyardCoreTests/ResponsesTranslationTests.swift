import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Responses API translation")
struct ResponsesTranslationTests {
    func parse(_ json: String) throws -> ResponsesRequest {
        try ResponsesRequest.parse(#require(JSONValue.parse(json)))
    }

    func param(_ json: String) -> String? {
        do {
            _ = try ResponsesTranslator.chatRequest(parse(json), history: [])
            return nil
        } catch let error as SwitchyardError {
            return error.param ?? "<no param>"
        } catch {
            return "<\(error)>"
        }
    }

    @Test func aStringInputIsOneUserMessageAfterTheInstructions() throws {
        let chat = try ResponsesTranslator.chatRequest(
            parse(#"{"model": "m", "input": "hi", "instructions": "be brief", "max_output_tokens": 50, "temperature": 0.5}"#), history: [])
        #expect(chat.messages.map(\.role) == [.system, .user])
        #expect(chat.messages.map(\.text) == ["be brief", "hi"])
        #expect(chat.maxTokens == 50)
        #expect(chat.temperature == 0.5)
    }

    @Test func functionCallsJoinOneAssistantMessageAndOutputsBecomeToolMessages() throws {
        let chat = try ResponsesTranslator.chatRequest(
            parse(
                #"""
                {"model": "m", "input": [
                  {"role": "user", "content": [{"type": "input_text", "text": "two things"}]},
                  {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}"},
                  {"type": "function_call", "call_id": "c2", "name": "b", "arguments": "{\"x\":1}"},
                  {"type": "function_call_output", "call_id": "c1", "output": "one"},
                  {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]},
                  {"type": "reasoning", "id": "rs_1", "summary": []}
                ], "tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "b", "parameters": {"type": "object"}}],
                "tool_choice": {"type": "function", "name": "b"}}
                """#), history: [])
        #expect(chat.messages.map(\.role) == [.user, .assistant, .tool, .tool])
        #expect(chat.messages[1].toolCalls?.map(\.id) == ["c1", "c2"])
        #expect(chat.messages[3].toolCallID == "c2")
        #expect(chat.messages[3].text == "two")
        #expect(chat.tools?.map(\.function.name) == ["a", "b"])
        #expect(chat.toolChoice == .function("b"))
    }

    @Test func historyComesBeforeTheNewInput() throws {
        let history: [JSONValue] = [
            ["type": "message", "role": "user", "content": "first"],
            ["type": "message", "role": "assistant", "content": [["type": "output_text", "text": "answer"]]],
        ]
        let chat = try ResponsesTranslator.chatRequest(parse(#"{"model": "m", "input": "second"}"#), history: history)
        #expect(chat.messages.map(\.text) == ["first", "answer", "second"])
        #expect(chat.messages.map(\.role) == [.user, .assistant, .user])
    }

    @Test func textFormatBecomesTheResponseFormat() throws {
        let chat = try ResponsesTranslator.chatRequest(
            parse(#"{"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "p", "schema": {"type": "object"}, "strict": true}}}"#),
            history: [])
        #expect(chat.responseFormat?.type == .jsonSchema)
        #expect(chat.responseFormat?.jsonSchema?.name == "p")
    }

    @Test func hostileFieldsAreRefusedNamingTheField() {
        #expect(param(#"{"model": "m"}"#) == "input")
        #expect(param(#"{"input": "x"}"#) == "model")
        #expect(param(#"{"model": "m", "input": "x", "temperature": 1e300}"#) == "temperature")
        #expect(param(#"{"model": "m", "input": "x", "max_output_tokens": 9223372036854775807}"#) == "max_output_tokens")
        #expect(param(#"{"model": "m", "input": "x", "max_output_tokens": 1.5}"#) == "max_output_tokens")
        #expect(param(#"{"model": "m", "input": "x", "max_output_tokens": -1}"#) == "max_output_tokens")
        #expect(param(#"{"model": "m", "input": 42}"#) == "input")
        #expect(param(#"{"model": "m", "input": [42]}"#) == "input[0]")
        #expect(param(#"{"model": "m", "input": [{"type": "computer_call"}]}"#) == "input[0].type")
        #expect(param(#"{"model": "m", "input": [{"role": "wizard", "content": "x"}]}"#) == "input[0].role")
        #expect(param(#"{"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}"#) == "input[0].content[0].type")
        #expect(param(#"{"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}"#) == "input[0].call_id")
        #expect(param(#"{"model": "m", "input": "x", "tools": [{"type": "web_search"}]}"#) == "tools[0].type")
        #expect(param(#"{"model": "m", "input": "x", "tool_choice": {"type": "function", "name": "nope"}}"#) == "tool_choice.name")
        #expect(param(#"{"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}"#) == "text.format.type")
        #expect(param(#"{"model": "m", "input": "x", "metadata": {"a": 1}}"#) == "metadata")
        #expect(param(#"{"model": "m", "input": "x", "frobnicate": true}"#) == "frobnicate")
        #expect(param(#"{"model": "m", "input": "x", "conversation": "conv_1"}"#) == "conversation")
        #expect(param(#"{"model": "m", "input": [{"role": "system", "content": "only a system prompt"}]}"#) == "input")
        #expect(param(#"{"model": "m", "input": "x", "include": ["reasoning.encrypted_content"], "truncation": "auto"}"#) == nil)
    }

    @Test func aChatAnswerBecomesOutputItemsWithStableIds() throws {
        let request = try parse(#"{"model": "m", "input": "x"}"#)
        var message = ChatMessage.assistant("Hello")
        message.toolCalls = [ToolCall(id: "call_1", name: "f", arguments: "{}")]
        let chat = ChatResponse(
            id: "c", created: 0, model: "up", choices: [.init(index: 0, message: message, finishReason: .toolCalls)],
            usage: Usage(promptTokens: 10, completionTokens: 5))
        let response = ResponsesTranslator.response(id: "resp_abc", request: request, createdAt: Date(), chat: chat, switchyard: nil)
        let output = try #require(response["output"]?.arrayValue)
        #expect(output.map { $0["type"]?.stringValue } == ["message", "function_call"])
        #expect(output[0]["content"]?.arrayValue?.first?["text"]?.stringValue == "Hello")
        #expect(output[1]["call_id"]?.stringValue == "call_1")
        #expect(Set(output.compactMap { $0["id"]?.stringValue }).count == 2)
        #expect(response["status"]?.stringValue == "completed")
        #expect(response["usage"]?["total_tokens"] == 15)
        #expect(response["model"]?.stringValue == "m")
    }

    @Test func aTruncatedAnswerIsIncomplete() throws {
        let request = try parse(#"{"model": "m", "input": "x", "max_output_tokens": 3}"#)
        let chat = ChatResponse(
            id: "c", created: 0, model: "up", choices: [.init(index: 0, message: .assistant("abc"), finishReason: .length)], usage: nil)
        let response = ResponsesTranslator.response(id: "resp_abc", request: request, createdAt: Date(), chat: chat, switchyard: nil)
        #expect(response["status"]?.stringValue == "incomplete")
        #expect(response["incomplete_details"]?["reason"]?.stringValue == "max_output_tokens")
    }

    @Test func theStreamWriterNumbersEventsAndClosesEveryItem() throws {
        let request = try parse(#"{"model": "m", "input": "x", "stream": true}"#)
        var writer = ResponsesStreamWriter(responseID: "resp_abc", request: request, createdAt: Date())
        var events = writer.start()
        let text = ChatChunk(id: "c", created: 0, model: "up", choices: [.init(delta: .init(content: "Hel"))])
        let more = ChatChunk(id: "c", created: 0, model: "up", choices: [.init(delta: .init(content: "lo"))])
        let call = ChatChunk(
            id: "c", created: 0, model: "up",
            choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 0, id: "call_9", type: "function", function: .init(name: "f", arguments: "{\"a\""))]))])
        let rest = ChatChunk(
            id: "c", created: 0, model: "up",
            choices: [.init(delta: .init(toolCalls: [ToolCallDelta(index: 0, function: .init(arguments: ":1}"))]), finishReason: .toolCalls)])
        for chunk in [text, more, call, rest] { events += writer.add(chunk) }
        let (closing, response) = writer.finish(usage: Usage(promptTokens: 3, completionTokens: 4), switchyard: nil)
        events += closing
        #expect(events.map { $0["sequence_number"]?.doubleValue.map(Int.init) } == Array(0..<events.count).map { Optional($0) })
        let types = events.compactMap { $0["type"]?.stringValue }
        #expect(types.first == "response.created" && types.last == "response.completed")
        #expect(types.filter { $0 == "response.output_item.added" }.count == 2)
        #expect(types.filter { $0 == "response.output_item.done" }.count == 2)
        let output = try #require(response["output"]?.arrayValue)
        #expect(output[0]["content"]?.arrayValue?.first?["text"]?.stringValue == "Hello")
        #expect(output[1]["arguments"]?.stringValue == "{\"a\":1}")
        #expect(output[1]["call_id"]?.stringValue == "call_9")
    }
}
