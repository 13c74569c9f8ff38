import Foundation
import SwitchyardCore

/// A judge graded against human labels: each example's verdict and the agreement statistics.
public struct JudgeCalibrationReport: Sendable {
    /// One example as the judge graded it.
    public struct Result: Sendable, Hashable {
        public var example: JudgeCalibration.Example
        /// The judge's verdict; nil when it could not grade (the call failed, or its reply was unreadable).
        public var verdict: Bool?
        public var score: Double?
        /// The judge's reason, or why there is no verdict.
        public var reason: String
        /// Tokens and cost of the judge call for this example.
        public var tokens: Int
        public var costUSD: Double

        /// A graded example (made by `JudgeCalibration.run`; public for reports and tests built elsewhere).
        public init(example: JudgeCalibration.Example, verdict: Bool?, score: Double?, reason: String, tokens: Int = 0, costUSD: Double = 0) {
            self.example = example
            self.verdict = verdict
            self.score = score
            self.reason = reason
            self.tokens = tokens
            self.costUSD = costUSD
        }

        /// Whether the judge agreed with the human; nil without a verdict.
        public var agrees: Bool? { verdict.map { $0 == example.label } }
    }

    /// The judge model graded.
    public var model: String
    /// In the examples' order.
    public var results: [Result]
    /// Over the examples that got a verdict.
    public var calibration: JudgeCalibration

    /// Examples the judge gave no verdict on (failed calls, unreadable replies).
    public var errors: Int { results.filter { $0.verdict == nil }.count }
    /// Judge tokens and cost over all examples.
    public var tokens: Int { results.reduce(0) { $0 + $1.tokens } }
    public var costUSD: Double { results.reduce(0) { $0 + $1.costUSD } }

    /// The report for graded `results`; the κ interval from `resamples` bootstrap resamples drawn with `seed`.
    public init(model: String, results: [Result], resamples: Int = 2_000, seed: UInt64 = 0x5EED_CA1B) {
        self.model = model
        self.results = results
        calibration = JudgeCalibration(
            pairs: results.compactMap { result in result.verdict.map { .init(judge: $0, human: result.example.label) } },
            resamples: resamples, seed: seed)
    }

    /// A summary for a terminal: counts, agreement and κ, the confusion matrix, then up to 20 disagreements.
    public var text: [String] { summaryLines(disagreementLimit: 20) }

    /// `text` with at most `disagreementLimit` disagreements listed.
    public func summaryLines(disagreementLimit: Int) -> [String] {
        let stats = calibration
        let matrix = stats.confusion
        var lines = ["judge \(model): \(results.count) labelled examples, \(matrix.total) graded, \(errors) without a verdict"]
        guard matrix.total > 0 else { return lines + ["no verdicts: nothing to compare"] }
        let percent = String(format: "%.1f", stats.agreement * 100)
        var kappaLine = "Cohen's kappa \(String(format: "%.3f", stats.kappa))"
        if let interval = stats.kappaInterval {
            kappaLine += " (95 % bootstrap interval \(String(format: "%.3f", interval.lower)) to \(String(format: "%.3f", interval.upper)))"
        }
        lines.append("agreement \(percent) % (\(matrix.agreements) of \(matrix.total)); \(kappaLine)")
        lines.append("          " + pad("human pass") + pad("human fail"))
        lines.append("judge pass" + pad(String(matrix.judgePassHumanPass)) + pad(String(matrix.judgePassHumanFail)))
        lines.append("judge fail" + pad(String(matrix.judgeFailHumanPass)) + pad(String(matrix.judgeFailHumanFail)))
        if tokens > 0 || costUSD > 0 { lines.append("judge usage: \(tokens) tokens, $\(String(format: "%.4f", costUSD))") }
        let disagreements = results.filter { $0.agrees == false }
        for result in disagreements.prefix(disagreementLimit) {
            let verdicts = "judge \(result.verdict == true ? "pass" : "fail"), human \(result.example.label ? "pass" : "fail")"
            lines.append("disagrees: \(result.example.id) (\(verdicts)): \(OutputText.quoted(result.reason, limit: 160))")
        }
        if disagreements.count > disagreementLimit { lines.append("… and \(disagreements.count - disagreementLimit) more disagreements") }
        for result in results where result.verdict == nil {
            lines.append("no verdict: \(result.example.id): \(OutputText.quoted(result.reason, limit: 160))")
        }
        return lines
    }

    /// Right-aligned in a 13-character column.
    private func pad(_ text: String) -> String {
        String(repeating: " ", count: max(0, 13 - text.count)) + text
    }

    /// The report as JSON (`{model, examples, graded, errors, agreement, kappa, kappa_interval, confusion, results}`).
    public var json: JSONValue {
        let stats = calibration
        let matrix = stats.confusion
        var object: [String: JSONValue] = [
            "model": .string(model),
            "examples": .int(Int64(results.count)),
            "graded": .int(Int64(matrix.total)),
            "errors": .int(Int64(errors)),
            "agreement": .double(stats.agreement),
            "chance_agreement": .double(stats.chanceAgreement),
            "kappa": .double(stats.kappa),
            "kappa_interval": stats.kappaInterval.map { .array([.double($0.lower), .double($0.upper)]) } ?? .null,
            "bootstrap": ["resamples": .int(Int64(stats.resamples)), "seed": .string(String(stats.seed))],
            "confusion": [
                "judge_pass_human_pass": .int(Int64(matrix.judgePassHumanPass)), "judge_pass_human_fail": .int(Int64(matrix.judgePassHumanFail)),
                "judge_fail_human_pass": .int(Int64(matrix.judgeFailHumanPass)), "judge_fail_human_fail": .int(Int64(matrix.judgeFailHumanFail)),
            ],
            "judge_tokens": .int(Int64(tokens)),
            "judge_cost_usd": .double(costUSD),
        ]
        object["results"] = .array(
            results.map { result in
                [
                    "id": .string(result.example.id), "line": .int(Int64(result.example.line)), "label": .bool(result.example.label),
                    "verdict": result.verdict.map(JSONValue.bool) ?? .null, "score": result.score.map(JSONValue.double) ?? .null,
                    "agrees": result.agrees.map(JSONValue.bool) ?? .null, "reason": .string(result.reason),
                ]
            })
        return .object(object)
    }
}

extension JudgeCalibration {
    /// Grades every example with the `llm-rubric` judge (same prompt, temperature 0) on `model`, at most `concurrency`
    /// calls at a time, and compares the verdicts with the labels. Failed calls and unreadable replies are reported
    /// per example and left out of the statistics; nothing throws.
    public static func run(
        examples: [Example], judge: any EvalCompleter, model: String, concurrency: Int, rubricPrompt: JSONValue? = nil
    ) async -> JudgeCalibrationReport {
        let width = min(max(concurrency, 1), max(examples.count, 1))
        let results = await withTaskGroup(of: (Int, JudgeCalibrationReport.Result).self) { group in
            var next = 0
            func start() {
                guard next < examples.count else { return }
                let index = next
                let example = examples[index]
                group.addTask { (index, await grade(example, judge: judge, model: model, rubricPrompt: rubricPrompt)) }
                next += 1
            }
            for _ in 0..<width { start() }
            var collected = [JudgeCalibrationReport.Result?](repeating: nil, count: examples.count)
            while let (index, result) = await group.next() {
                collected[index] = result
                start()
            }
            return collected.compactMap { $0 }
        }
        return JudgeCalibrationReport(model: model, results: results)
    }

    private static func grade(_ example: Example, judge: any EvalCompleter, model: String, rubricPrompt: JSONValue?) async
        -> JudgeCalibrationReport.Result
    {
        let outcome = await ModelGradedAssertions.judgeRubric(
            output: example.output, rubric: example.rubric, prompt: example.prompt ?? "", vars: [:], judge: judge, model: model,
            rubricPrompt: rubricPrompt, threshold: nil)
        return JudgeCalibrationReport.Result(
            example: example, verdict: outcome.holds, score: outcome.holds == nil ? nil : outcome.score, reason: outcome.finding,
            tokens: outcome.judgeTokens, costUSD: outcome.judgeCostUSD)
    }
}
