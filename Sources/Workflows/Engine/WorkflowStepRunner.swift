import Foundation
import SwitchyardCore

/// What a step may ask of a model besides its messages.
public struct WorkflowCallParameters: Sendable, Hashable {
    public var temperature: Double?
    public var maxTokens: Int?
    /// Ask for JSON meeting this schema (`response_format: json_schema`).
    public var outputSchema: JSONValue?
    /// The run and step the call belongs to (the gateway logs the run as the call's episode).
    public var runID: String?
    public var stepID: String?

    public init(temperature: Double? = nil, maxTokens: Int? = nil, outputSchema: JSONValue? = nil) {
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.outputSchema = outputSchema
    }
}

/// One model call's answer.
public struct WorkflowCallResult: Sendable, Hashable {
    public var text: String
    public var costUSD: Double
    public var usage: Usage

    public init(text: String, costUSD: Double, usage: Usage) {
        self.text = text
        self.costUSD = costUSD
        self.usage = usage
    }
}

/// One passage a `retrieve` step found.
public struct WorkflowPassage: Sendable, Hashable {
    public var documentID: String
    public var title: String?
    public var source: String?
    public var score: Double
    public var text: String
    public var metadata: JSONValue

    public init(documentID: String, title: String? = nil, source: String? = nil, score: Double, text: String, metadata: JSONValue = [:]) {
        self.documentID = documentID
        self.title = title
        self.source = source
        self.score = score
        self.text = text
        self.metadata = metadata
    }
}

/// What a `tool` step's tool answered.
public struct WorkflowToolResult: Sendable, Hashable {
    public var text: String
    public var structured: JSONValue?
    /// The tool reported a failure: the step fails (and is retried if it may be).
    public var isError: Bool

    public init(text: String, structured: JSONValue? = nil, isError: Bool = false) {
        self.text = text
        self.structured = structured
        self.isError = isError
    }
}

/// Does the work of workflow steps. The gateway implements it over its own pipeline (so routing, caching, guards,
/// budgets, permissions and the request log apply to every step as to any request); tests script it.
public protocol WorkflowStepRunner: Sendable {
    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult
    /// Searches a collection under the caller's permissions (`retrieve`).
    func retrieve(collection: String, query: String, topK: Int, mode: String?) async throws -> [WorkflowPassage]
    /// Calls a tool under the caller's tool permissions (`tool`); `idempotencyKey` is the same on every retry and resume.
    func callTool(name: String, arguments: JSONValue, idempotencyKey: String) async throws -> WorkflowToolResult
    /// Unit-length embeddings of `texts` from the local model (`classify` by embedding).
    func embed(_ texts: [String]) async throws -> [[Float]]
}

extension WorkflowStepRunner {
    public func retrieve(collection: String, query: String, topK: Int, mode: String?) async throws -> [WorkflowPassage] {
        throw WorkflowRunError(.stepFailed, "retrieve steps are not available here")
    }

    public func callTool(name: String, arguments: JSONValue, idempotencyKey: String) async throws -> WorkflowToolResult {
        throw WorkflowRunError(.stepFailed, "tool steps are not available here")
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        throw WorkflowRunError(.stepFailed, "classifying by embedding needs the local embedding model, which is not loaded")
    }
}

/// A run that stopped: the message says which step or limit, and why.
public struct WorkflowRunError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Code: String, Sendable, Hashable {
        case costLimit = "workflow_cost_limit"
        case stepLimit = "workflow_step_limit"
        case timeout = "workflow_timeout"
        case stepFailed = "workflow_step_failed"
        case invalidInput = "workflow_invalid_input"
        case notFound = "workflow_run_not_found"
    }
    public var code: Code
    public var message: String
    /// The gateway's error behind a failed step, when there was one: a step refused for the client's own
    /// reason (a prompt too long, a guard's block, a budget) keeps that status instead of becoming a 502.
    public var stepError: SwitchyardError?

    public init(_ code: Code, _ message: String, stepError: SwitchyardError? = nil) {
        self.code = code
        self.message = message
        self.stepError = stepError
    }

    public var description: String { message }
}
