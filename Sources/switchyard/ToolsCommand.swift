import ArgumentParser
import Foundation
import Gateway
import Logging
import SwitchyardCore
import Tools

/// `switchyard tools …`: a quick look at the MCP tools the configuration connects to.
struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools", abstract: "List and call the MCP tools Switchyard serves.",
        subcommands: [ToolsListCommand.self, ToolsCallCommand.self])
}

struct ToolsOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file (default: ./switchyard.yaml).")
    var config: String?

    @Option(help: "Seconds to wait for the MCP servers to start.")
    var wait: Double = 30

    /// Starts the gateway and its MCP servers, runs `body`, and stops them again.
    func withGateway<T: Sendable>(_ body: @Sendable (Gateway) async throws -> T) async throws -> T {
        guard let configuration = try ConfigurationFinder.load(config) else {
            throw ValidationError("Give --config FILE (no switchyard.yaml in this folder).")
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
        let result: ToolResult
        do {
            result = try await options.withGateway { gateway in
                try await gateway.callServedTool(name, arguments: parsed, context: CallContext(logger: Logger(label: "switchyard")))
            }
        } catch let error as ToolError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        print(result.text)
        if result.isError { throw ExitCode(1) }
    }
}
