import Foundation
import Routing
import Storage
import SwitchyardCore

/// An experiment's report, computed from its logged requests and feedback. Pure: the numbers are
/// the statistics of `Statistics`, each variant compared with the first (the control).
///
/// Per variant: requests, cost (total, mean per request), latency p50/p95, error rate, and per
/// feedback metric its count and mean. Per variant other than the control and per metric both
/// have: the difference of means and a two-sided test — a two-proportion z-test when every value of
/// the metric is a verdict (true/false), Welch's t-test otherwise — or "not enough data" when an
/// arm has fewer than `minimumPerArm` values.
public enum ExperimentReport {
    public static let minimumPerArm = 5
    /// The level `significant` is judged at.
    public static let alpha = 0.05

    public static func make(_ experiment: Experiment, observations: ExperimentObservations) -> JSONValue {
        let total = experiment.variants.reduce(0) { $0 + $1.weight }
        var variants: [JSONValue] = []
        for (index, variant) in experiment.variants.enumerated() {
            let requests = observations.requests[variant.name] ?? []
            let costs = requests.map(\.costUSD)
            let latencies = requests.map(\.latencyMs)
            let errors = requests.filter(\.failed).count
            var feedback: [String: JSONValue] = [:]
            for (metric, values) in observations.feedback[variant.name] ?? [:] {
                feedback[metric] = FeedbackStat(count: values.count, mean: Statistics.mean(values.map(\.number)) ?? 0).json
            }
            variants.append([
                "name": .string(variant.name), "target": .string(variant.target), "weight": .double(variant.weight),
                "share": .double(total > 0 ? variant.weight / total : 0), "control": .bool(index == 0),
                "requests": .int(Int64(requests.count)), "errors": .int(Int64(errors)),
                "error_rate": requests.isEmpty ? .null : .double(Double(errors) / Double(requests.count)),
                "cost_usd": ["total": .double(costs.reduce(0, +)), "mean": number(Statistics.mean(costs))],
                "latency_ms": ["p50": number(Statistics.percentile(latencies, 0.5)), "p95": number(Statistics.percentile(latencies, 0.95))],
                "feedback": .object(feedback),
            ])
        }
        var comparisons: [JSONValue] = []
        if let control = experiment.variants.first {
            let controlFeedback = observations.feedback[control.name] ?? [:]
            for variant in experiment.variants.dropFirst() {
                let feedback = observations.feedback[variant.name] ?? [:]
                for metric in Set(controlFeedback.keys).union(feedback.keys).sorted() {
                    comparisons.append(compare(
                        metric: metric, variant: variant.name, control: control.name, values: feedback[metric] ?? [],
                        controlValues: controlFeedback[metric] ?? []))
                }
            }
        }
        return [
            "object": "experiment", "name": .string(experiment.name), "control": .string(experiment.variants.first?.name ?? ""),
            "variants": .array(variants), "comparisons": .array(comparisons),
        ]
    }

    /// One variant against the control on one metric.
    static func compare(metric: String, variant: String, control: String, values: [FeedbackValue], controlValues: [FeedbackValue]) -> JSONValue {
        let verdicts = (values + controlValues).allSatisfy(\.isBool)
        var object: [String: JSONValue] = [
            "metric": .string(metric), "variant": .string(variant), "control": .string(control),
            "n": .int(Int64(values.count)), "control_n": .int(Int64(controlValues.count)),
            "mean": number(Statistics.mean(values.map(\.number))), "control_mean": number(Statistics.mean(controlValues.map(\.number))),
            "test": .string(verdicts ? "two-proportion z" : "welch t"),
        ]
        if let mean = Statistics.mean(values.map(\.number)), let controlMean = Statistics.mean(controlValues.map(\.number)) {
            object["difference"] = .double(mean - controlMean)
        }
        guard values.count >= minimumPerArm, controlValues.count >= minimumPerArm else {
            object["p_value"] = .null
            object["note"] = .string("not enough data: fewer than \(minimumPerArm) feedback values in an arm")
            return .object(object)
        }
        let result: Statistics.TestResult?
        if verdicts {
            result = Statistics.twoProportionZTest(
                successesA: values.filter { $0.number == 1 }.count, totalA: values.count,
                successesB: controlValues.filter { $0.number == 1 }.count, totalB: controlValues.count)
        } else {
            result = Statistics.welchTTest(values.map(\.number), controlValues.map(\.number))
        }
        guard let result else {
            object["p_value"] = .null
            object["note"] = .string("no variance: every value is the same, so no test applies")
            return .object(object)
        }
        object["statistic"] = .double(result.statistic)
        if let degrees = result.degreesOfFreedom { object["df"] = .double(degrees) }
        object["p_value"] = .double(result.pValue)
        object["significant"] = .bool(result.pValue < alpha)
        return .object(object)
    }

    private static func number(_ value: Double?) -> JSONValue {
        value.map { .double($0) } ?? .null
    }
}
