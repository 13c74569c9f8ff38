import Foundation
import SwitchyardCore

/// One test case: variables, assertions, options (after `defaultTest` is merged in and array
/// variables are expanded).
public struct EvalTest: Sendable, Hashable {
    public var description: String?
    public var vars: [String: JSONValue]
    public var assertions: [Assertion]
    /// The test passes when its weighted score reaches this, instead of when every assertion passes.
    public var threshold: Double?
    /// The judge model for model-graded assertions (`options.provider`).
    public var judge: String?
    /// A grading prompt for model-graded assertions (`options.rubricPrompt`).
    public var rubricPrompt: JSONValue?
    public var metadata: [String: JSONValue]

    public init(
        description: String? = nil, vars: [String: JSONValue] = [:], assertions: [Assertion] = [], threshold: Double? = nil,
        judge: String? = nil, rubricPrompt: JSONValue? = nil, metadata: [String: JSONValue] = [:]
    ) {
        self.description = description
        self.vars = vars
        self.assertions = assertions
        self.threshold = threshold
        self.judge = judge
        self.rubricPrompt = rubricPrompt
        self.metadata = metadata
    }
}

/// A promptfoo-format suite, read and checked: everything `eval run` needs, nothing left to parse.
public struct EvalSuite: Sendable {
    public var description: String?
    public var prompts: [EvalPrompt]
    public var providers: [EvalProvider]
    public var tests: [EvalTest]
    /// `evaluateOptions.maxConcurrency` (promptfoo's default: 4).
    public var maxConcurrency: Int
    /// `evaluateOptions.repeat`: each cell is asked this many times.
    public var repeatCount: Int
    /// `evaluateOptions.delay`: milliseconds each worker waits between its calls.
    public var delayMs: Int
    /// `evaluateOptions.cache: false` turns the result cache off for this suite.
    public var cache: Bool
    /// `outputPath`: written when the command line names no `--output`.
    public var outputPaths: [String]
    /// Keys promptfoo has that this runner does not use, named so the user knows they were ignored.
    public var ignoredKeys: [String]

    public init(
        description: String? = nil, prompts: [EvalPrompt], providers: [EvalProvider], tests: [EvalTest], maxConcurrency: Int = 4,
        repeatCount: Int = 1, delayMs: Int = 0, cache: Bool = true, outputPaths: [String] = [], ignoredKeys: [String] = []
    ) {
        self.description = description
        self.prompts = prompts
        self.providers = providers
        self.tests = tests
        self.maxConcurrency = maxConcurrency
        self.repeatCount = repeatCount
        self.delayMs = delayMs
        self.cache = cache
        self.outputPaths = outputPaths
        self.ignoredKeys = ignoredKeys
    }

    /// Cells the run will have: tests × prompts × providers × repeats.
    public var cellCount: Int { tests.count * prompts.count * providers.count * repeatCount }

    /// Most cells one run will take (a cartesian product of array vars can explode).
    public static let maximumCells = 1_000_000
}

/// Maps promptfoo provider ids to Switchyard names: `openai:chat:NAME`, `anthropic:messages:NAME`,
/// `openai:NAME` and the other `vendor[:api]:NAME` forms ask the Switchyard model `NAME`; a bare
/// name is a Switchyard model, group, route or workflow.
public enum ProviderID {
    static let vendors: Set<String> = [
        "openai", "anthropic", "ollama", "google", "vertex", "azure", "azureopenai", "bedrock", "mistral", "groq", "openrouter",
        "together", "fireworks", "deepseek", "xai", "litellm", "switchyard", "gemini", "cohere", "perplexity",
    ]
    static let apis: Set<String> = ["chat", "messages", "completion", "responses", "generate"]

    /// The Switchyard name a provider id asks for.
    public static func model(for id: String, known: Set<String> = []) -> String {
        if known.contains(id) { return id }
        let parts = id.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, vendors.contains(parts[0].lowercased()) else { return id }
        if parts.count == 3, apis.contains(parts[1].lowercased()) { return parts[2] }
        return parts.dropFirst().joined(separator: ":")
    }
}
