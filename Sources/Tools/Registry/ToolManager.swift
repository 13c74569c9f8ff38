import AsyncHTTPClient
import Foundation
import Logging
import MCP
import ServiceLifecycle
import SwitchyardCore
import Synchronization

/// Every configured MCP server behind one catalogue of exposed tools. Runs as a `Service`: it
/// starts the servers, supervises them, and stops them on shutdown.
public final class ToolManager: Service, Sendable {
    public let configuration: MCPConfiguration
    private let connections: [MCPConnection]
    private let logger: Logger
    private let catalogue: Catalogue

    public init(configuration: MCPConfiguration, httpClient: HTTPClient, logger: Logger = Logger(label: "switchyard.mcp")) {
        self.configuration = configuration
        self.logger = logger
        let catalogue = Catalogue()
        self.catalogue = catalogue
        let servers = configuration.servers
        self.connections = configuration.servers.map { server in
            MCPConnection(
                configuration: server, policy: configuration, httpClient: httpClient, logger: logger,
                onToolsChanged: { name, tools in
                    catalogue.update(servers: servers, server: name, tools: tools.map { ToolNaming.descriptor($0, server: name) }, logger: logger)
                })
        }
    }

    /// Starts and supervises every server until graceful shutdown (or cancellation), then stops them.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for connection in connections {
                group.addTask { await connection.run() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        for connection in connections { await connection.stop() }
    }

    /// The exposed tools, in their deterministic order.
    public var tools: [ToolDescriptor] { catalogue.state.withLock { $0.exposed } }

    /// Exposed tools whose names match any of `patterns` (globs); `nil` = all.
    public func tools(matching patterns: [String]?) -> [ToolDescriptor] {
        tools.filter { GlobPattern.allows(patterns, $0.name) }
    }

    public func tool(named name: String) -> ToolDescriptor? { catalogue.state.withLock { $0.byName[name] } }

    /// Calls an exposed tool. Throws `ToolError` when it cannot be called; a tool that ran and
    /// failed returns a result with `isError`.
    /// - Parameter meta: the request's `_meta` (such as a workflow step's idempotency key), sent as it is.
    public func call(_ name: String, arguments: JSONValue?, timeout: Duration? = nil, meta: [String: JSONValue]? = nil) async throws -> ToolResult {
        guard let tool = tool(named: name) else {
            throw ToolError(.unknownTool, "There is no tool named '\(name)'.")
        }
        guard let connection = connections.first(where: { $0.configuration.name == tool.server }) else {
            throw ToolError(.unknownTool, "The tool '\(name)' belongs to no configured MCP server.")
        }
        return try await connection.call(
            tool.originalName, arguments: try ValueBridge.arguments(arguments), timeout: timeout ?? configuration.callTimeout, meta: meta)
    }

    /// Waits until every server is ready or `timeout` passes; returns the servers still not ready, with why.
    @discardableResult
    public func waitUntilReady(timeout: Duration) async -> [String: String] {
        let deadline = ContinuousClock.now + timeout
        var missing: [String: String] = [:]
        for connection in connections {
            let left = max(deadline - .now, .milliseconds(1))
            do {
                _ = try await connection.readySession(within: left)
            } catch {
                missing[connection.configuration.name] = "\(error)"
            }
        }
        return missing
    }

    /// The state of each server, in configuration order: `ready`, `starting`, `down: …` or `stopped`.
    public func status() async -> [(server: String, state: String, restarts: Int)] {
        var result: [(String, String, Int)] = []
        for connection in connections {
            let state: String
            switch await connection.state {
            case .ready: state = "ready"
            case .starting: state = "starting"
            case .down(let reason): state = "down: \(reason)"
            case .stopped: state = "stopped"
            }
            result.append((connection.configuration.name, state, await connection.restarts))
        }
        return result
    }

    /// The process id of a stdio server while it runs (for operators and tests).
    public func processIdentifier(server: String) async -> Int32? {
        await connections.first { $0.configuration.name == server }?.processIdentifier
    }
}

/// The exposed tools, rebuilt whenever a server's list changes.
private final class Catalogue: Sendable {
    struct State {
        var listed: [String: [ToolDescriptor]] = [:]
        var exposed: [ToolDescriptor] = []
        var byName: [String: ToolDescriptor] = [:]
    }
    let state = Mutex(State())

    func update(servers: [MCPConfiguration.Server], server: String, tools: [ToolDescriptor], logger: Logger) {
        let notes = state.withLock { state -> [String] in
            state.listed[server] = tools
            let listed = servers.compactMap { configured in
                state.listed[configured.name].map { ToolNaming.Listed(server: configured, tools: $0) }
            }
            let (exposed, notes) = ToolNaming.expose(listed)
            state.exposed = exposed
            state.byName = Dictionary(exposed.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            return notes
        }
        for note in notes { logger.warning("\(note)") }
    }
}
