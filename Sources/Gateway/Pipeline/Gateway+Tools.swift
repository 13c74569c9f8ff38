import Foundation
import Tracing
import Logging
import SwitchyardCore
import Tools

/// Something that happened in a streamed tool loop, in order.
public enum ToolLoopEvent: Sendable {
    /// A chunk of the model's answer, for the client.
    case chunk(ChatChunk)
    /// A tool call is about to run (`{step, id, name, arguments}`).
    case toolCall(JSONValue)
    /// A tool call finished (`{step, id, name, ok, ms, error?}`).
    case toolResult(JSONValue)
}

/// How a streamed tool loop ended: what the client is told in the final usage chunk.
public struct ToolLoopSummary: Sendable {
    public var usage: Usage
    public var costUSD: Double
    public var model: ModelSpec
    public var provider: String
    public var lastChunk: ChatChunk?
    /// The `switchyard` extension object, with `tool_calls`.
    public var extensionObject: JSONValue
}

extension Gateway {
    /// The MCP tools a chat request gets: those its `switchyard.tools` names, else those its model,
    /// group or route is configured with, limited to what the caller's key may use. `nil` when the
    /// request asks for none (it then runs as a plain completion).
    public func serverTools(for request: ChatRequest, caller: Caller) async throws -> [ToolDescriptor]? {
        let patterns: [String]
        if let value = request.switchyard?["tools"] {
            guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw SwitchyardError.invalidRequest(
                    "switchyard.tools must be a list of MCP tool names or glob patterns, e.g. [\"time__*\"].",
                    param: "switchyard.tools")
            }
            patterns = items.compactMap(\.stringValue)
        } else {
            patterns = configuration.toolPolicies[request.model] ?? []
        }
        guard !patterns.isEmpty else { return nil }
        guard let tools else {
            throw SwitchyardError.invalidRequest(
                "The request asks for MCP tools, but no MCP servers are configured (`mcp: {servers: [...]}`).",
                param: "switchyard.tools")
        }
        func matching() -> [ToolDescriptor] {
            tools.tools(matching: patterns).filter { GlobPattern.allows(caller.allowedTools, $0.name) }
        }
        var offered = matching()
        if offered.isEmpty {
            // Right after start the servers may still be connecting.
            await tools.waitUntilReady(timeout: min(configuration.mcp.callTimeout, .seconds(10)))
            offered = matching()
        }
        guard !offered.isEmpty else {
            let visible = tools.tools.filter { GlobPattern.allows(caller.allowedTools, $0.name) }.map(\.name)
            throw SwitchyardError.invalidRequest(
                "No MCP tool this key may use matches \(patterns) (available: \(visible.isEmpty ? "none" : visible.joined(separator: ", "))).",
                param: "switchyard.tools")
        }
        let clientNames = Set((request.tools ?? []).map(\.function.name))
        if let clash = offered.first(where: { clientNames.contains($0.name) }) {
            throw SwitchyardError.invalidRequest(
                "The request defines a tool named '\(clash.name)', which is also an MCP tool it asks for; rename one.",
                param: "tools")
        }
        return offered
    }

    /// The server-side tool loop for a non-streamed request: the model sees the MCP tools, its
    /// calls run (in parallel), their results go back, until it answers or `max_steps` is reached.
    /// Calls to tools the client defined end the loop and go back to the client as usual.
    func completeWithTools(_ request: ChatRequest, offered: [ToolDescriptor], context: CallContext) async throws
        -> CompletionOutcome
    {
        // Ground once for the whole loop: every turn answers the same question from the same context.
        let (grounded, grounding) = try await ground(request, context: context)
        var conversation = Self.loopRequest(grounded, offered: offered, grounded: grounding != nil)
        let names = Set(offered.map(\.name))
        var loop = LoopState()
        while true {
            loop.step += 1
            if loop.step >= configuration.mcp.maxSteps { conversation.toolChoice = ToolChoice.none }
            var outcome = try await complete(conversation, context: context)
            loop.add(outcome.response.usage, cost: outcome.costUSD)
            let calls = outcome.response.message?.toolCalls ?? []
            if calls.isEmpty || !calls.allSatisfy({ names.contains($0.function.name) }) || loop.step >= configuration.mcp.maxSteps {
                outcome.response.usage = loop.usage
                outcome.costUSD = loop.cost
                outcome.response.switchyard = Self.addCitations(grounding, to: Self.withToolTrace(outcome.response.switchyard, loop: loop))
                recordLoop(
                    request, context: context, stream: false, loop: loop, model: outcome.model, provider: outcome.provider,
                    trace: outcome.trace, grounding: grounding, prompt: outcome.prompt)
                return outcome
            }
            conversation.messages.append(ChatMessage(role: .assistant, content: outcome.response.message?.content, toolCalls: calls))
            let results = await runToolCalls(calls, step: loop.step, context: context, events: nil)
            conversation.messages += results.map(\.message)
            loop.trace += results.map(\.trace)
        }
    }

    /// The tool loop for a streamed request. Every model turn streams; text is passed on as it
    /// arrives, tool-call chunks are held back, and the loop's steps are reported through `emit`
    /// as they happen. Errors before anything was emitted are thrown; later ones too (the caller
    /// ends the stream with an error event).
    public func streamWithTools(
        _ request: ChatRequest, offered: [ToolDescriptor], context: CallContext,
        emit: @escaping @Sendable (ToolLoopEvent) async throws -> Void
    ) async throws -> ToolLoopSummary {
        let (request, assigned) = assignVariant(request, context: context)
        let context = try await admit(request, context: assigned)
        // Ground once for the whole loop: every turn answers the same question from the same context.
        let (grounded, grounding) = try await ground(request, context: context)
        var conversation = Self.loopRequest(grounded, offered: offered, grounded: grounding != nil)
        let names = Set(offered.map(\.name))
        var loop = LoopState()
        while true {
            loop.step += 1
            if loop.step >= configuration.mcp.maxSteps { conversation.toolChoice = ToolChoice.none }
            let outcome = try await stream(conversation, context: context)
            var accounting = outcome.accounting
            var answer = ChatStreamAccumulator()
            var held: [ChatChunk] = []
            var lastChunk: ChatChunk?
            do {
                for try await chunk in outcome.chunks {
                    accounting.observe(chunk)
                    answer.add(chunk)
                    lastChunk = chunk
                    if chunk.usage != nil, chunk.choices.isEmpty { continue }
                    var visible = chunk
                    visible.usage = nil
                    let holds = chunk.choices.contains { !($0.delta.toolCalls ?? []).isEmpty || $0.finishReason == .toolCalls }
                    if holds { held.append(visible) } else { try await emit(.chunk(visible)) }
                }
            } catch {
                finish(accounting, error: error)
                throw error
            }
            let (usage, cost) = finish(accounting)
            loop.add(usage, cost: cost)
            let calls = answer.toolCalls
            if calls.isEmpty || !calls.allSatisfy({ names.contains($0.function.name) }) || loop.step >= configuration.mcp.maxSteps {
                for chunk in held { try await emit(.chunk(chunk)) }
                let object = Self.extensionObject(
                    context: context, model: outcome.model, provider: outcome.provider, cost: loop.cost, usage: loop.usage,
                    trace: outcome.trace)
                recordLoop(
                    request, context: context, stream: true, loop: loop, model: outcome.model, provider: outcome.provider,
                    trace: outcome.trace, grounding: grounding, prompt: outcome.accounting.record.prompt)
                return ToolLoopSummary(
                    usage: loop.usage, costUSD: loop.cost, model: outcome.model, provider: outcome.provider, lastChunk: lastChunk,
                    extensionObject: Self.addCitations(grounding, to: Self.withToolTrace(object, loop: loop)) ?? [:])
            }
            let text = answer.text
            conversation.messages.append(ChatMessage(role: .assistant, content: text.isEmpty ? nil : .text(text), toolCalls: calls))
            let results = await runToolCalls(calls, step: loop.step, context: context, events: emit)
            conversation.messages += results.map(\.message)
            loop.trace += results.map(\.trace)
        }
    }

    // MARK: Steps

    struct LoopState {
        var step = 0
        var usage = Usage(promptTokens: 0, completionTokens: 0)
        var cost = 0.0
        var trace: [JSONValue] = []

        mutating func add(_ usage: Usage?, cost: Double) {
            guard let usage else { return }
            self.usage.promptTokens += usage.promptTokens
            self.usage.completionTokens += usage.completionTokens
            self.usage.cachedTokens += usage.cachedTokens
            self.usage.cacheWriteTokens += usage.cacheWriteTokens
            self.usage.estimated = self.usage.estimated || usage.estimated
            self.cost += cost
        }
    }

    struct ToolCallOutcome: Sendable {
        var message: ChatMessage
        var trace: JSONValue
    }

    /// The request each model turn gets: the MCP tools added to the client's, and `switchyard.tools`
    /// emptied so that the turn itself runs as a plain completion; when the loop grounded the request
    /// already, `switchyard.retrieval` is off so that no turn searches again.
    static func loopRequest(_ request: ChatRequest, offered: [ToolDescriptor], grounded: Bool) -> ChatRequest {
        var conversation = request
        conversation.tools = (request.tools ?? []) + offered.map(\.functionDefinition)
        var options = request.switchyard?.objectValue ?? [:]
        options["tools"] = .array([])
        if grounded { options["retrieval"] = .bool(false) }
        conversation.switchyard = .object(options)
        return conversation
    }

    /// Runs one turn's tool calls in parallel; results come back in the calls' order. A call that
    /// fails, times out or returns an error becomes a tool message saying so, for the model.
    func runToolCalls(
        _ calls: [ToolCall], step: Int, context: CallContext, events: (@Sendable (ToolLoopEvent) async throws -> Void)?
    ) async -> [ToolCallOutcome] {
        guard let tools else { return [] }
        let limit = configuration.mcp.maxResultBytes
        let timeout = configuration.mcp.callTimeout
        let logger = context.logger
        return await withTaskGroup(of: (Int, ToolCallOutcome).self) { group in
            for (index, call) in calls.enumerated() {
                group.addTask {
                    var trace: [String: JSONValue] = [
                        "step": .int(Int64(step)), "id": .string(call.id), "name": .string(call.function.name),
                        "arguments": .string(String(call.function.arguments.prefix(2000))),
                    ]
                    try? await events?(.toolCall(.object(trace)))
                    let started = ContinuousClock.now
                    var content: String
                    do {
                        let arguments = call.function.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
                        guard let parsed = arguments.isEmpty ? JSONValue.object([:]) : JSONValue.parse(arguments) else {
                            throw ToolError(.invalidArguments, "The arguments are not valid JSON: \(arguments.prefix(200))")
                        }
                        let result = try await withSpan("execute_tool \(call.function.name.prefix(64))") { span in
                            span.attributes["gen_ai.operation.name"] = "execute_tool"
                            span.attributes["gen_ai.tool.name"] = call.function.name
                            span.attributes["gen_ai.tool.call.id"] = call.id
                            return try await tools.call(call.function.name, arguments: parsed, timeout: timeout)
                        }
                        content = result.isError ? "Tool error: " + result.text : result.text
                        trace["ok"] = .bool(!result.isError)
                        if result.isError { trace["error"] = .string(String(result.text.prefix(500))) }
                    } catch {
                        let message = (error as? ToolError)?.message ?? "\(error)"
                        content = "Tool error: " + message
                        trace["ok"] = false
                        trace["error"] = .string(message)
                        if let failure = error as? ToolError, failure.code == .timeout { trace["timeout"] = true }
                        logger.info("MCP tool call failed", metadata: ["switchyard.tool": .string(call.function.name), "switchyard.error": .string(message)])
                    }
                    if content.utf8.count > limit {
                        let total = content.utf8.count
                        content = String(decoding: content.utf8.prefix(limit), as: UTF8.self)
                            + "\n[truncated by Switchyard: \(total) bytes in all, \(limit) shown]"
                        trace["truncated"] = true
                    }
                    trace["ms"] = .double((milliseconds(since: started) * 10).rounded() / 10)
                    try? await events?(.toolResult(.object(trace)))
                    let message = ChatMessage(role: .tool, content: .text(content), toolCallID: call.id)
                    return (index, ToolCallOutcome(message: message, trace: .object(trace)))
                }
            }
            var outcomes: [(Int, ToolCallOutcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func withToolTrace(_ object: JSONValue?, loop: LoopState) -> JSONValue {
        var fields = object?.objectValue ?? [:]
        fields["tool_calls"] = .array(loop.trace)
        fields["tool_steps"] = .int(Int64(loop.step))
        fields["cost_usd"] = .double(loop.cost)
        return .object(fields)
    }

    /// One log line for the whole loop, under the request's id. Each model turn logged its own line
    /// under the same id as it finished; this one is queued last, so it replaces them (the store
    /// writes in queue order with INSERT OR REPLACE) and the log holds the totals and the trace.
    func recordLoop(
        _ request: ChatRequest, context: CallContext, stream: Bool, loop: LoopState, model: ModelSpec, provider: String,
        trace: RouteTrace, grounding: Grounding?, prompt: String?
    ) {
        // Arguments can hold what users typed; the log keeps them only when redaction is off.
        let logged = loop.trace.map { call -> JSONValue in
            guard configuration.mcp.redactArguments, var fields = call.objectValue else { return call }
            fields["arguments"] = "[redacted]"
            return .object(fields)
        }
        var record = RequestRecord(
            id: context.requestID, createdAt: context.receivedAt, caller: context.caller.name,
            clientProtocol: context.clientProtocol.rawValue, endpoint: "chat", model: request.model, provider: provider,
            upstreamModel: model.upstream, stream: stream, route: trace, toolCalls: .array(logged))
        record.retrieval = grounding?.trace
        record.ledger(context.caller, user: request.user)
        record.mark(context)
        record.prompt = prompt
        record.servedModel = model.name
        record.fill(usage: loop.usage, cost: loop.cost)
        record.latencyMs = context.elapsedMilliseconds
        requestLog.record(record)
    }
}
