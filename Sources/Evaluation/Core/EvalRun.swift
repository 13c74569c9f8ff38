import Foundation
import SwitchyardCore

/// A provider of a suite: what the results call it and the Switchyard name it asks.
public struct EvalProvider: Sendable, Hashable {
    /// As written in the suite (`openai:chat:gpt-4o-mini`, `cheap`, …): `results[].provider.id`.
    public var id: String
    /// The display name (`label`, else `id`).
    public var label: String
    /// The Switchyard model, group, route or workflow it asks.
    public var model: String
    /// Request parameters from the provider's `config` (temperature, max_tokens, tools, …).
    public var parameters: [String: JSONValue]

    public init(id: String, label: String? = nil, model: String, parameters: [String: JSONValue] = [:]) {
        self.id = id
        self.label = label ?? id
        self.model = model
        self.parameters = parameters
    }
}

/// One prompt of a suite: a template (text, or a JSON list of chat messages).
public struct EvalPrompt: Sendable, Hashable {
    /// The template as written (or as read from its `file://`).
    public var raw: String
    /// What the results call it (`label`, else the file path or the template itself).
    public var label: String

    public init(raw: String, label: String? = nil) {
        self.raw = raw
        self.label = label ?? raw
    }
}

/// Why a cell did not pass (promptfoo's `failureReason`).
public enum EvalFailureReason: Int, Sendable, Hashable {
    case none = 0
    case assertion = 1
    case error = 2
}

/// One cell of the matrix: a test, under a prompt, answered by a provider (and a repeat index).
public struct EvalResultRow: Sendable, Hashable {
    public var testIndex: Int
    public var promptIndex: Int
    public var repeatIndex: Int
    public var provider: EvalProvider
    public var prompt: EvalPrompt
    /// The prompt as sent, rendered with the test's vars (chat prompts: the messages as JSON).
    public var renderedPrompt: String
    public var vars: [String: JSONValue]
    public var description: String?
    public var metadata: [String: JSONValue]
    /// Nil when the call failed (see `error`).
    public var response: EvalResponse?
    public var error: String?
    /// Nil when the call failed.
    public var grading: GradingResult?
    /// The test's assertions as written (the report's `testCase.assert`); kept apart from `grading`
    /// because a cell whose call failed has no verdicts to recover them from. Empty when not recorded.
    public var assertions: [JSONValue]

    public init(
        testIndex: Int, promptIndex: Int, repeatIndex: Int = 0, provider: EvalProvider, prompt: EvalPrompt, renderedPrompt: String,
        vars: [String: JSONValue], description: String? = nil, metadata: [String: JSONValue] = [:], response: EvalResponse?,
        error: String? = nil, grading: GradingResult?, assertions: [JSONValue] = []
    ) {
        self.testIndex = testIndex
        self.promptIndex = promptIndex
        self.repeatIndex = repeatIndex
        self.provider = provider
        self.prompt = prompt
        self.renderedPrompt = renderedPrompt
        self.vars = vars
        self.description = description
        self.metadata = metadata
        self.response = response
        self.error = error
        self.grading = grading
        self.assertions = assertions
    }

    public var success: Bool { error == nil && (grading?.pass ?? false) }
    public var score: Double { error == nil ? (grading?.score ?? 0) : 0 }
    public var failureReason: EvalFailureReason { error != nil ? .error : (success ? .none : .assertion) }
    public var costUSD: Double { (response?.costUSD ?? 0) + (grading?.judgeCostUSD ?? 0) }
    public var latencyMs: Double { response?.latencyMs ?? 0 }
}

/// A finished run: every cell, in test → prompt → provider → repeat order.
public struct EvalRun: Sendable {
    public var description: String?
    public var providers: [EvalProvider]
    public var prompts: [EvalPrompt]
    public var testCount: Int
    public var results: [EvalResultRow]
    public var startedAt: Date
    public var durationMs: Double

    public init(
        description: String?, providers: [EvalProvider], prompts: [EvalPrompt], testCount: Int, results: [EvalResultRow],
        startedAt: Date, durationMs: Double
    ) {
        self.description = description
        self.providers = providers
        self.prompts = prompts
        self.testCount = testCount
        self.results = results
        self.startedAt = startedAt
        self.durationMs = durationMs
    }

    public var successes: Int { results.filter(\.success).count }
    public var errors: Int { results.filter { $0.error != nil }.count }
    public var failures: Int { results.count - successes - errors }
    /// Cells answered by a provider call (not from the eval cache).
    public var providerCalls: Int { results.filter { $0.response.map { !$0.cached } ?? false }.count }

    /// Per provider, in suite order: pass rate, mean score, cost, latency.
    public var providerSummaries: [EvalProviderSummary] {
        providers.map { provider in
            let rows = results.filter { $0.provider.id == provider.id }
            let latencies = rows.compactMap { $0.response?.latencyMs }.sorted()
            return EvalProviderSummary(
                provider: provider, cells: rows.count, passes: rows.filter(\.success).count, errors: rows.filter { $0.error != nil }.count,
                meanScore: rows.isEmpty ? 0 : rows.reduce(0) { $0 + $1.score } / Double(rows.count),
                costUSD: rows.reduce(0) { $0 + $1.costUSD },
                latencyP50Ms: EvalProviderSummary.percentile(latencies, 0.50), latencyP95Ms: EvalProviderSummary.percentile(latencies, 0.95),
                cachedCells: rows.filter { $0.response?.cached ?? false }.count)
        }
    }
}

/// One provider's side of the summary.
public struct EvalProviderSummary: Sendable, Hashable {
    public var provider: EvalProvider
    public var cells: Int
    public var passes: Int
    public var errors: Int
    public var meanScore: Double
    /// Answers plus judges.
    public var costUSD: Double
    public var latencyP50Ms: Double?
    public var latencyP95Ms: Double?
    public var cachedCells: Int

    public var failures: Int { cells - passes - errors }
    public var passRate: Double { cells == 0 ? 0 : Double(passes) / Double(cells) }

    /// Nearest-rank percentile of sorted values; nil for none.
    public static func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }
}
