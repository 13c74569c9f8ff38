import ArgumentParser
import Foundation
import Gateway
import Logging
import NIOHTTP1
import SwitchyardCore
import Tools

/// `switchyard tools …`: a quick look at the MCP tools the configuration connects to.
struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools", abstract: "List and call the MCP tools Switchyard serves.",
        subcommands: [ToolsListCommand.self, ToolsCallCommand.self])
}

struct ToolsOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Seconds to wait for the MCP servers to start.")
    var wait: Double = 30

    @Option(help: "API key for a running gateway with auth on (default: $SWITCHYARD_KEY).")
    var key: String?

    /// The running gateway's `/mcp`, when one serves this configuration: its tools are exactly what
    /// clients see, and no MCP server has to be started here.
    var runningGateway: GatewayClient? {
        ConfigurationFinder.runningGateway(config: config, db: nil).map { GatewayClient(url: $0.url, key: key) }
    }

    /// One JSON-RPC call to a running gateway's `/mcp`.
    static func rpc(_ client: GatewayClient, _ method: String, _ params: JSONValue) async throws -> JSONValue {
        let reply = try await client.call(
            .POST, "/mcp", body: ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": params],
            headers: [("accept", "application/json, text/event-stream"), ("mcp-protocol-version", "2025-06-18")])
        if let error = reply["error"] {
            let message = error["message"]?.stringValue ?? "MCP error"
            // -32602 covers three cases; say which, as a local call would.
            let kind: CommandFailure.Kind = message.contains("no tool named") ? .notFound : message.contains("not allowed") ? .permission : .dataError
            throw CommandFailure(message, kind)
        }
        return reply["result"] ?? .null
    }

    /// Starts the gateway and its MCP servers, runs `body`, and stops them again.
    func withGateway<T: Sendable>(_ body: @Sendable (Gateway) async throws -> T) async throws -> T {
        guard let configuration = try ConfigurationFinder.load(config) else {
            throw CommandFailure(ConfigurationFinder.noConfiguration, .configuration)
        }
        var logger = Logger(label: "switchyard")
        logger.logLevel = .error
        let runtime = try GatewayRuntime(configuration: configuration, logger: logger)
        let gateway = runtime.gateway
        let running = Task { try await gateway.tools?.run() }
        let missing = await gateway.tools?.waitUntilReady(timeout: .milliseconds(Int64(wait * 1000))) ?? [:]
        for (server, reason) in missing.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("warning: MCP server '\(server)' is not ready: \(reason)\n".utf8))
        }
        do {
            let result = try await body(gateway)
            running.cancel()
            _ = await running.result
            await runtime.shutdown()
            return result
        } catch {
            running.cancel()
            _ = await running.result
            await runtime.shutdown()
            throw error
        }
    }
}

struct ToolsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the served tools, in order.")

    @OptionGroup var options: ToolsOptions

    @Flag(help: "Print the tools as MCP's tools/list JSON.")
    var json = false

    func run() async throws {
        let json = self.json
        if let running = options.runningGateway {
            let tools = try await ToolsOptions.rpc(running, "tools/list", [:])["tools"]?.arrayValue ?? []
            if json {
                print(JSONValue.object(["tools": .array(tools)]).jsonString())
                return
            }
            let names = tools.compactMap { $0["name"]?.stringValue }
            let width = min(48, names.map(\.count).max() ?? 4)
            for tool in tools {
                let name = tool["name"]?.stringValue ?? "?"
                let summary = (tool["description"]?.stringValue ?? "").split(separator: "\n").first.map(String.init) ?? ""
                print("\(name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0))  \(summary.prefix(100))")
            }
            return
        }
        try await options.withGateway { gateway in
            let tools = gateway.servedTools(for: .anonymous)
            if json {
                print(JSONValue.object(["tools": .array(tools.map(\.mcpJSON))]).jsonString())
                return
            }
            let width = min(48, tools.map(\.name.count).max() ?? 4)
            for tool in tools {
                let name = tool.name.padding(toLength: max(width, tool.name.count), withPad: " ", startingAt: 0)
                let summary = (tool.description ?? "").split(separator: "\n").first.map(String.init) ?? ""
                print("\(name)  [\(tool.server)]  \(summary.prefix(100))")
            }
        }
    }
}

struct ToolsCallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "call", abstract: "Call one tool and print its result.")

    @OptionGroup var options: ToolsOptions

    @Argument(help: "The exposed tool name, e.g. time__get_current_time.")
    var name: String

    @Argument(help: "The arguments, as a JSON object.")
    var arguments: String = "{}"

    func run() async throws {
        guard let parsed = JSONValue.parse(arguments), parsed.objectValue != nil else {
            throw ValidationError("The arguments must be a JSON object, e.g. '{\"timezone\": \"UTC\"}'.")
        }
        let name = self.name
        if let running = options.runningGateway {
            let result = try await ToolsOptions.rpc(running, "tools/call", ["name": .string(name), "arguments": parsed])
            let text = (result["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            print(text.isEmpty ? (result["structuredContent"] ?? result).jsonString() : text)
            if result["isError"] == true { throw CommandFailure("the tool reported an error", .failure) }
            return
        }
        let result: ToolResult
        do {
            result = try await options.withGateway { gateway in
                try await gateway.callServedTool(name, arguments: parsed, context: CallContext(logger: Logger(label: "switchyard")))
            }
        } catch let error as ToolError {
            let kind: CommandFailure.Kind
            switch error.code {
            case .unknownTool: kind = .notFound
            case .notAllowed: kind = .permission
            case .invalidArguments, .protocolError: kind = .dataError
            case .unavailable, .timeout: kind = .unavailable
            }
            throw CommandFailure(error.message, kind)
        }
        print(result.text)
        if result.isError { throw CommandFailure("the tool reported an error", .failure) }
    }
}
