import Foundation
import SwitchyardTesting
import Testing

@Suite("OpenAI wire protocol")
struct OpenAIMockTests {
    @Test func defaultReplyWithUsage() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI(["model": "gpt-4o-mini", "messages": [user("Hello there")]])
            #expect(reply.status == 200)
            let body = reply.object
            #expect(body[string: "object"] == "chat.completion")
            let choice = body[array: "choices"][0]
            #expect(choice[object: "message"][string: "content"] == "Mock reply from openai model gpt-4o-mini.")
            #expect(choice[string: "finish_reason"] == "stop")
            let usage = body[object: "usage"]
            // "Hello there" = 11 chars → 3 tokens + 4 per message.
            #expect(usage[int: "prompt_tokens"] == 7)
            #expect(usage[int: "completion_tokens"] == 11)
            #expect(usage[int: "total_tokens"] == 18)
            #expect(reply.headers.first(name: "x-request-id") != nil)
        }
    }

    @Test func streamWithIncludeUsage() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI([
                "model": "gpt-4o-mini", "stream": true, "stream_options": ["include_usage": true],
                "messages": [user("[[reply: one two three]] [[cached: 2]]")],
            ])
            #expect(reply.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            #expect(reply.dataLines.last == "[DONE]")
            let chunks = reply.dataObjects
            let content = chunks.compactMap { $0[array: "choices"].first?[object: "delta"][string: "content"] }
            #expect(content.joined() == "one two three")
            #expect(content.filter { !$0.isEmpty }.count >= 2)
            #expect(chunks.dropLast().contains { $0[array: "choices"].first?[string: "finish_reason"] == "stop" })
            let last = try #require(chunks.last)
            #expect(last[array: "choices"].isEmpty)
            #expect(last[object: "usage"][int: "completion_tokens"] == 4)
            #expect(last[object: "usage"][object: "prompt_tokens_details"][int: "cached_tokens"] == 2)
        }
    }

    @Test func streamWithoutIncludeUsageHasNoUsageChunk() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI(["model": "m", "stream": true, "messages": [user("hi")]])
            #expect(reply.dataObjects.allSatisfy { $0["usage"] == nil })
            #expect(reply.dataLines.last == "[DONE]")
        }
    }

    @Test func parallelToolCalls() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI([
                "model": "gpt-4o", "messages": [user(#"[[tool: get_weather {"city": "Paris"}]] [[tool: get_time {"zone": "CET"}]]"#)],
            ])
            let choice = reply.object[array: "choices"][0]
            #expect(choice[string: "finish_reason"] == "tool_calls")
            let calls = choice[object: "message"][array: "tool_calls"]
            #expect(calls.map { $0[string: "id"] } == ["call_mock_1", "call_mock_2"])
            #expect(calls.map { $0[object: "function"][string: "name"] } == ["get_weather", "get_time"])
            let arguments = try #require(calls[0][object: "function"][string: "arguments"])
            #expect(MockReply.parse(arguments)?[string: "city"] == "Paris")
        }
    }

    @Test func streamedToolCallArgumentsArriveInPieces() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI([
                "model": "gpt-4o", "stream": true, "messages": [user(#"[[tool: lookup {"query": "swift", "tags": [[1, 2]]}]]"#)],
            ])
            let deltas = reply.dataObjects.flatMap { $0[array: "choices"].first?[object: "delta"][array: "tool_calls"] ?? [] }
            #expect(deltas.count >= 3)
            #expect(deltas[0][string: "id"] == "call_mock_1")
            #expect(deltas[0][string: "type"] == "function")
            #expect(deltas[0][object: "function"][string: "name"] == "lookup")
            #expect(deltas.allSatisfy { $0[int: "index"] == 0 })
            let arguments = deltas.compactMap { $0[object: "function"][string: "arguments"] }
            #expect(arguments.filter { !$0.isEmpty }.count >= 2)
            let parsed = try #require(MockReply.parse(arguments.joined()))
            #expect(parsed[string: "query"] == "swift")
            #expect(parsed["tags"] as? [[Int]] == [[1, 2]])
            let finish = reply.dataObjects.compactMap { $0[array: "choices"].first?[string: "finish_reason"] }
            #expect(finish == ["tool_calls"])
        }
    }

    @Test func toolResultsAfterTheLastUserTurnAreEchoed() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI([
                "model": "gpt-4o",
                "messages": [
                    user(#"[[tool: a {}]] [[tool: b {}]]"#),
                    ["role": "assistant", "content": NSNull(), "tool_calls": [
                        ["id": "call_mock_1", "type": "function", "function": ["name": "a", "arguments": "{}"]],
                        ["id": "call_mock_2", "type": "function", "function": ["name": "b", "arguments": "{}"]],
                    ]],
                    ["role": "tool", "tool_call_id": "call_mock_1", "content": "sunny"],
                    ["role": "tool", "tool_call_id": "call_mock_2", "content": [["type": "text", "text": "12:00"]]],
                ],
            ])
            let choice = reply.object[array: "choices"][0]
            #expect(choice[object: "message"][string: "content"] == "Tool results: sunny | 12:00")
            #expect(choice[string: "finish_reason"] == "stop")
        }
    }

    @Test func jsonSchemaResponseFormat() async throws {
        try await withMock { mock in
            let schema: [String: Any] = [
                "type": "object", "required": ["name", "age", "tags", "kind", "nested"],
                "properties": [
                    "name": ["type": "string"], "age": ["type": "integer"], "tags": ["type": "array", "items": ["type": "string"]],
                    "kind": ["type": "string", "enum": ["a", "b"]], "nested": ["$ref": "#/$defs/Inner"],
                ],
                "$defs": ["Inner": ["type": "object", "properties": ["ok": ["type": "boolean"]]]],
            ]
            let reply = try await mock.openAI([
                "model": "gpt-4o", "messages": [user("extract")],
                "response_format": ["type": "json_schema", "json_schema": ["name": "x", "schema": schema]],
            ])
            let content = try #require(reply.object[array: "choices"][0][object: "message"][string: "content"])
            let value = try #require(MockReply.parse(content))
            #expect(value[string: "name"] == "mock")
            #expect(value[int: "age"] == 1)
            #expect(value["tags"] as? [String] == ["mock"])
            #expect(value[string: "kind"] == "a")
            #expect(value[object: "nested"]["ok"] as? Bool == true)

            let plain = try await mock.openAI(["model": "gpt-4o", "messages": [user("[[json]]")]])
            let text = try #require(plain.object[array: "choices"][0][object: "message"][string: "content"])
            #expect(MockReply.parse(text)?[string: "answer"] == "mock")
        }
    }

    @Test func stopLengthAndNoUsage() async throws {
        try await withMock { mock in
            let reply = try await mock.openAI(["model": "m", "messages": [user("[[stop: length]] [[usage: none]]")]])
            #expect(reply.object[array: "choices"][0][string: "finish_reason"] == "length")
            #expect(reply.object["usage"] == nil)
        }
    }

    @Test func embeddingsFloatAndBase64() async throws {
        try await withMock { mock in
            let floats = try await mock.send(.POST, "/v1/embeddings", json: ["model": "text-embedding-3-small", "input": ["a", "b"]])
            let data = floats.object[array: "data"]
            #expect(data.count == 2)
            #expect(data.map { $0[int: "index"] } == [0, 1])
            let first = try #require(data[0]["embedding"] as? [Double])
            #expect(first.count == 16)

            let encoded = try await mock.send(
                .POST, "/v1/embeddings", json: ["model": "text-embedding-3-small", "input": "a", "encoding_format": "base64", "dimensions": 8])
            let base64 = try #require(encoded.object[array: "data"][0][string: "embedding"])
            let bytes = try #require(Data(base64Encoded: base64))
            #expect(bytes.count == 8 * 4)
            let decoded = (0..<8).map { index in
                Float(bitPattern: bytes.subdata(in: (index * 4)..<(index * 4 + 4)).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
            }
            // Same text, same vector, whatever the encoding (up to the requested length).
            let again = try await mock.send(.POST, "/v1/embeddings", json: ["model": "m", "input": "a", "dimensions": 8])
            let values = try #require(again.object[array: "data"][0]["embedding"] as? [Double])
            #expect(zip(decoded, values).allSatisfy { abs(Double($0) - $1) < 1e-6 })
        }
    }

    @Test func modelsList() async throws {
        try await withMock { mock in
            let reply = try await mock.send(.GET, "/v1/models")
            #expect(reply.object[string: "object"] == "list")
            #expect(!reply.object[array: "data"].isEmpty)
        }
    }
}
