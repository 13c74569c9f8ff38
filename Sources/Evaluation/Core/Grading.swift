import Foundation
import SwitchyardCore

/// One assertion as a suite writes it (`{type, value?, threshold?, weight?, metric?, provider?, rubricPrompt?}`),
/// with `not-` split off the type.
public struct Assertion: Sendable, Hashable {
    /// The base type (`contains`, `llm-rubric`, …), without `not-`.
    public var type: String
    /// True when written `not-TYPE`: the verdict is inverted.
    public var negated: Bool
    public var value: JSONValue?
    public var threshold: Double?
    /// How much the assertion counts in the test's score (default 1; 0 = checked but not scored).
    public var weight: Double
    /// A named metric this assertion's score is reported under (`namedScores`).
    public var metric: String?
    /// The judge model for model-graded types (overrides the test's `options.provider`).
    public var provider: String?
    /// A custom grading prompt for model-graded types.
    public var rubricPrompt: JSONValue?
    /// The assertion as written, echoed in `gradingResult.componentResults[].assertion`.
    public var raw: JSONValue

    public init(
        type: String, negated: Bool = false, value: JSONValue? = nil, threshold: Double? = nil, weight: Double = 1,
        metric: String? = nil, provider: String? = nil, rubricPrompt: JSONValue? = nil, raw: JSONValue = .null
    ) {
        self.type = type
        self.negated = negated
        self.value = value
        self.threshold = threshold
        self.weight = weight
        self.metric = metric
        self.provider = provider
        self.rubricPrompt = rubricPrompt
        self.raw = raw
    }
}

/// A verdict: for one assertion, or a test's aggregate with the assertions' verdicts as components.
public struct GradingResult: Sendable, Hashable {
    public var pass: Bool
    /// In [0, 1].
    public var score: Double
    public var reason: String
    public var namedScores: [String: Double]
    public var componentResults: [GradingResult]
    /// The assertion that produced this verdict (components only).
    public var assertion: JSONValue?
    /// Tokens and cost the judge calls of this verdict used.
    public var judgeTokens: Int
    public var judgeCostUSD: Double

    public init(
        pass: Bool, score: Double, reason: String, namedScores: [String: Double] = [:], componentResults: [GradingResult] = [],
        assertion: JSONValue? = nil, judgeTokens: Int = 0, judgeCostUSD: Double = 0
    ) {
        self.pass = pass
        self.score = score
        self.reason = reason
        self.namedScores = namedScores
        self.componentResults = componentResults
        self.assertion = assertion
        self.judgeTokens = judgeTokens
        self.judgeCostUSD = judgeCostUSD
    }
}

/// Everything an assertion may look at.
public struct AssertionContext: Sendable {
    /// The answer's text.
    public var output: String
    public var response: EvalResponse
    /// The test's variables (assertion values are templates over them).
    public var vars: [String: JSONValue]
    /// The rendered prompt (what judges are shown as the question).
    public var prompt: String
    /// The `tools` the call offered (for `is-valid-openai-tools-call`).
    public var tools: JSONValue?
    /// Answers judge calls (`llm-rubric`, `model-graded-closedqa`); nil when no judge can be called.
    public var judge: (any EvalCompleter)?
    /// The judge model when the assertion names none: the test's `options.provider`, else the suite's default.
    public var judgeModel: String?
    /// The test's `options.rubricPrompt`, when the assertion has none.
    public var rubricPrompt: JSONValue?
    /// The local embedding model for `similar`; nil when it is not installed.
    public var embedder: (any TextEmbedder)?

    public init(
        output: String, response: EvalResponse, vars: [String: JSONValue] = [:], prompt: String = "", tools: JSONValue? = nil,
        judge: (any EvalCompleter)? = nil, judgeModel: String? = nil, rubricPrompt: JSONValue? = nil, embedder: (any TextEmbedder)? = nil
    ) {
        self.output = output
        self.response = response
        self.vars = vars
        self.prompt = prompt
        self.tools = tools
        self.judge = judge
        self.judgeModel = judgeModel
        self.rubricPrompt = rubricPrompt
        self.embedder = embedder
    }
}

/// A suite that cannot run as written: the message names the file, the field and what to write instead.
public struct EvalSuiteError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
