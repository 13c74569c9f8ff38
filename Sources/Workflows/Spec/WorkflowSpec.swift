import Evaluation
import Foundation
import SwitchyardCore

/// A declared workflow: steps run in order, each reading the run's input and earlier steps' outputs through
/// templates (`{{input}}`, `{{input.FIELD}}`, `{{steps.ID.output}}`, `{{steps.ID.output.FIELD}}`).
/// Built only by `WorkflowSpec.parse(_:)`, which checks every reference, so a spec in hand is runnable.
public struct WorkflowSpec: Sendable {
    public var name: String
    public var description: String?
    /// A JSON schema the input must meet (checked with the eval `is-json` assertion).
    public var inputSchema: JSONValue?
    public var steps: [WorkflowStep]
    /// The run's answer; nil means the last step's output.
    public var output: String?
    public var maxCostUSD: Double?
    public var maxSteps: Int?
    public var timeoutSeconds: Double?

    /// The step with this id.
    public func step(_ id: String) -> WorkflowStep? { steps.first { $0.id == id } }
}

/// One step: an id, an optional `when:` condition, retries, and what it does.
public struct WorkflowStep: Sendable {
    public var id: String
    /// A template; the step runs only when it renders truthy (see `WorkflowTemplate.isTruthy`).
    public var when: String?
    public var retry: WorkflowRetry
    public var kind: Kind

    public enum Kind: Sendable {
        case llm(LLMCall)
        case validate(Validation)
        case parallel(ParallelMap)
        case classify(Classification)
    }
}

/// `retry: {attempts, backoff_ms}`: `attempts` tries in all, `backoff_ms` doubled after each failure.
public struct WorkflowRetry: Sendable, Hashable {
    public var attempts: Int
    public var backoffMs: Int
    public init(attempts: Int, backoffMs: Int) {
        self.attempts = attempts
        self.backoffMs = backoffMs
    }
    public static let once = WorkflowRetry(attempts: 1, backoffMs: 0)
}

/// `llm: {model, prompt | messages, system?, temperature?, max_tokens?, output_schema?}`.
public struct LLMCall: Sendable {
    public struct Message: Sendable, Hashable {
        public var role: ChatMessage.Role
        public var content: String
    }
    public var model: String
    public var prompt: String?
    public var messages: [Message]
    public var system: String?
    public var temperature: Double?
    public var maxTokens: Int?
    /// When set the answer must be JSON meeting this schema, and the step's output is that JSON.
    public var outputSchema: JSONValue?

    /// Every template this call renders.
    var templates: [String] { [prompt, system].compactMap { $0 } + messages.map(\.content) }
}

/// `validate: {step, assert, on_fail: {retry, escalate}}`: the cascade. The checked `llm` step's answer is graded;
/// a failing answer is asked again up to `retry` times, then once more of `escalate`'s model.
public struct Validation: Sendable {
    public var step: String
    public var assertions: [Assertion]
    public var retries: Int
    public var escalate: String?
}

/// `parallel: {over, step, concurrency}`: the inline `llm` step once per item of the JSON array `over` renders to,
/// at most `concurrency` at a time; `{{item}}` and `{{index}}` name the current one. The output is the array of answers.
public struct ParallelMap: Sendable {
    public var over: String
    public var call: LLMCall
    public var concurrency: Int
}

/// `classify: {model, labels: {label: description}, text?}`: output `{"label": …}`.
public struct Classification: Sendable {
    public var model: String
    /// Labels in the order written.
    public var labels: [(label: String, description: String)]
    /// What is classified; `{{input}}` unless given.
    public var text: String
}
