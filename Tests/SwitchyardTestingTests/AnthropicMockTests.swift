import Foundation
import SwitchyardTesting
import Testing

@Suite("Anthropic wire protocol")
struct AnthropicMockTests {
    @Test func plainMessage() async throws {
        try await withMock { mock in
            let reply = try await mock.anthropic(["model": "claude-3-5-haiku", "max_tokens": 100, "messages": [user("Hi")]])
            #expect(reply.status == 200)
            let body = reply.object
            #expect(body[string: "type"] == "message")
            #expect(body[string: "role"] == "assistant")
            #expect(body[array: "content"].first?[string: "text"] == "Mock reply from anthropic model claude-3-5-haiku.")
            #expect(body[string: "stop_reason"] == "end_turn")
            #expect(body[object: "usage"][int: "input_tokens"] == 5)
            #expect(reply.headers.first(name: "request-id") != nil)
        }
    }

    @Test func requiresVersionHeaderAndMaxTokens() async throws {
        try await withMock { mock in
            let noVersion = try await mock.anthropic(["model": "c", "max_tokens": 10, "messages": [user("x")]], headers: [])
            #expect(noVersion.status == 400)
            #expect(noVersion.object[string: "type"] == "error")
            #expect(noVersion.object[object: "error"][string: "type"] == "invalid_request_error")

            let noMax = try await mock.anthropic(["model": "c", "messages": [user("x")]])
            #expect(noMax.status == 400)
            #expect(noMax.object[object: "error"][string: "message"]?.contains("max_tokens") == true)
        }
    }

    @Test func streamEventSequence() async throws {
        try await withMock { mock in
            let reply = try await mock.anthropic([
                "model": "claude", "max_tokens": 100, "stream": true, "messages": [user("[[reply: Hello streaming world]]")],
            ])
            let names = reply.events.map(\.name)
            let deltas = names.filter { $0 == "content_block_delta" }.count
            #expect(deltas >= 2)
            #expect(names == ["message_start", "ping", "content_block_start"]
                + Array(repeating: "content_block_delta", count: deltas)
                + ["content_block_stop", "message_delta", "message_stop"])
            #expect(reply.events.allSatisfy { $0.name == $0.data[string: "type"] })
            let text = reply.events.compactMap { $0.data[object: "delta"][string: "text"] }.joined()
            #expect(text == "Hello streaming world")
            let start = reply.events[0].data[object: "message"]
            #expect(start[string: "id"]?.hasPrefix("msg_") == true)
            #expect(start[object: "usage"][int: "input_tokens"] != nil)
            let delta = try #require(reply.events.first { $0.name == "message_delta" }?.data)
            #expect(delta[object: "delta"][string: "stop_reason"] == "end_turn")
            #expect(delta[object: "usage"][int: "output_tokens"] == 6)
        }
    }

    @Test func streamedToolUse() async throws {
        try await withMock { mock in
            let reply = try await mock.anthropic([
                "model": "claude", "max_tokens": 100, "stream": true,
                "messages": [user(#"[[tool: get_weather {"city": "Oslo"}]] [[tool: get_time {}]]"#)],
            ])
            let starts = reply.events.filter { $0.name == "content_block_start" }.map { $0.data[object: "content_block"] }
            #expect(starts.map { $0[string: "type"] } == ["tool_use", "tool_use"])
            #expect(starts.map { $0[string: "id"] } == ["toolu_mock_1", "toolu_mock_2"])
            let pieces = reply.events.filter { $0.name == "content_block_delta" && $0.data[int: "index"] == 0 }
                .map { $0.data[object: "delta"] }
            #expect(pieces.count >= 2)
            #expect(pieces.allSatisfy { $0[string: "type"] == "input_json_delta" })
            let input = MockReply.parse(pieces.compactMap { $0[string: "partial_json"] }.joined())
            #expect(input?[string: "city"] == "Oslo")
            let delta = reply.events.first { $0.name == "message_delta" }?.data
            #expect(delta?[object: "delta"][string: "stop_reason"] == "tool_use")
        }
    }

    @Test func toolResultRoundTripAndCachedTokens() async throws {
        try await withMock { mock in
            let reply = try await mock.anthropic([
                "model": "claude", "max_tokens": 100, "system": "be brief",
                "messages": [
                    user(#"[[tool: get_weather {"city": "Oslo"}]] [[cached: 3]]"#),
                    ["role": "assistant", "content": [["type": "tool_use", "id": "toolu_mock_1", "name": "get_weather", "input": ["city": "Oslo"]]]],
                    ["role": "user", "content": [["type": "tool_result", "tool_use_id": "toolu_mock_1", "content": "rainy"]]],
                ],
            ])
            let body = reply.object
            #expect(body[array: "content"].first?[string: "text"] == "Tool results: rainy")
            #expect(body[string: "stop_reason"] == "end_turn")
            let usage = body[object: "usage"]
            #expect(usage[int: "cache_read_input_tokens"] == 3)
            let total = try #require(usage[int: "input_tokens"])
            // input_tokens excludes the cached ones, as Anthropic reports them.
            let uncached = try await mock.anthropic([
                "model": "claude", "max_tokens": 100, "system": "be brief",
                "messages": [
                    user(#"[[tool: get_weather {"city": "Oslo"}]] [[cached: 0]]"#),
                    ["role": "assistant", "content": [["type": "tool_use", "id": "toolu_mock_1", "name": "get_weather", "input": ["city": "Oslo"]]]],
                    ["role": "user", "content": [["type": "tool_result", "tool_use_id": "toolu_mock_1", "content": "rainy"]]],
                ],
            ])
            #expect(uncached.object[object: "usage"][int: "input_tokens"] == total + 3)
        }
    }

    @Test func toolUseNonStreaming() async throws {
        try await withMock { mock in
            let reply = try await mock.anthropic([
                "model": "claude", "max_tokens": 100, "messages": [user(#"[[tool: search {"q": "mock"}]]"#)],
            ])
            let block = try #require(reply.object[array: "content"].first)
            #expect(block[string: "type"] == "tool_use")
            #expect(block[string: "id"] == "toolu_mock_1")
            #expect(block[object: "input"][string: "q"] == "mock")
            #expect(reply.object[string: "stop_reason"] == "tool_use")
        }
    }
}
