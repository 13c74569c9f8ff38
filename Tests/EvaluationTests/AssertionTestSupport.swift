import Foundation
import SwitchyardCore
@testable import Evaluation

/// A judge that answers from a closure, recording the calls it got.
struct ScriptedJudge: EvalCompleter {
    let calls = CallLog()
    let answer: @Sendable (EvalCall) throws -> EvalResponse

    init(_ answer: @escaping @Sendable (EvalCall) throws -> EvalResponse) { self.answer = answer }

    /// A judge that always replies `text` (with a little usage, so sums can be checked).
    init(replying text: String, promptTokens: Int = 10, completionTokens: Int = 5, costUSD: Double = 0.001) {
        self.answer = { _ in EvalResponse(output: text, costUSD: costUSD, promptTokens: promptTokens, completionTokens: completionTokens) }
    }

    func complete(_ call: EvalCall) async throws -> EvalResponse {
        calls.append(call)
        return try answer(call)
    }
}

/// Calls seen by a test double (a lock, so concurrent grading can record).
final class CallLog: @unchecked Sendable {
    // Safe: every access to `calls` holds `lock`.
    private let lock = NSLock()
    private var calls: [EvalCall] = []
    func append(_ call: EvalCall) { lock.withLock { calls.append(call) } }
    var all: [EvalCall] { lock.withLock { calls } }
}

/// Builders for assertions and contexts in tests.
enum Fixture {
    static func assertion(_ object: JSONValue) throws -> Assertion {
        try Assertion.parse(object, field: "tests[0].assert[0]")
    }

    static func context(
        _ output: String, vars: [String: JSONValue] = [:], response: EvalResponse? = nil, prompt: String = "What is the capital of France?",
        tools: JSONValue? = nil, judge: (any EvalCompleter)? = nil, judgeModel: String? = "judge-model", rubricPrompt: JSONValue? = nil,
        embedder: (any TextEmbedder)? = nil
    ) -> AssertionContext {
        AssertionContext(
            output: output, response: response ?? EvalResponse(output: output), vars: vars, prompt: prompt, tools: tools, judge: judge,
            judgeModel: judgeModel, rubricPrompt: rubricPrompt, embedder: embedder)
    }

    /// Parses `object` and grades it on `output`.
    static func grade(_ object: JSONValue, _ output: String, vars: [String: JSONValue] = [:]) async throws -> GradingResult {
        try await AssertionGrader.grade(assertion(object), context: context(output, vars: vars))
    }
}
