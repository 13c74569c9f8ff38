import Foundation
import Testing

@testable import Gateway
import SwitchyardCore
import Tools

@Suite("MCP configuration")
struct MCPConfigurationTests {
    let base = """
        providers:
          - {name: openai, kind: openai, base_url: "https://api.openai.com/v1"}
        models:
          - {name: gpt-4o-mini, provider: openai, price: {input: 0.15, output: 0.60}, tools: [time__*, git__git_log]}

        """

    func error(_ yaml: String) -> String {
        do {
            _ = try ConfigurationLoader.parse(base + yaml, source: "test.yaml")
            return "no error"
        } catch let error as SwitchyardError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func readsTheDocumentedShape() throws {
        let configuration = try ConfigurationLoader.parse(
            base + """
                mcp:
                  max_steps: 4
                  call_timeout_ms: 2500
                  max_result_bytes: 4096
                  redact_arguments: false
                  allowed_origins: ["https://app.example"]
                  servers:
                    - {name: time, command: mcp-server-time, args: ["--local-timezone", "UTC"], env: {TZ: UTC}, cwd: /tmp, timeout_ms: 5000}
                    - {name: docs, url: "http://127.0.0.1:8811/mcp", headers: {Authorization: "Bearer ${DOCS_TOKEN}"}, prefix: on-collision, aliases: {search: docs_search}}
                groups:
                  - {name: helper, deployments: [gpt-4o-mini], tools: ["docs__*"]}
                auth: {keys: [plain-key, {key: k2, name: ops, tools: ["time__*"]}]}
                """, source: "test.yaml", environment: ["DOCS_TOKEN": "secret-token"])
        let mcp = configuration.mcp
        #expect(mcp.maxSteps == 4)
        #expect(mcp.callTimeout == .milliseconds(2500))
        #expect(mcp.maxResultBytes == 4096)
        #expect(!mcp.redactArguments)
        #expect(mcp.allowedOrigins == ["https://app.example"])
        #expect(mcp.servers.map(\.name) == ["time", "docs"])
        #expect(
            mcp.servers[0].transport
                == .stdio(command: "mcp-server-time", arguments: ["--local-timezone", "UTC"], environment: ["TZ": "UTC"], workingDirectory: "/tmp"))
        #expect(mcp.servers[0].timeout == .milliseconds(5000))
        #expect(mcp.servers[0].prefix == .always)
        #expect(mcp.servers[1].transport == .http(url: "http://127.0.0.1:8811/mcp", headers: ["Authorization": "Bearer secret-token"]))
        #expect(mcp.servers[1].prefix == .onCollision)
        #expect(mcp.servers[1].aliases == ["search": "docs_search"])
        #expect(configuration.toolPolicies == ["gpt-4o-mini": ["time__*", "git__git_log"], "helper": ["docs__*"]])
        #expect(configuration.keys.map(\.tools) == [nil, ["time__*"]])
    }

    @Test func mistakesAreNamed() {
        let noServers = error("")
        #expect(noServers.contains("no MCP servers are configured"))
        let both = error("mcp: {servers: [{name: a, command: x, url: \"http://h/mcp\"}]}")
        #expect(both.contains("both `command:` and `url:`"))
        let neither = error("mcp: {servers: [{name: a}]}")
        #expect(neither.contains("needs `command:` (stdio) or `url:`"))
        let prefix = error("mcp: {servers: [{name: a, command: x, prefix: sometimes}]}")
        #expect(prefix.contains("unknown prefix mode 'sometimes'") && prefix.contains("on-collision"))
        let name = error("mcp: {servers: [{name: a__b, command: x}]}")
        #expect(name.contains("not a usable server name"))
        let twice = error("mcp: {servers: [{name: a, command: x}, {name: a, command: y}]}")
        #expect(twice.contains("used twice"))
        let url = error("mcp: {servers: [{name: a, url: \"ftp://h\"}]}")
        #expect(url.contains("not an http(s) URL"))
        let misplaced = error("mcp: {servers: [{name: a, url: \"http://h/mcp\", args: [x]}]}")
        #expect(misplaced.contains("`args` is for stdio servers"))
        let unknown = error("mcp: {servers: [{name: a, command: x, comand: y}]}")
        #expect(unknown.contains("unknown field `comand`"))
        #expect(unknown.contains("test.yaml:"))
    }
}
