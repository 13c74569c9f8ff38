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
    /// A template; the step runs only when it holds: `A == B`, `A != B`, or a text that renders truthy
    /// (see `WorkflowTemplate.holds`).
    public var when: String?
    public var retry: WorkflowRetry
    public var kind: Kind

    public enum Kind: Sendable {
        case llm(LLMCall)
        case validate(Validation)
        case parallel(ParallelMap)
        case classify(Classification)
        case retrieve(RetrieveCall)
        case tool(ToolStepCall)
        case human(HumanInput)
        case workflow(SubWorkflow)
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

/// `classify: {model, labels: {label: description}, text?}` asks a model for one label; `classify: {method: embedding,
/// labels, examples?, min_score?, otherwise?}` picks the label whose description and examples are nearest the text in
/// the local embedding model's space, with no model call. Output `{"label": …}` (and `"score"` by embedding).
public struct Classification: Sendable {
    public enum Method: Sendable, Hashable {
        case model(String)
        case embedding
    }
    public var method: Method
    /// Labels in the order written.
    public var labels: [(label: String, description: String)]
    /// Example texts per label (embedding method): each label's centroid is its description's and examples' mean.
    public var examples: [String: [String]] = [:]
    /// Embedding method: below this cosine similarity to every label the answer is `otherwise`.
    public var minScore: Double?
    public var otherwise: String?
    /// What is classified; `{{input}}` unless given.
    public var text: String
    /// Tells this parse of the step from any other (its label centroids are cached under it).
    public let identity = UUID()
}

/// `retrieve: {collection, query, top_k?, mode?}`: passages of a collection under the caller's permissions. Output
/// `{"text": numbered passages, "passages": [{document_id, title, source, score, text, metadata}]}`.
public struct RetrieveCall: Sendable {
    public var collection: String
    public var query: String
    public var topK: Int
    /// `hybrid` (default), `dense` or `bm25`.
    public var mode: String?
}

/// `tool: {name, arguments}`: an MCP tool (or a built-in one) under the caller's tool permissions. String values
/// in `arguments` are templates (one that is a single `{{path}}` passes that value as it is). Each call carries the
/// idempotency key `RUN_ID/STEP_ID`, the same across retries and resumes, so a server can refuse to repeat a side
/// effect. Output: the tool's `structuredContent`, else its text (as JSON when the text is a JSON object or array).
public struct ToolStepCall: Sendable {
    public var name: String
    public var arguments: JSONValue
}

/// `human: {prompt, input_schema?}`: the run stops with status `waiting` until `POST …/runs/ID/resume {"input": …}`;
/// the step's output is that input.
public struct HumanInput: Sendable {
    public var prompt: String
    public var inputSchema: JSONValue?
}

/// `workflow: {name, input?}`: another workflow run as one step (its own recorded run `PARENT.STEP`, so it resumes
/// with its parent); output: its output. `input` is a template, `{{input}}` unless given.
public struct SubWorkflow: Sendable {
    public var name: String
    public var input: String
}
