import Tools

/// Tool types the HTTP edge names (`/mcp`, the streamed tool loop): the surface is the Gateway's,
/// not the `Tools` module's.
public typealias ToolDescriptor = Tools.ToolDescriptor
public typealias ToolError = Tools.ToolError
public typealias ToolResult = Tools.ToolResult
