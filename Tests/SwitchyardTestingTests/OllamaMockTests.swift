import Foundation
import SwitchyardTesting
import Testing

@Suite("Ollama wire protocol")
struct OllamaMockTests {
    @Test func streamsNDJSONByDefault() async throws {
        try await withMock { mock in
            let reply = try await mock.ollama(["model": "llama3.2", "messages": [user("hi")]])
            #expect(reply.headers.first(name: "content-type") == "application/x-ndjson")
            let lines = reply.lines
            #expect(lines.count >= 3)
            #expect(lines.dropLast().allSatisfy { $0["done"] as? Bool == false })
            let last = try #require(lines.last)
            #expect(last["done"] as? Bool == true)
            #expect(last[string: "done_reason"] == "stop")
            #expect(last[int: "prompt_eval_count"] == 5)
            #expect(last[int: "eval_count"] != nil)
            #expect(last[int: "total_duration"] != nil)
            let text = lines.compactMap { $0[object: "message"][string: "content"] }.joined()
            #expect(text == "Mock reply from ollama model llama3.2.")
        }
    }

    @Test func nonStreamingToolCallsAndResults() async throws {
        try await withMock { mock in
            let call = try await mock.ollama([
                "model": "llama3.2", "stream": false, "messages": [user(#"[[tool: get_weather {"city": "Lima"}]]"#)],
            ])
            let body = call.object
            #expect(body["done"] as? Bool == true)
            let calls = body[object: "message"][array: "tool_calls"]
            #expect(calls.first?[object: "function"][string: "name"] == "get_weather")
            #expect(calls.first?[object: "function"][object: "arguments"][string: "city"] == "Lima")

            let result = try await mock.ollama([
                "model": "llama3.2", "stream": false,
                "messages": [
                    user(#"[[tool: get_weather {"city": "Lima"}]]"#),
                    ["role": "assistant", "content": "", "tool_calls": calls],
                    ["role": "tool", "content": "foggy"],
                ],
            ])
            #expect(result.object[object: "message"][string: "content"] == "Tool results: foggy")
        }
    }

    @Test func formatJSON() async throws {
        try await withMock { mock in
            let reply = try await mock.ollama(["model": "m", "stream": false, "format": "json", "messages": [user("x")]])
            let text = try #require(reply.object[object: "message"][string: "content"])
            #expect(MockReply.parse(text)?["ok"] as? Bool == true)
        }
    }

    @Test func embedAndTags() async throws {
        try await withMock { mock in
            let embed = try await mock.send(.POST, "/api/embed", json: ["model": "nomic-embed-text", "input": ["a", "b"]])
            #expect((embed.object["embeddings"] as? [[Double]])?.count == 2)
            #expect(embed.object[int: "prompt_eval_count"] != nil)
            let tags = try await mock.send(.GET, "/api/tags")
            #expect(!tags.object[array: "models"].isEmpty)
        }
    }
}
