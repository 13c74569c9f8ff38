import AsyncHTTPClient
import Foundation
import Logging
import MCP
import SwitchyardCore

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
    /// Set instead of `client` when the server speaks the stateless revision (2026-07-28).
    private var stateless: StatelessMCPSession?
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
    func call(_ tool: String, arguments: [String: Value]?, timeout: Duration, meta: [String: JSONValue]? = nil) async throws -> ToolResult {
        let session = try await readySession(within: min(timeout, configuration.timeout))
        let current = generation
        let client: Client
        switch session {
        case .legacy(let legacy): client = legacy
        case .stateless(let stateless):
            return try await callStateless(stateless, tool, arguments: arguments, timeout: timeout, generation: current, meta: meta)
        }
        let context: RequestContext<CallTool.Result>
        do {
            context = try await client.callTool(name: tool, arguments: arguments, meta: meta.map { Metadata(additionalFields: $0.mapValues(ValueBridge.value)) })
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

    enum Session {
        case legacy(Client)
        case stateless(StatelessMCPSession)
    }

    /// A tool call in the stateless revision: one request, its `_meta` naming the version.
    private func callStateless(
        _ session: StatelessMCPSession, _ tool: String, arguments: [String: Value]?, timeout: Duration, generation current: Int,
        meta: [String: JSONValue]?
    ) async throws -> ToolResult {
        var params: [String: JSONValue] = ["name": .string(tool)]
        if let meta { params["_meta"] = .object(meta) }
        if let arguments { params["arguments"] = ValueBridge.json(arguments) }
        let limit = min(timeout, configuration.timeout)
        do {
            let result = try await session.request("tools/call", params: params, timeout: limit)
            return ToolResult(
                content: result["content"]?.arrayValue ?? [], isError: result["isError"]?.boolValue ?? false,
                structuredContent: result["structuredContent"])
        } catch let error as ToolError {
            switch error.code {
            case .timeout:
                throw ToolError(.timeout, "The tool '\(tool)' on MCP server '\(name)' did not answer within \(limit.milliseconds) ms.")
            case .protocolError:
                throw ToolError(.protocolError, "The MCP server '\(name)' refused the call to '\(tool)': \(error.message)")
            default:
                markDead(generation: current, reason: error.message)
                throw ToolError(.unavailable, "The MCP server '\(name)' failed during the call to '\(tool)': \(error.message)")
            }
        }
    }

    /// Waits (polling) until the server is ready, for at most `timeout`.
    func readySession(within timeout: Duration) async throws -> Session {
        let deadline = ContinuousClock.now + timeout
        while true {
            if state == .ready, let stateless { return .stateless(stateless) }
            if state == .ready, let client { return .legacy(client) }
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

    /// A transport for this server. A probe's process ending is no news (it is stopped on purpose
    /// when the server turns out to need the handshake), so only a real connection reports exits.
    private func makeTransport(generation current: Int, reportsExit: Bool = true) -> any Transport {
        let sink = eventSink
        switch configuration.transport {
        case .stdio(let command, let arguments, let environment, let workingDirectory):
            return ProcessTransport(
                command: command, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
                logger: logger,
                onExit: { status in
                    if reportsExit { sink.yield(.died(generation: current, reason: "process exited with status \(status)")) }
                })
        case .http(let url, let headers):
            return StreamableHTTPTransport(url: url, headers: headers, httpClient: httpClient, timeout: configuration.timeout, logger: logger)
        }
    }

    /// Asks the server for `server/discover` in the stateless revision; the session when the server
    /// lists that revision, nil when it does not answer it (a handshake-era server).
    private func probeStateless(generation current: Int) async throws -> (StatelessMCPSession, any Transport)? {
        let transport = makeTransport(generation: current, reportsExit: false)
        let session = StatelessMCPSession(transport: transport, logger: logger)
        var probeLimit = configuration.timeout
        if case .stdio = configuration.transport { probeLimit = min(probeLimit, .seconds(5)) }
        do {
            try await withDeadline(configuration.timeout, what: "The MCP server '\(name)' (start)", onTimeout: { await transport.disconnect() }) {
                try await transport.connect()
            }
            await session.start()
            if let http = transport as? StreamableHTTPTransport { await http.useStatelessRevision(StatelessMCPSession.version) }
            let discovered = try await session.request("server/discover", timeout: probeLimit)
            if discovered["supportedVersions"]?.arrayValue?.contains(.string(StatelessMCPSession.version)) == true {
                return (session, transport)
            }
        } catch {
            logger.debug("server/discover not answered; using the initialize handshake", metadata: ["switchyard.mcp.error": "\(error)"])
        }
        await session.stop()
        await transport.disconnect()
        return nil
    }

    private func connect() async throws {
        generation += 1
        let current = generation
        state = .starting
        let sink = eventSink
        if configuration.protocolMode != .legacy {
            if let (session, transport) = try await probeStateless(generation: current) {
                // From now on the probe's process is the server: its exit is news again.
                if let process = transport as? ProcessTransport {
                    await process.setOnExit { status in sink.yield(.died(generation: current, reason: "process exited with status \(status)")) }
                }
                self.transport = transport
                self.stateless = session
                try await refreshTools()
                state = .ready
                logger.info("MCP server ready", metadata: ["switchyard.mcp.tools": "\(tools.count)", "switchyard.mcp.revision": "2026-07-28"])
                return
            }
            if configuration.protocolMode == .stateless {
                throw ToolError(.unavailable, "The MCP server '\(name)' does not answer server/discover in the stateless revision 2026-07-28.")
            }
        }
        let transport = makeTransport(generation: current)
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
        if let stateless {
            var listed: [Tool] = []
            var cursor: String?
            repeat {
                var params: [String: JSONValue] = [:]
                if let cursor { params["cursor"] = .string(cursor) }
                let page = try await stateless.request("tools/list", params: params, timeout: configuration.timeout)
                let data = Data((page["tools"] ?? []).jsonString().utf8)
                listed += (try? JSONDecoder().decode([Tool].self, from: data)) ?? []
                cursor = page["nextCursor"]?.stringValue
            } while cursor != nil && listed.count < 10_000
            tools = listed
            onToolsChanged(configuration.name, listed)
            return
        }
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
        let stateless = self.stateless
        self.client = nil
        self.stateless = nil
        self.transport = nil
        await stateless?.stop()
        // The tool list stays: calls made while the server restarts wait for it instead of failing.
        await client?.disconnect()
        await transport?.disconnect()
    }

    private func markDead(generation dying: Int, reason: String) {
        eventSink.yield(.died(generation: dying, reason: reason))
    }
}
