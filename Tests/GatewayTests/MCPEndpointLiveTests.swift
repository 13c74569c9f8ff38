import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardTesting
import Testing
import Tools

/// `/mcp` through the live gateway: the protocol's edges, per-key tool permissions, the audit log.
@Suite("MCP endpoint", .serialized)
struct MCPEndpointLiveTests {
    static func rpc(_ method: String, _ params: JSONValue? = nil, id: Int64 = 1) -> String {
        var object: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { object["params"] = params }
        return JSONValue.object(object).jsonString()
    }

    static let accept: HTTPFields = [.accept: "application/json, text/event-stream"]

    @Test func initializeListAndCallWithPermissions() async throws {
        try await ToolLoopLiveTests.run(servers: ["time", "git", "fx"]) { client, _, gateway in
            let initialize = try await client.post(
                "/mcp", json: Self.rpc("initialize", ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "t", "version": "1"]]),
                headers: Self.accept)
            #expect(initialize.status == .ok)
            #expect(initialize.json?["result"]?["protocolVersion"] == "2025-06-18")
            #expect(initialize.json?["result"]?["capabilities"]?["tools"] != nil)
            let newer = try await client.post(
                "/mcp", json: Self.rpc("initialize", ["protocolVersion": "2099-01-01", "capabilities": [:], "clientInfo": ["name": "t", "version": "1"]]),
                headers: Self.accept)
            #expect(newer.json?["result"]?["protocolVersion"] == "2025-11-25")
            let initialized = try await client.post("/mcp", json: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, headers: Self.accept)
            #expect(initialized.status == .accepted)

            // An unrestricted key sees everything: chat first, then each server's tools in order.
            let all = try await client.post("/mcp", json: Self.rpc("tools/list"), headers: Self.accept)
            let names = all.json?["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names.first == "chat")
            #expect(names.contains("git__git_log") && names.contains("time__get_current_time") && names.contains("fx__echo"))

            // A key limited to time__* sees and calls only those.
            let limited = try await client.post("/mcp", json: Self.rpc("tools/list"), key: "sk-time-only", headers: Self.accept)
            let limitedNames = limited.json?["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(limitedNames == ["time__convert_time", "time__get_current_time"])
            let refused = try await client.post(
                "/mcp", json: Self.rpc("tools/call", ["name": "git__git_log", "arguments": ["repo_path": "."]]), key: "sk-time-only",
                headers: Self.accept)
            #expect(refused.json?["error"]?["code"] == -32602)
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("not allowed") == true)
            #expect(refused.json?["result"] == nil)
            let allowed = try await client.post(
                "/mcp", json: Self.rpc("tools/call", ["name": "time__get_current_time", "arguments": ["timezone": "UTC"]]),
                key: "sk-time-only", headers: Self.accept)
            #expect(allowed.json?["result"]?["isError"] == false)
            #expect(allowed.json?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("UTC") == true)

            // Both calls are audit-logged, with the arguments redacted.
            await gateway.requestLog.flush()
            let audit = try #require(try await gateway.requestLog.store?.recent(limit: 20)).filter { $0.endpoint == "mcp" }
            #expect(audit.count == 2)
            let denied = try #require(audit.first { $0.model == "git__git_log" })
            #expect(denied.status == 403)
            #expect(denied.caller == "time-only")
            #expect(denied.toolCalls?.arrayValue?.first?["arguments"] == "[redacted]")
            #expect(audit.first { $0.model == "time__get_current_time" }?.status == 200)
        }
    }

    @Test func chatToolCompletesThroughAnyModel() async throws {
        try await ToolLoopLiveTests.run { client, _, _ in
            let response = try await client.post(
                "/mcp", json: Self.rpc("tools/call", ["name": "chat", "arguments": ["model": "m-anthropic", "prompt": "[[reply: hello from the chat tool]]"]]),
                headers: Self.accept)
            let result = try #require(response.json?["result"])
            #expect(result["isError"] == false)
            #expect(result["content"]?.arrayValue?.first?["text"] == "hello from the chat tool")
            #expect(result["structuredContent"]?["provider"] == "up-anthropic")
            let badModel = try await client.post(
                "/mcp", json: Self.rpc("tools/call", ["name": "chat", "arguments": ["model": "nope", "prompt": "x"]]), headers: Self.accept)
            #expect(badModel.json?["result"]?["isError"] == true)
        }
    }

    @Test func protocolEdges() async throws {
        try await ToolLoopLiveTests.run { client, _, _ in
            // SSE framing for a client that accepts only an event stream.
            let sse = try await client.post("/mcp", json: Self.rpc("ping", id: 7), headers: [.accept: "text/event-stream"])
            #expect(sse.status == .ok)
            #expect(sse.header("content-type") == "text/event-stream")
            #expect(sse.events.first?.event == "message")
            #expect(JSONValue.parse(sse.events.first?.data ?? "")?["id"] == 7)

            let noKey = try await client.post("/mcp", json: Self.rpc("tools/list"), key: nil, headers: Self.accept)
            #expect(noKey.status == .unauthorized)
            #expect(noKey.header("www-authenticate") == "Bearer")
            let badOrigin = try await client.post(
                "/mcp", json: Self.rpc("tools/list"), headers: [.accept: "application/json, text/event-stream", .origin: "https://evil.example"])
            #expect(badOrigin.status == .forbidden)
            let localOrigin = try await client.post(
                "/mcp", json: Self.rpc("tools/list"), headers: [.accept: "application/json, text/event-stream", .origin: "http://localhost:3000"])
            #expect(localOrigin.status == .ok)
            let badVersion = try await client.post(
                "/mcp", json: Self.rpc("tools/list"), headers: [.accept: "application/json", HTTPField.Name("MCP-Protocol-Version")!: "1999-01-01"])
            #expect(badVersion.status == .badRequest)
            let unknown = try await client.post("/mcp", json: Self.rpc("resources/list"), headers: Self.accept)
            #expect(unknown.json?["error"]?["code"] == -32601)
            let batch = try await client.post("/mcp", json: "[\(Self.rpc("ping"))]", headers: Self.accept)
            #expect(batch.status == .badRequest)
            let get = try await client.get("/mcp")
            #expect(get.status == .methodNotAllowed)
            let unknownTool = try await client.post("/mcp", json: Self.rpc("tools/call", ["name": "nope__x"]), headers: Self.accept)
            #expect(unknownTool.json?["error"]?["code"] == -32602)
        }
    }
}
