import Foundation
import Tracing
import Logging
import Retrieval
import SwitchyardCore
import Tools

/// The tools Switchyard serves over MCP (`/mcp`, `switchyard tools`): every connected server's,
/// plus its own `chat` and `search_collection`, each filtered by the caller's key and every call audit-logged.
extension Gateway {
    /// The name of the built-in completion tool.
    public static let chatToolName = "chat"
    /// The name of the built-in retrieval tool.
    public static let searchToolName = "search_collection"

    /// The tools a caller may see, in a stable order: Switchyard's own first, then its workflows, then each server's.
    public func servedTools(for caller: Caller) -> [ToolDescriptor] {
        let builtIn = [chatTool(for: caller), searchTool()] + workflowTools(for: caller)
        return (builtIn + (tools?.tools ?? [])).filter { GlobPattern.allows(caller.allowedTools, $0.name) }
    }

    /// Calls a served tool for a caller. A tool the key may not use is refused exactly like an
    /// unknown one would be, but with its own code; the call is audit-logged either way, with its
    /// arguments redacted unless `mcp.redact_arguments` is off.
    /// `meta` goes to an MCP server's tool as the request's `_meta` (a workflow step's idempotency key).
    public func callServedTool(
        _ name: String, arguments: JSONValue?, context: CallContext, meta: [String: JSONValue]? = nil
    ) async throws -> ToolResult {
        var entry: [String: JSONValue] = [
            "name": .string(name),
            "arguments": configuration.mcp.redactArguments ? "[redacted]" : .string((arguments ?? .null).jsonString()),
        ]
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name, clientProtocol: "mcp",
            endpoint: "mcp", model: name,
            provider: Self.builtInTools.contains(name) || workflowName(ofTool: name) != nil ? "switchyard" : tools?.tool(named: name)?.server)
        record.ledger(context.caller, user: nil)
        do {
            let result = try await withSpan("execute_tool \(name.prefix(64))") { span in
                span.attributes["gen_ai.operation.name"] = "execute_tool"
                span.attributes["gen_ai.tool.name"] = name
                span.attributes["switchyard.request_id"] = context.requestID
                return try await runServedTool(name, arguments: arguments, context: context, meta: meta)
            }
            entry["ok"] = .bool(!result.isError)
            if result.isError { record.error = String(result.text.prefix(500)) }
            entry["ms"] = .double(context.elapsedMilliseconds.rounded())
            record.toolCalls = [.object(entry)]
            record.latencyMs = context.elapsedMilliseconds
            requestLog.record(record)
            return result
        } catch {
            let failure = error as? ToolError
            entry["ok"] = false
            entry["error"] = .string(failure?.message ?? "\(error)")
            record.toolCalls = [.object(entry)]
            record.status = switch failure?.code {
            case .notAllowed: 403
            case .unknownTool: 404
            case .invalidArguments: 400
            case .timeout: 504
            default: 502
            }
            record.error = failure?.message ?? "\(error)"
            record.latencyMs = context.elapsedMilliseconds
            requestLog.record(record)
            throw error
        }
    }

    private func runServedTool(_ name: String, arguments: JSONValue?, context: CallContext, meta: [String: JSONValue]?) async throws -> ToolResult {
        let known = Self.builtInTools.contains(name) || tools?.tool(named: name) != nil || workflowName(ofTool: name) != nil
        guard GlobPattern.allows(context.caller.allowedTools, name) else {
            throw ToolError(.notAllowed, "The tool '\(name)' is not allowed for this key.")
        }
        guard known else { throw ToolError(.unknownTool, "There is no tool named '\(name)'.") }
        if name == Self.chatToolName { return try await chatToolCall(arguments, context: context) }
        if name == Self.searchToolName { return try await searchToolCall(arguments, context: context) }
        if let workflow = workflowName(ofTool: name) { return try await workflowToolCall(workflow, arguments: arguments, context: context) }
        return try await tools!.call(name, arguments: arguments, meta: meta)
    }

    private func chatTool(for caller: Caller) -> ToolDescriptor {
        let names = availableRoutes(for: caller).map(\.name) + availableGroups(for: caller).map(\.name)
            + availableModels(for: caller).filter { $0.kind == .chat }.map(\.name)
        return ToolDescriptor(
            name: Self.chatToolName, server: "switchyard", originalName: Self.chatToolName, title: "Chat completion",
            description: "Asks a model, group or route configured in Switchyard and returns its answer.",
            inputSchema: [
                "type": "object",
                "properties": [
                    "model": ["type": "string", "description": "A model, group or route name.", "enum": .array(names.map { .string($0) })],
                    "prompt": ["type": "string", "description": "The user message."],
                    "system": ["type": "string", "description": "An optional system message."],
                    "max_tokens": ["type": "integer", "minimum": 1],
                ],
                "required": ["model", "prompt"],
            ])
    }

    private func chatToolCall(_ arguments: JSONValue?, context: CallContext) async throws -> ToolResult {
        guard let model = arguments?["model"]?.stringValue, let prompt = arguments?["prompt"]?.stringValue else {
            throw ToolError(.invalidArguments, "The chat tool needs `model` and `prompt` (strings).")
        }
        var messages: [ChatMessage] = []
        if let system = arguments?["system"]?.stringValue { messages.append(.system(system)) }
        messages.append(.user(prompt))
        var maxTokens: Int?
        if let value = arguments?["max_tokens"], value != .null {
            do {
                maxTokens = try value.integer("max_tokens", in: ChatRequest.outputTokenRange)
            } catch let error as SwitchyardError {
                throw ToolError(.invalidArguments, error.message)
            }
        }
        let request = ChatRequest(model: model, messages: messages, maxTokens: maxTokens)
        // The completion gets its own request id and log line; the audit line stays the call's.
        let inner = CallContext(caller: context.caller, clientProtocol: context.clientProtocol, logger: logger)
        do {
            let outcome = try await complete(request, context: inner)
            return ToolResult(
                content: [["type": "text", "text": .string(outcome.response.message?.text ?? "")]],
                structuredContent: [
                    "model": .string(outcome.model.name), "provider": .string(outcome.provider),
                    "cost_usd": .double(outcome.costUSD), "request_id": .string(inner.requestID),
                ])
        } catch let error as SwitchyardError {
            // Bad model names and upstream failures are the tool's errors, for the caller to read.
            return .text(error.message, isError: true)
        }
    }

    static let builtInTools: Set<String> = [chatToolName, searchToolName]

    private func searchTool() -> ToolDescriptor {
        let names = collections.listCollections().map(\.name)
        return ToolDescriptor(
            name: Self.searchToolName, server: "switchyard", originalName: Self.searchToolName, title: "Search a collection",
            description: "Finds the passages of a Switchyard document collection that best match a query (hybrid vector + keyword search, limited to the documents this key may read).",
            inputSchema: [
                "type": "object",
                "properties": [
                    "collection": names.isEmpty
                        ? ["type": "string", "description": "The collection to search (none exist yet)."]
                        : ["type": "string", "description": "The collection to search.", "enum": .array(names.map { .string($0) })],
                    "query": ["type": "string", "description": "What to look for."],
                    "top_k": ["type": "integer", "minimum": 1, "maximum": 100],
                    "mode": ["type": "string", "enum": ["hybrid", "dense", "bm25"]],
                    "filter": ["type": "object", "description": "Metadata filter: equality, {\"in\": [...]}, {\"gte\": ...}."],
                    "rerank": ["type": "boolean", "description": "Rerank the fused candidates (default: the collection's setting)."],
                ],
                "required": ["collection", "query"],
            ])
    }

    /// Searches under the caller's access scope: a key sees over MCP exactly what the collections API shows it.
    private func searchToolCall(_ arguments: JSONValue?, context: CallContext) async throws -> ToolResult {
        guard let collection = arguments?["collection"]?.stringValue, var object = arguments?.objectValue else {
            throw ToolError(.invalidArguments, "The search_collection tool needs `collection` and `query` (strings).")
        }
        object["collection"] = nil
        let options: SearchOptions
        do {
            options = try SearchOptions.parse(.object(object))
        } catch let error as SwitchyardError {
            throw ToolError(.invalidArguments, error.message)
        }
        do {
            let results = try await collections.search(options, in: collection, access: accessScope(for: context.caller))
            let text: String = results.enumerated().map { index, result -> String in
                let hit = result.hit
                let heading = [hit.title, hit.source].compactMap { $0 }.joined(separator: " — ")
                let score: String = String(format: "%.3f", Double(hit.score))
                let label: String = heading.isEmpty ? hit.documentID : heading
                return "[\(index + 1)] \(label) (score \(score))\n\(hit.text)"
            }.joined(separator: "\n\n")
            return ToolResult(
                content: [["type": "text", "text": .string(text.isEmpty ? "No passages matched." : text)]],
                structuredContent: [
                    "results": .array(results.map { result in
                        [
                            "document_id": .string(result.hit.documentID), "chunk_id": .string(String(result.hit.chunkID)),
                            "score": .double(Double(result.hit.score)), "text": .string(result.hit.text),
                            "metadata": .object(result.metadata),
                        ]
                    })
                ])
        } catch let error as SwitchyardError {
            return .text(error.message, isError: true)
        }
    }
}
