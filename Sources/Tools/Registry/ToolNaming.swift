import Foundation
import MCP
import SwitchyardCore

/// Exposed names for the tools of every server: `<server>__<tool>` by default, bare names where a
/// server asks for them and nothing collides, aliases as configured. The order is deterministic:
/// servers in configuration order, each server's tools by name.
public enum ToolNaming {
    public struct Listed: Sendable {
        public var server: MCPConfiguration.Server
        public var tools: [ToolDescriptor]

        public init(server: MCPConfiguration.Server, tools: [ToolDescriptor]) {
            self.server = server
            self.tools = tools
        }
    }

    /// Names every tool. `tools` of each entry carry their original names (`name == originalName`).
    /// Returns the exposed tools and notes about tools left out because their name was taken.
    public static func expose(_ listed: [Listed]) -> (tools: [ToolDescriptor], notes: [String]) {
        var bareCounts: [String: Int] = [:]
        for entry in listed {
            for tool in Set(entry.tools.map(\.originalName)) where entry.server.aliases[tool] == nil {
                bareCounts[tool, default: 0] += 1
            }
        }
        var taken: Set<String> = []
        var exposed: [ToolDescriptor] = []
        var notes: [String] = []
        for entry in listed {
            let server = entry.server
            for tool in entry.tools.sorted(by: { $0.originalName < $1.originalName }) {
                let original = tool.originalName
                let prefixed = server.name + MCPConfiguration.separator + original
                var candidates: [String]
                if let alias = server.aliases[original] {
                    candidates = [alias]
                } else {
                    switch server.prefix {
                    case .always: candidates = [prefixed]
                    case .onCollision: candidates = (bareCounts[original] ?? 0) > 1 ? [prefixed] : [original, prefixed]
                    case .never: candidates = [original]
                    }
                }
                guard let name = candidates.first(where: { !taken.contains($0) }) else {
                    notes.append("tool '\(original)' of MCP server '\(server.name)' is left out: the name '\(candidates[0])' is taken")
                    continue
                }
                taken.insert(name)
                var descriptor = tool
                descriptor.name = name
                descriptor.server = server.name
                exposed.append(descriptor)
            }
        }
        return (exposed, notes)
    }

    /// The descriptor of an SDK tool, under its original name.
    static func descriptor(_ tool: Tool, server: String) -> ToolDescriptor {
        var schema = ValueBridge.json(tool.inputSchema)
        if schema.objectValue == nil { schema = ["type": "object", "properties": [:]] }
        return ToolDescriptor(
            name: tool.name, server: server, originalName: tool.name, title: tool.title, description: tool.description,
            inputSchema: schema)
    }
}
