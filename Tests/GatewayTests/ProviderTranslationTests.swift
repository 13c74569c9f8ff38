import Foundation
import NIOCore
import Testing

@testable import Providers
import SwitchyardCore

@Suite("Provider translation: Gemini, Ollama, stream framing")
struct ProviderTranslationTests {
    func conversation() -> ChatRequest {
        var request = ChatRequest(
            model: "m",
            messages: [
                .system("be terse"), .user("weather?"),
                ChatMessage(role: .assistant, toolCalls: [ToolCall(id: "call_a", name: "weather", arguments: #"{"city":"Oslo"}"#)]),
                ChatMessage(role: .tool, content: .text(#"{"temp":3}"#), toolCallID: "call_a"),
            ])
        request.tools = [
            ToolDefinition(
                function: .init(
                    name: "weather", description: "w",
                    parameters: ["type": "object", "additionalProperties": false, "properties": ["city": ["type": "string"]]]))
        ]
        request.toolChoice = .required
        request.temperature = 0.3
        request.maxTokens = 50
        request.stop = ["END"]
        request.responseFormat = ResponseFormat(type: .jsonSchema, jsonSchema: .init(name: "x", schema: ["type": "object"]))
        return request
    }

    @Test func geminiRequest() throws {
        let body = try GeminiTranslator.request(from: conversation())
        #expect(body["systemInstruction"]?["parts"]?.arrayValue?.first?["text"] == "be terse")
        let contents = try #require(body["contents"]?.arrayValue)
        #expect(contents.map { $0["role"]?.stringValue } == ["user", "model", "user"])
        let call = contents[1]["parts"]?.arrayValue?.first?["functionCall"]
        #expect(call?["name"] == "weather" && call?["args"]?["city"] == "Oslo")
        let response = contents[2]["parts"]?.arrayValue?.first?["functionResponse"]
        #expect(response?["name"] == "weather" && response?["response"]?["temp"] == 3)
        let declaration = body["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue?.first
        #expect(declaration?["parameters"]?["additionalProperties"] == nil)  // Gemini rejects it
        #expect(body["toolConfig"]?["functionCallingConfig"]?["mode"] == "ANY")
        let generation = body["generationConfig"]
        #expect(generation?["maxOutputTokens"] == 50 && generation?["stopSequences"] == ["END"])
        #expect(generation?["responseMimeType"] == "application/json" && generation?["responseJsonSchema"] == ["type": "object"])
    }

    /// Gemini needs an object in `functionResponse.response`: scalars and arrays are wrapped, never
    /// turned into `null` (a nil-literal ternary once did that to every non-object result).
    static let toolResults: [(String, JSONValue)] = [
        (#""18C""#, ["result": "18C"]),
        ("42", ["result": 42]),
        ("[1, 2]", ["result": [1, 2]]),
        ("true", ["result": true]),
        ("null", ["result": .null]),
        ("18 degrees, sunny", ["result": "18 degrees, sunny"]),
        ("", ["result": ""]),
        (#"{"temp": 3, "unit": "C"}"#, ["temp": 3, "unit": "C"]),
    ]

    @Test(arguments: toolResults)
    func geminiToolResultsAreAlwaysObjects(result: String, expected: JSONValue) throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                .user("weather?"),
                ChatMessage(role: .assistant, toolCalls: [ToolCall(id: "call_a", name: "weather", arguments: "{}")]),
                ChatMessage(role: .tool, content: .text(result), toolCallID: "call_a"),
            ])
        let body = try GeminiTranslator.request(from: request)
        let part = body["contents"]?.arrayValue?.last?["parts"]?.arrayValue?.first?["functionResponse"]
        #expect(part?["name"] == "weather")
        #expect(part?["response"] == expected)
    }

    @Test func geminiToolResultWithoutItsCallIsRejected() {
        let request = ChatRequest(model: "m", messages: [.user("x"), ChatMessage(role: .tool, content: .text("r"), toolCallID: "nope")])
        #expect(throws: SwitchyardError.self) { _ = try GeminiTranslator.request(from: request) }
    }

    @Test func geminiResponse() throws {
        let json = try #require(
            JSONValue.parse(
                #"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi "},{"text":"there"},{"functionCall":{"name":"f","args":{"a":1}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":4,"cachedContentTokenCount":2}}"#
            ))
        var index = 0
        let read = GeminiTranslator.read(json, nextToolIndex: &index)
        #expect(read.text == "Hi there")
        #expect(read.calls.first?.function.name == "f" && read.calls.first?.function.arguments == #"{"a":1}"#)
        #expect(read.usage == Usage(promptTokens: 11, completionTokens: 4, cachedTokens: 2))
        #expect(read.finish == .stop)
    }

    @Test func ollamaRequest() throws {
        let body = try OllamaProvider.body(for: conversation(), stream: true)
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool"])
        #expect(messages[2]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?["city"] == "Oslo")
        #expect(messages[3]["tool_name"] == "weather")
        #expect(body["stream"] == true)
        #expect(body["format"] == ["type": "object"])
        #expect(body["options"]?["num_predict"] == 50 && body["options"]?["stop"] == ["END"])
    }

    @Test func ollamaStreamNeedsItsDoneLine() throws {
        var decoder = OllamaChunkDecoder(provider: "o", model: "m")
        var accumulator = ChatStreamAccumulator()
        for line in [#"{"message":{"role":"assistant","content":"He"},"done":false}"#, #"{"message":{"role":"assistant","content":"y"},"done":false}"#] {
            for chunk in try decoder.decode(StreamMessage(event: nil, data: line)) { accumulator.add(chunk) }
        }
        var unfinished = decoder
        #expect(throws: SwitchyardError.self) { _ = try unfinished.finish() }
        for chunk in try decoder.decode(
            StreamMessage(event: nil, data: #"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"length","prompt_eval_count":7,"eval_count":2}"#))
        {
            accumulator.add(chunk)
        }
        for chunk in try decoder.finish() { accumulator.add(chunk) }
        #expect(accumulator.text == "Hey" && accumulator.finishReason == .length)
        #expect(accumulator.usage == Usage(promptTokens: 7, completionTokens: 2))
    }

    @Test func upstreamErrorsKeepMeaningAndHideSecrets() {
        let configuration = ProviderConfiguration(name: "p", kind: .openai, baseURL: "http://x", apiKey: "sk-secret-123")
        let body = ByteBuffer(string: #"{"error":{"message":"Incorrect API key provided: sk-secret-123","type":"invalid_request_error"}}"#)
        let auth = UpstreamErrors.status(401, body: body, headers: [:], configuration: configuration)
        #expect(auth.status == 502 && !auth.message.contains("sk-secret-123") && auth.message.contains("credentials"))
        let limited = UpstreamErrors.status(429, body: nil, headers: ["retry-after": "7"], configuration: configuration)
        #expect(limited.status == 429 && limited.retryAfter == "7" && limited.isRetryable)
        let anthropic = UpstreamErrors.status(
            529, body: ByteBuffer(string: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            headers: [:], configuration: configuration)
        #expect(anthropic.status == 529 && anthropic.message.contains("Overloaded"))
        let bad = UpstreamErrors.status(400, body: ByteBuffer(string: #"{"error":"model 'x' not found"}"#), headers: [:], configuration: configuration)
        #expect(bad.status == 400 && bad.message.contains("model 'x' not found") && !bad.isRetryable)
    }
}
