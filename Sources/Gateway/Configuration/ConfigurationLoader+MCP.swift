import Foundation
import SwitchyardCore
import Tools

extension ConfigurationLoader {
    /// `mcp: {servers: [...], max_steps, call_timeout_ms, max_result_bytes, redact_arguments, allowed_origins}`
    /// and the `tools:` lists of models, groups and routes.
    static func parseMCP(_ reader: ConfigNode, into configuration: inout SwitchyardConfiguration) throws {
        if let mcp = reader["mcp"] {
            try mcp.allowOnly([
                "servers", "max_steps", "call_timeout_ms", "max_result_bytes", "redact_arguments", "allowed_origins",
                "restart_delay_ms", "max_restart_delay_ms",
            ])
            var parsed = MCPConfiguration()
            var names: Set<String> = []
            for node in try mcp["servers"]?.list() ?? [] {
                let server = try parseMCPServer(node)
                guard names.insert(server.name).inserted else {
                    throw node["name"]!.error("the MCP server name '\(server.name)' is used twice; names must be unique")
                }
                parsed.servers.append(server)
            }
            if let steps = try mcp["max_steps"]?.int(in: 1...1000) { parsed.maxSteps = steps }
            if let timeout = try mcp["call_timeout_ms"]?.int(in: 1...Limits.day) { parsed.callTimeout = .milliseconds(timeout) }
            if let bytes = try mcp["max_result_bytes"]?.int(in: 64...(64 * 1024 * 1024)) { parsed.maxResultBytes = bytes }
            if let redact = mcp["redact_arguments"] {
                guard let value = redact.node.bool else { throw redact.error("must be true or false") }
                parsed.redactArguments = value
            }
            parsed.allowedOrigins = try mcp["allowed_origins"]?.strings() ?? []
            if let delay = try mcp["restart_delay_ms"]?.int(in: 1...Limits.hour) { parsed.restartDelay = .milliseconds(delay) }
            if let delay = try mcp["max_restart_delay_ms"]?.int(in: 1...Limits.hour) { parsed.maxRestartDelay = .milliseconds(delay) }
            configuration.mcp = parsed
        }
        for section in ["models", "groups", "routes"] {
            for node in try reader[section]?.list() ?? [] {
                guard let tools = node["tools"] else { continue }
                let name = try node.required("name").string()
                let patterns = try tools.strings()
                guard !configuration.mcp.servers.isEmpty || patterns.isEmpty else {
                    throw tools.error("names MCP tools, but no MCP servers are configured (add `mcp: {servers: [...]}`)")
                }
                configuration.toolPolicies[name] = patterns
            }
        }
    }

    static func parseMCPServer(_ node: ConfigNode) throws -> MCPConfiguration.Server {
        try node.allowOnly(["name", "command", "args", "env", "cwd", "url", "headers", "timeout_ms", "prefix", "aliases", "protocol"])
        let name = try node.required("name").string()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.contains("__") else {
            throw node["name"]!.error("'\(name)' is not a usable server name: use letters, digits, '-' and single '_'")
        }
        let transport: MCPConfiguration.Transport
        switch (node["command"], node["url"]) {
        case (let command?, nil):
            for field in ["headers"] where node[field] != nil {
                throw node[field]!.error("`\(field)` is for HTTP servers (`url:`), not for `command:` servers")
            }
            transport = .stdio(
                command: try command.string(), arguments: try node["args"]?.strings() ?? [],
                environment: try node["env"]?.stringMap() ?? [:], workingDirectory: try node["cwd"]?.string())
        case (nil, let url?):
            for field in ["args", "env", "cwd"] where node[field] != nil {
                throw node[field]!.error("`\(field)` is for stdio servers (`command:`), not for `url:` servers")
            }
            let address = try url.string()
            guard let parsed = URL(string: address), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw url.error("'\(address)' is not an http(s) URL")
            }
            transport = .http(url: address, headers: try node["headers"]?.stringMap() ?? [:])
        case (.some, .some):
            throw node.error("MCP server '\(name)' has both `command:` and `url:`; give one")
        case (nil, nil):
            throw node.error("MCP server '\(name)' needs `command:` (stdio) or `url:` (Streamable HTTP)")
        }
        var server = MCPConfiguration.Server(name: name, transport: transport)
        if let timeout = try node["timeout_ms"]?.int(in: 1...Limits.day) { server.timeout = .milliseconds(timeout) }
        if let mode = node["protocol"] {
            let text = try mode.string()
            guard let value = MCPConfiguration.ProtocolMode(rawValue: text) else {
                throw mode.error("unknown protocol '\(text)'; use auto (probe server/discover, else initialize), stateless or legacy")
            }
            server.protocolMode = value
        }
        if let prefix = node["prefix"] {
            let text = try prefix.string()
            guard let mode = MCPConfiguration.PrefixMode(rawValue: text) else {
                throw prefix.error(
                    "unknown prefix mode '\(text)'; use \(MCPConfiguration.PrefixMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            server.prefix = mode
        }
        server.aliases = try node["aliases"]?.stringMap() ?? [:]
        return server
    }
}
