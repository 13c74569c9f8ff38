import Foundation
import SwitchyardCore

/// `llm-rubric` and `model-graded-closedqa`: a judge model grades the answer. Judge failures (no judge, a failed
/// call, a reply that cannot be read) are failing verdicts with the reason, never errors.
enum ModelGradedAssertions {
    /// The judge's verdict as read from its reply.
    struct RubricReply: Equatable {
        var pass: Bool
        var score: Double
        var reason: String
    }

    static func rubric(_ assertion: Assertion, value: JSONValue?, context: AssertionContext) async -> CheckOutcome {
        let rubric: String
        switch value {
        case .string(let text)?: rubric = text
        case .object?, .array?: rubric = value?.jsonString() ?? ""
        case let other?: rubric = Template.plain(other)
        case nil:
            guard assertion.rubricPrompt ?? context.rubricPrompt != nil else {
                return .unable("'llm-rubric' needs a value: the rubric the answer is graded against")
            }
            rubric = ""
        }
        return await judgeRubric(
            output: context.output, rubric: rubric, prompt: context.prompt, vars: context.vars, judge: context.judge,
            model: assertion.provider ?? context.judgeModel, rubricPrompt: assertion.rubricPrompt ?? context.rubricPrompt,
            threshold: assertion.threshold)
    }

    /// Asks the judge whether `output` meets `rubric` (what `llm-rubric` and judge calibration both do).
    static func judgeRubric(
        output: String, rubric: String, prompt: String, vars: [String: JSONValue], judge: (any EvalCompleter)?, model: String?,
        rubricPrompt: JSONValue?, threshold: Double?
    ) async -> CheckOutcome {
        let expectation = "meet the rubric \(OutputText.quoted(rubric, limit: 200))"
        let variables = JudgePrompts.variables(output: output, rubric: rubric, prompt: prompt, vars: vars)
        let messages = JudgePrompts.messages(custom: rubricPrompt, defaults: JudgePrompts.rubricMessages, vars: variables)
        let reply: JudgeCall
        switch await ask(judge: judge, model: model, messages: messages, expectation: expectation) {
        case .success(let answer): reply = answer
        case .failure(let problem): return problem.outcome
        }
        guard let verdict = parseRubricReply(reply.text) else {
            return reply.charge(.unable("judge answered unparseably: \(OutputText.quoted(reply.text, limit: 300))", expectation: expectation))
        }
        let holds = threshold.map { verdict.score >= $0 } ?? verdict.pass
        let scoreNote = threshold.map { " (score \(OutputText.score(verdict.score)), threshold \(NumberText.plain($0)))" }
            ?? " (score \(OutputText.score(verdict.score)))"
        let reason = verdict.reason.isEmpty ? "no reason given" : OutputText.quoted(verdict.reason, limit: 500)
        return reply.charge(
            CheckOutcome(holds: holds, score: verdict.score, expectation: expectation, finding: "the judge said \(reason)\(scoreNote)"))
    }

    static func closedQA(_ assertion: Assertion, value: JSONValue?, context: AssertionContext) async -> CheckOutcome {
        guard let value, case let criterion = Template.plain(value), !criterion.isEmpty else {
            return .unable("'model-graded-closedqa' needs a value: the criterion the answer must meet")
        }
        let expectation = "meet the criterion \(OutputText.quoted(criterion, limit: 200))"
        let variables = JudgePrompts.variables(output: context.output, rubric: criterion, prompt: context.prompt, vars: context.vars)
        let messages = JudgePrompts.messages(
            custom: assertion.rubricPrompt ?? context.rubricPrompt, defaults: JudgePrompts.closedQAMessages, vars: variables)
        let reply: JudgeCall
        switch await ask(judge: context.judge, model: assertion.provider ?? context.judgeModel, messages: messages, expectation: expectation) {
        case .success(let answer): reply = answer
        case .failure(let problem): return problem.outcome
        }
        guard let meets = parseClosedQAReply(reply.text) else {
            return reply.charge(
                .unable("judge answered unparseably (no final Y or N line): \(OutputText.quoted(reply.text, limit: 300))", expectation: expectation))
        }
        let lines = reply.text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let reasoning = lines.dropLast().joined(separator: " ")
        let finding = "the judge answered \(meets ? "Y" : "N")" + (reasoning.isEmpty ? "" : ": \(OutputText.quoted(reasoning, limit: 400))")
        return reply.charge(.binary(meets, expectation: expectation, finding: finding))
    }

    // MARK: - Calling the judge

    struct JudgeCall {
        var text: String
        var tokens: Int
        var costUSD: Double

        /// The outcome with this call's tokens and cost on it.
        func charge(_ outcome: CheckOutcome) -> CheckOutcome {
            var charged = outcome
            charged.judgeTokens += tokens
            charged.judgeCostUSD += costUSD
            return charged
        }
    }

    private static func ask(
        judge: (any EvalCompleter)?, model: String?, messages: [JSONValue], expectation: String
    ) async -> Result<JudgeCall, CheckOutcomeError> {
        guard let model, !model.isEmpty else {
            return .failure(.init(.unable("no judge model: set options.provider or the assertion's provider", expectation: expectation)))
        }
        guard let judge else {
            let problem = "no judge can be called in this run (asked for \(OutputText.quoted(model, limit: 80)))"
            return .failure(.init(.unable(problem, expectation: expectation)))
        }
        // Temperature 0: the same answer should get the same grade on a re-run.
        let call = EvalCall(model: model, messages: messages, parameters: ["temperature": .int(0)])
        do {
            let response = try await judge.complete(call)
            return .success(
                JudgeCall(
                    text: response.output, tokens: max(0, response.promptTokens) + max(0, response.completionTokens),
                    costUSD: response.costUSD.isFinite ? response.costUSD : 0))
        } catch {
            let message = String(describing: error)
            let problem = "the judge \(OutputText.quoted(model, limit: 80)) failed: \(message.prefix(500))"
            return .failure(.init(.unable(problem, expectation: expectation)))
        }
    }

    // MARK: - Reading replies

    /// The first JSON object in the reply (fences allowed) that has `pass` or `score`. A missing `pass` is score ≥ 0.5;
    /// a missing score is 1 or 0 by `pass`; the score is clamped to [0, 1]. Nil when no such object is found.
    static func parseRubricReply(_ text: String) -> RubricReply? {
        for candidate in JSONAssertions.jsonCandidates(in: text) {
            guard let object = candidate.objectValue else { continue }
            let pass = flag(object["pass"])
            let score = number(object["score"])
            guard pass != nil || score != nil else { continue }
            let clamped = min(max(score ?? ((pass ?? false) ? 1 : 0), 0), 1)
            let reason = object["reason"].map { $0.stringValue ?? $0.jsonString() } ?? ""
            return RubricReply(pass: pass ?? (clamped >= 0.5), score: clamped, reason: reason)
        }
        return nil
    }

    /// The last non-empty line's first letter (markdown emphasis and quotes stripped): Y meets, N does not; nil otherwise.
    static func parseClosedQAReply(_ text: String) -> Bool? {
        guard let last = text.split(whereSeparator: \.isNewline).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            return nil
        }
        let stripped = last.trimmingCharacters(in: CharacterSet.whitespaces.union(CharacterSet(charactersIn: "*_`\"'#>")))
        switch stripped.first {
        case "Y", "y": return true
        case "N", "n": return false
        default: return nil
        }
    }

    private static func flag(_ value: JSONValue?) -> Bool? {
        switch value {
        case .bool(let flag)?: return flag
        case .string(let text)?:
            switch text.lowercased() {
            case "true", "pass", "yes": return true
            case "false", "fail", "no": return false
            default: return nil
            }
        default: return nil
        }
    }

    private static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int, .double: return value?.finiteDoubleValue
        case .string(let text)?: return Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        default: return nil
        }
    }
}

/// A judge problem carried through `Result` (which needs an `Error`), as the failing outcome to return.
struct CheckOutcomeError: Error {
    var outcome: CheckOutcome
    init(_ outcome: CheckOutcome) { self.outcome = outcome }
}
