import Foundation
import SwitchyardCore

/// The `mcp:` section: the tool servers Switchyard connects to and how their tools are offered.
public struct MCPConfiguration: Sendable {
    /// How a server's tools are named when exposed.
    public enum PrefixMode: String, Sendable, CaseIterable {
        /// `<server>__<tool>`, always (the default).
        case always
        /// The bare tool name, unless another server has a tool of that name.
        case onCollision = "on-collision"
        /// The bare tool name; on a collision the server listed first keeps it.
        case never
    }

    public enum Transport: Sendable, Hashable {
        /// A process Switchyard spawns and supervises, speaking JSON-RPC over stdin/stdout.
        case stdio(command: String, arguments: [String], environment: [String: String], workingDirectory: String?)
        /// A Streamable HTTP endpoint.
        case http(url: String, headers: [String: String])
    }

    /// Which MCP era to speak with a server.
    public enum ProtocolMode: String, Sendable, CaseIterable {
        /// Probe `server/discover` (the stateless revision 2026-07-28); fall back to the
        /// `initialize` handshake when the server does not answer it (the default).
        case auto
        /// Only the stateless revision.
        case stateless
        /// Only the handshake revisions (2025-11-25 and earlier): no probe.
        case legacy
    }

    public struct Server: Sendable {
        public var name: String
        public var transport: Transport
        /// Per-request deadline for this server (initialize, list, call), unless the caller's is shorter.
        public var timeout: Duration
        public var prefix: PrefixMode
        /// Exposed names for some of the server's tools: `{original: exposed}`.
        public var aliases: [String: String]
        public var protocolMode: ProtocolMode = .auto

        public init(
            name: String, transport: Transport, timeout: Duration = .seconds(30), prefix: PrefixMode = .always,
            aliases: [String: String] = [:]
        ) {
            self.name = name
            self.transport = transport
            self.timeout = timeout
            self.prefix = prefix
            self.aliases = aliases
        }
    }

    public var servers: [Server] = []
    /// Largest number of model turns in one server-side tool loop.
    public var maxSteps = 8
    /// Deadline of one tool call inside the loop.
    public var callTimeout: Duration = .seconds(30)
    /// Tool results longer than this (UTF-8 bytes) are cut before the model sees them.
    public var maxResultBytes = 16 * 1024
    /// Audit lines of `/mcp` calls hold arguments only when this is false.
    public var redactArguments = true
    /// Origins (besides loopback ones) that may call `/mcp` from a browser.
    public var allowedOrigins: [String] = []
    /// First delay before restarting a server that died; doubles up to `maxRestartDelay`.
    public var restartDelay: Duration = .milliseconds(200)
    public var maxRestartDelay: Duration = .seconds(10)

    public init() {}

    /// The separator between server and tool in exposed names.
    public static let separator = "__"
}
