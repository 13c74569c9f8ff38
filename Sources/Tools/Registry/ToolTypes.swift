import Foundation
import SwitchyardCore

/// A tool as Switchyard exposes it: under its exposed name, backed by one server's tool.
public struct ToolDescriptor: Sendable, Hashable {
    /// The name models and `/mcp` clients use (`time__get_current_time`).
    public var name: String
    /// The configured server that provides it (`time`); `switchyard` for built-in tools.
    public var server: String
    /// The tool's own name on that server (`get_current_time`).
    public var originalName: String
    public var title: String?
    public var description: String?
    /// JSON Schema of the arguments.
    public var inputSchema: JSONValue

    public init(
        name: String, server: String, originalName: String, title: String? = nil, description: String? = nil,
        inputSchema: JSONValue
    ) {
        self.name = name
        self.server = server
        self.originalName = originalName
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
    }

    /// The tool as MCP's `tools/list` describes it.
    public var mcpJSON: JSONValue {
        var object: [String: JSONValue] = ["name": .string(name), "inputSchema": inputSchema]
        if let title { object["title"] = .string(title) }
        if let description { object["description"] = .string(description) }
        return .object(object)
    }

    /// The tool as an OpenAI-style function definition.
    public var functionDefinition: ToolDefinition {
        ToolDefinition(function: .init(name: name, description: description ?? title, parameters: inputSchema))
    }
}

/// What a tool call returned.
public struct ToolResult: Sendable, Hashable {
    /// MCP content items (`[{type: text, text: …}, …]`), as the server sent them.
    public var content: [JSONValue]
    /// The tool reported a failure (`isError`), which the model should see and may act on.
    public var isError: Bool
    public var structuredContent: JSONValue?

    public init(content: [JSONValue], isError: Bool = false, structuredContent: JSONValue? = nil) {
        self.content = content
        self.isError = isError
        self.structuredContent = structuredContent
    }

    public static func text(_ text: String, isError: Bool = false) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(text)]], isError: isError)
    }

    /// Text for a model: text items joined; other items as their JSON.
    public var text: String {
        let parts = content.map { item -> String in
            if item["type"]?.stringValue == "text", let text = item["text"]?.stringValue { return text }
            return item.jsonString()
        }
        if parts.isEmpty, let structuredContent { return structuredContent.jsonString() }
        return parts.joined(separator: "\n")
    }

    /// The result as MCP's `tools/call` answers it.
    public var mcpJSON: JSONValue {
        var object: [String: JSONValue] = ["content": .array(content), "isError": .bool(isError)]
        if let structuredContent { object["structuredContent"] = structuredContent }
        return .object(object)
    }
}

/// A tool could not be called at all (unknown, not allowed, server down, timed out). Distinct from
/// a `ToolResult` with `isError`, where the tool ran and reported a failure.
public struct ToolError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownTool = "unknown_tool"
        case notAllowed = "not_allowed"
        case invalidArguments = "invalid_arguments"
        case unavailable
        case timeout
        case protocolError = "protocol_error"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
