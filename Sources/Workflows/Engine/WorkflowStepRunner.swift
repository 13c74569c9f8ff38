import Foundation
import SwitchyardCore

/// What a step may ask of a model besides its messages.
public struct WorkflowCallParameters: Sendable, Hashable {
    public var temperature: Double?
    public var maxTokens: Int?
    /// Ask for JSON meeting this schema (`response_format: json_schema`).
    public var outputSchema: JSONValue?

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

/// Calls models for workflow steps. The gateway implements it over its own pipeline (so routing, caching, guards,
/// budgets and the request log apply to every step); tests script it.
public protocol WorkflowStepRunner: Sendable {
    func complete(model: String, messages: [ChatMessage], parameters: WorkflowCallParameters) async throws -> WorkflowCallResult
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
