import Foundation
import SwitchyardCore

/// One chat call an eval makes: the Switchyard name to ask (a model, group, route or workflow) and
/// the request's parts, as the OpenAI wire format spells them.
public struct EvalCall: Sendable, Hashable {
    /// A Switchyard model, group, route or workflow name (promptfoo's `openai:chat:NAME` is already mapped to `NAME`).
    public var model: String
    /// OpenAI chat messages (`{"role", "content", …}`).
    public var messages: [JSONValue]
    /// Request parameters besides `model` and `messages` (`temperature`, `max_tokens`, `tools`, `response_format`, …).
    public var parameters: [String: JSONValue]

    public init(model: String, messages: [JSONValue], parameters: [String: JSONValue] = [:]) {
        self.model = model
        self.messages = messages
        self.parameters = parameters
    }

    /// The request body this call stands for (what `--url` posts to `/v1/chat/completions`).
    public var body: JSONValue {
        var object = parameters
        object["model"] = .string(model)
        object["messages"] = .array(messages)
        return .object(object)
    }

    /// The text of the last user message (what a router or a judge looks at).
    public var lastUserText: String {
        guard let last = messages.last(where: { $0["role"]?.stringValue == "user" }) else { return "" }
        return EvalCall.text(of: last["content"])
    }

    static func text(of content: JSONValue?) -> String {
        if let text = content?.stringValue { return text }
        return (content?.arrayValue ?? []).compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
    }
}

/// What an eval call got back.
public struct EvalResponse: Sendable, Hashable, Codable {
    /// The answer's text (empty when the model only called tools).
    public var output: String
    /// The OpenAI `tool_calls` array when the model called tools.
    public var toolCalls: JSONValue?
    public var finishReason: String?
    public var costUSD: Double
    /// Wall time of the call that produced the answer (for a cached answer: the original call's).
    public var latencyMs: Double
    public var promptTokens: Int
    public var completionTokens: Int
    /// The configured model that answered (a route's or group's choice), when known.
    public var servedModel: String?
    /// The gateway's request id (for feedback and `explain`).
    public var requestID: String?
    /// `EXPERIMENT/VARIANT` when the provider is an experiment (`x-switchyard-variant`).
    public var variant: String?
    /// True when this answer came from the eval's result cache: no provider was called.
    public var cached: Bool

    public init(
        output: String, toolCalls: JSONValue? = nil, finishReason: String? = nil, costUSD: Double = 0, latencyMs: Double = 0,
        promptTokens: Int = 0, completionTokens: Int = 0, servedModel: String? = nil, requestID: String? = nil, variant: String? = nil, cached: Bool = false
    ) {
        self.variant = variant
        self.output = output
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.costUSD = costUSD
        self.latencyMs = latencyMs
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.servedModel = servedModel
        self.requestID = requestID
        self.cached = cached
    }
}

/// Answers eval calls: the gateway in process, a running gateway over HTTP, or a test double.
public protocol EvalCompleter: Sendable {
    func complete(_ call: EvalCall) async throws -> EvalResponse
}

/// A call that failed: the message is what the results show (the status and the gateway's error message).
public struct EvalCallError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
