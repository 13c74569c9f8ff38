import AsyncHTTPClient
import Foundation
import Logging
import MCP

/// One configured MCP server: connects, keeps its tool list, restarts it with backoff when it dies
/// or stops answering, and calls its tools with a deadline.
actor MCPConnection {
    enum State: Sendable, Equatable {
        case starting
        case ready
        case down(String)
        case stopped
    }

    /// What the supervisor reacts to, tagged with the connection generation it concerns.
    enum Event: Sendable {
        case died(generation: Int, reason: String)
        case toolsChanged(generation: Int)
    }

    let configuration: MCPConfiguration.Server
    let policy: MCPConfiguration
    let httpClient: HTTPClient
    let logger: Logger
    private(set) var state: State = .starting
    private(set) var tools: [Tool] = []
    private(set) var restarts = 0
    private var client: Client?
    private var transport: (any Transport)?
    private var generation = 0
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    /// Called after the tool list changed (first connect, a restart, or a list_changed notice).
    private let onToolsChanged: @Sendable (String, [Tool]) -> Void

    init(
        configuration: MCPConfiguration.Server, policy: MCPConfiguration, httpClient: HTTPClient, logger: Logger,
        onToolsChanged: @escaping @Sendable (String, [Tool]) -> Void
    ) {
        self.configuration = configuration
        self.policy = policy
        self.httpClient = httpClient
        var logger = logger
        logger[metadataKey: "switchyard.mcp.server"] = .string(configuration.name)
        self.logger = logger
        self.onToolsChanged = onToolsChanged
        (events, eventSink) = AsyncStream.makeStream()
    }

    var name: String { configuration.name }

    /// The process id of a stdio server while it runs.
    var processIdentifier: Int32? {
        get async { await (transport as? ProcessTransport)?.processIdentifier }
    }

    /// Connects, then restarts with doubling delays whenever the server dies, until cancelled.
    func run() async {
        var delay = policy.restartDelay
        var pending = events.makeAsyncIterator()
        while !Task.isCancelled {
            let connectedAt = ContinuousClock.now
            do {
                try await connect()
                while let event = await pending.next() {
                    if case .died(let dying, let reason) = event, dying == generation {
                        logger.warning("MCP server went down; restarting", metadata: ["switchyard.mcp.reason": .string(reason)])
                        state = .down(reason)
                        break
                    }
                    if case .toolsChanged(let changed) = event, changed == generation {
                        try? await refreshTools()
                    }
                }
            } catch {
                state = .down(String(describing: error))
                if !Task.isCancelled {
                    logger.warning("could not connect to MCP server", metadata: ["switchyard.mcp.error": "\(error)"])
                }
            }
            await teardown()
            if Task.isCancelled { break }
            // A server that stayed up a while starts over from the shortest delay.
            if ContinuousClock.now - connectedAt > policy.maxRestartDelay { delay = policy.restartDelay }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, policy.maxRestartDelay)
            restarts += 1
        }
        await stop()
    }

    /// Stops the server for good.
    func stop() async {
        await teardown()
        state = .stopped
        eventSink.finish()
    }

    /// Calls a tool by its name on this server.
    func call(_ tool: String, arguments: [String: Value]?, timeout: Duration) async throws -> ToolResult {
        let client = try await readyClient(within: min(timeout, configuration.timeout))
        let current = generation
        let context: RequestContext<CallTool.Result>
        do {
            context = try await client.callTool(name: tool, arguments: arguments)
        } catch {
            throw ToolError(.unavailable, "The MCP server '\(name)' is not connected: \(error)")
        }
        let limit = min(timeout, configuration.timeout)
        do {
            let result = try await withDeadline(
                limit, what: "The tool '\(tool)' on MCP server '\(name)'",
                onTimeout: { try? await client.cancelRequest(context.requestID, reason: "Switchyard: call timed out") }
            ) {
                try await context.value
            }
            let json = ValueBridge.json(result)
            return ToolResult(
                content: json["content"]?.arrayValue ?? [], isError: result.isError ?? false,
                structuredContent: json["structuredContent"])
        } catch let error as ToolError {
            // The transport lost the server (an HTTP server gone or restarted): connect anew.
            if error.code == .unavailable { markDead(generation: current, reason: error.message) }
            throw error
        } catch let error as MCPError {
            if case .internalError(let detail) = error, detail?.contains("disconnected") == true {
                throw ToolError(.unavailable, "The MCP server '\(name)' went away during the call to '\(tool)'.")
            }
            throw ToolError(.protocolError, "The MCP server '\(name)' refused the call to '\(tool)': \(error.localizedDescription)")
        } catch is CancellationError {
            throw ToolError(.unavailable, "The call to '\(tool)' on MCP server '\(name)' was cancelled.")
        } catch {
            markDead(generation: current, reason: "\(error)")
            throw ToolError(.unavailable, "The MCP server '\(name)' failed during the call to '\(tool)': \(error)")
        }
    }

    /// Waits (polling) until the server is ready, for at most `timeout`.
    func readyClient(within timeout: Duration) async throws -> Client {
        let deadline = ContinuousClock.now + timeout
        while true {
            if state == .ready, let client { return client }
            if state == .stopped { throw ToolError(.unavailable, "The MCP server '\(name)' is stopped.") }
            guard ContinuousClock.now < deadline else {
                var reason = ""
                if case .down(let why) = state { reason = ": \(why)" }
                throw ToolError(.unavailable, "The MCP server '\(name)' is not available\(reason).")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: Lifecycle

    private func connect() async throws {
        generation += 1
        let current = generation
        state = .starting
        let sink = eventSink
        let transport: any Transport
        switch configuration.transport {
        case .stdio(let command, let arguments, let environment, let workingDirectory):
            transport = ProcessTransport(
                command: command, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
                logger: logger,
                onExit: { status in sink.yield(.died(generation: current, reason: "process exited with status \(status)")) })
        case .http(let url, let headers):
            transport = StreamableHTTPTransport(
                url: url, headers: headers, httpClient: httpClient, timeout: configuration.timeout, logger: logger)
        }
        let client = Client(name: "switchyard", version: "1.0")
        await client.onNotification(ToolListChangedNotification.self) { _ in
            // Only signal here: listing from inside the SDK's message loop would wait on itself.
            sink.yield(.toolsChanged(generation: current))
        }
        self.transport = transport
        self.client = client
        _ = try await withDeadline(
            configuration.timeout, what: "The MCP server '\(name)' (initialize)", onTimeout: { await client.disconnect() }
        ) {
            try await client.connect(transport: transport)
        }
        try await refreshTools()
        state = .ready
        logger.info("MCP server ready", metadata: ["switchyard.mcp.tools": "\(tools.count)"])
    }

    private func refreshTools() async throws {
        guard let client else { return }
        var listed: [Tool] = []
        var cursor: String?
        repeat {
            let page = try await withDeadline(
                configuration.timeout, what: "The MCP server '\(name)' (tools/list)", onTimeout: { await client.disconnect() }
            ) { [cursor] in
                try await client.listTools(cursor: cursor)
            }
            listed += page.tools
            cursor = page.nextCursor
        } while cursor != nil && listed.count < 10_000
        tools = listed
        onToolsChanged(configuration.name, listed)
    }

    private func teardown() async {
        let client = self.client
        let transport = self.transport
        self.client = nil
        self.transport = nil
        // The tool list stays: calls made while the server restarts wait for it instead of failing.
        await client?.disconnect()
        await transport?.disconnect()
    }

    private func markDead(generation dying: Int, reason: String) {
        eventSink.yield(.died(generation: dying, reason: reason))
    }
}
