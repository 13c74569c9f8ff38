import Foundation
import SwitchyardCore

/// What one check found, before `not-` is applied.
struct CheckOutcome: Sendable {
    /// Whether the answer meets the condition; nil when the check could not be made (a bad pattern, no judge, a judge
    /// that failed): such a verdict fails whether or not the assertion is negated.
    var holds: Bool?
    /// The score of the un-negated condition, in [0, 1].
    var score: Double
    /// What the answer was expected to do, as it follows "expected the answer to" (`contain "Paris"`).
    var expectation: String
    /// What was found (`it was "The capital is Lyon."`), or why the check could not be made.
    var finding: String
    var judgeTokens = 0
    var judgeCostUSD = 0.0

    /// A yes/no check: score 1 when it holds, else 0.
    static func binary(_ holds: Bool, expectation: String, finding: String) -> CheckOutcome {
        CheckOutcome(holds: holds, score: holds ? 1 : 0, expectation: expectation, finding: finding)
    }

    /// A check that could not be made; `problem` says why and what to do.
    static func unable(_ problem: String, expectation: String = "") -> CheckOutcome {
        CheckOutcome(holds: nil, score: 0, expectation: expectation, finding: problem)
    }
}

/// Grades answers against promptfoo assertions: one at a time, or a test's list with its weights and threshold.
/// Grading never throws: a check that cannot be made (bad pattern, no judge, judge error) is a failing verdict
/// whose reason says why.
public enum AssertionGrader {
    /// promptfoo's default `similar` threshold.
    public static let defaultSimilarityThreshold = 0.75

    /// The verdict of one assertion on one answer.
    public static func grade(_ assertion: Assertion, context: AssertionContext) async -> GradingResult {
        let value = renderedValue(assertion.value, vars: context.vars)
        let outcome: CheckOutcome
        switch assertion.type {
        case "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all", "starts-with", "regex":
            outcome = TextAssertions.check(assertion.type, value: value, output: context.output)
        case "is-json":
            outcome = JSONAssertions.isJSON(context.output, schema: value)
        case "contains-json":
            outcome = JSONAssertions.containsJSON(context.output, schema: value)
        case "is-valid-openai-tools-call":
            outcome = JSONAssertions.validToolsCall(context: context)
        case "similar":
            outcome = await SimilarityAssertion.check(value: value, threshold: assertion.threshold ?? defaultSimilarityThreshold, context: context)
        case "llm-rubric":
            outcome = await ModelGradedAssertions.rubric(assertion, value: value, context: context)
        case "model-graded-closedqa":
            outcome = await ModelGradedAssertions.closedQA(assertion, value: value, context: context)
        case "cost":
            outcome = limit(context.response.costUSD, maximum: assertion.threshold, name: "cost", show: { "$\(NumberText.plain($0))" })
        case "latency":
            outcome = limit(context.response.latencyMs, maximum: assertion.threshold, name: "take", show: { "\(NumberText.plain($0)) ms" })
        default:
            outcome = .unable("unknown assertion type '\(assertion.type)' (supported: \(Assertion.supportedTypesList))")
        }
        return verdict(outcome, assertion: assertion)
    }

    /// A test's verdict: every assertion graded (concurrently; components in the assertions' order), the score the
    /// weighted mean of theirs (weight 0 counts for passing only), pass when every assertion passes, or, when the
    /// test sets `threshold`, when the score reaches it. `namedScores` holds each metric's weighted mean.
    public static func gradeTest(_ assertions: [Assertion], threshold: Double?, context: AssertionContext) async -> GradingResult {
        guard !assertions.isEmpty else { return GradingResult(pass: true, score: 1, reason: "No assertions") }
        let components = await withTaskGroup(of: (Int, GradingResult).self) { group in
            for (index, assertion) in assertions.enumerated() {
                group.addTask { (index, await grade(assertion, context: context)) }
            }
            var results = [GradingResult?](repeating: nil, count: assertions.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
        return aggregate(components, weights: assertions.map(\.weight), metrics: assertions.map(\.metric), threshold: threshold)
    }

    /// Combines graded components (as `gradeTest` does); separate so the arithmetic is tested without grading.
    static func aggregate(_ components: [GradingResult], weights: [Double], metrics: [String?], threshold: Double?) -> GradingResult {
        var weighted = 0.0
        var totalWeight = 0.0
        var metricSums: [String: (score: Double, weight: Double, count: Int, plain: Double)] = [:]
        for (index, component) in components.enumerated() {
            let weight = weights[index]
            weighted += component.score * weight
            totalWeight += weight
            if let metric = metrics[index] {
                var sums = metricSums[metric] ?? (0, 0, 0, 0)
                sums.score += component.score * weight
                sums.weight += weight
                sums.count += 1
                sums.plain += component.score
                metricSums[metric] = sums
            }
        }
        let failures = components.filter { !$0.pass }
        // All weights 0: nothing is scored, so the score says whether the checks passed.
        let score = totalWeight > 0 ? weighted / totalWeight : (failures.isEmpty ? 1 : 0)
        let namedScores = metricSums.mapValues { sums in
            sums.weight > 0 ? sums.score / sums.weight : sums.plain / Double(sums.count)
        }
        var pass = failures.isEmpty
        var reason = failures.isEmpty ? "All assertions passed" : failureSummary(failures, of: components.count)
        if let threshold {
            pass = score >= threshold
            let comparison = "Aggregate score \(OutputText.score(score)) \(pass ? "≥" : "<") \(NumberText.plain(threshold)) threshold"
            reason = failures.isEmpty ? comparison : "\(comparison); \(reason)"
        }
        return GradingResult(
            pass: pass, score: score, reason: reason, namedScores: namedScores, componentResults: components,
            judgeTokens: components.reduce(0) { $0 + $1.judgeTokens }, judgeCostUSD: components.reduce(0) { $0 + $1.judgeCostUSD })
    }

    private static func failureSummary(_ failures: [GradingResult], of count: Int) -> String {
        let listed = failures.prefix(5).map { failure in
            let type = failure.assertion?["type"]?.stringValue ?? "assertion"
            return "[\(type)] \(failure.reason.count > 300 ? String(failure.reason.prefix(300)) + "…" : failure.reason)"
        }
        let more = failures.count > 5 ? "; and \(failures.count - 5) more" : ""
        return "\(failures.count) of \(count) assertions failed: " + listed.joined(separator: "; ") + more
    }

    /// Applies `not-` and turns a check into a verdict: negation inverts the pass and scores 1 - score, except for a
    /// check that could not be made, which fails either way.
    static func verdict(_ outcome: CheckOutcome, assertion: Assertion) -> GradingResult {
        let raw = assertion.raw == .null ? synthesizedRaw(assertion) : assertion.raw
        guard let holds = outcome.holds else {
            return GradingResult(
                pass: false, score: 0, reason: "Failed: \(outcome.finding)", assertion: raw, judgeTokens: outcome.judgeTokens,
                judgeCostUSD: outcome.judgeCostUSD)
        }
        let pass = holds != assertion.negated
        let base = min(max(outcome.score, 0), 1)
        let score = assertion.negated ? 1 - base : base
        let expectation = (assertion.negated ? "not to " : "to ") + outcome.expectation
        let reason = "\(pass ? "Passed" : "Failed"): expected the answer \(expectation); \(outcome.finding)"
        return GradingResult(
            pass: pass, score: score, reason: reason, assertion: raw, judgeTokens: outcome.judgeTokens, judgeCostUSD: outcome.judgeCostUSD)
    }

    /// An assertion made in code (not parsed) still shows what it was in the results.
    private static func synthesizedRaw(_ assertion: Assertion) -> JSONValue {
        var object: [String: JSONValue] = ["type": .string((assertion.negated ? "not-" : "") + assertion.type)]
        if let value = assertion.value { object["value"] = value }
        if let threshold = assertion.threshold { object["threshold"] = .double(threshold) }
        if assertion.weight != 1 { object["weight"] = .double(assertion.weight) }
        if let metric = assertion.metric { object["metric"] = .string(metric) }
        return .object(object)
    }

    /// Assertion values are templates over the test's vars, as in promptfoo: a string, and the strings of a list,
    /// are rendered; objects (JSON schemas, expected JSON) are used as written.
    static func renderedValue(_ value: JSONValue?, vars: [String: JSONValue]) -> JSONValue? {
        switch value {
        case .string(let text):
            return .string(Template.render(text, vars: vars))
        case .array(let items):
            return .array(items.map { item in item.stringValue.map { .string(Template.render($0, vars: vars)) } ?? item })
        default:
            return value
        }
    }

    private static func limit(_ measured: Double, maximum: Double?, name: String, show: (Double) -> String) -> CheckOutcome {
        guard let maximum else { return .unable("'\(name == "cost" ? "cost" : "latency")' needs a threshold (the limit)") }
        let verb = name == "cost" ? "cost" : "took"
        return .binary(measured <= maximum, expectation: "\(name) at most \(show(maximum))", finding: "it \(verb) \(show(measured))")
    }
}
