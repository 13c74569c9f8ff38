import ArgumentParser
import Foundation
import LearnedRouting
import Routing
import SwitchyardCore

/// `switchyard route eval`: the RouteLLM paper's figures for a router, next to the baselines, with
/// bootstrap intervals, and an SVG of the PGR curves.
struct RouteEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "APGR, CPT(50%), CPT(80%) and cost at 95% quality of a router and the baselines, with bootstrap intervals.")

    @Option(help: "Evaluation data with outcomes (keep it out of training).")
    var data: String

    @Option(help: "Router file.")
    var router: String

    @Option(help: "Bootstrap resamples.")
    var resamples = 1000

    @Option(help: "Bootstrap seed.")
    var seed: UInt64 = 7

    @Option(help: "Quality target for the cost figure, as a fraction of the strong model's quality.")
    var quality = 0.95

    @Option(help: "Where to write the SVG plot of the PGR curves.")
    var plot = "route-eval.svg"

    @OptionGroup var embedding: EmbeddingOptions

    /// The rules of the README's example auto route (no learned part): what `rules-only` means.
    static let exampleRules = RuleClassifier(
        rules: [
            .init(name: "code", task: "code", difficulty: 2, pattern: try! NSRegularExpression(pattern: "```|\\bdef\\b|\\bfunc\\b")),
            .init(name: "hard", task: "reasoning", difficulty: 3, keywords: ["prove", "derive", "step by step"]),
            .init(name: "long", difficulty: 2, minPromptTokens: 4000),
        ], defaultTask: "chat", defaultDifficulty: 1)

    func run() async throws {
        let learned = try RouteOutput.loadRouter(router)
        let dataset = try RouteOutput.loadData(data)
        do { _ = try dataset.pair(weak: learned.header.weakModel, strong: learned.header.strongModel) } catch let error as RoutingDataError {
            throw CommandFailure("\(data): \(error.message)", .dataError)
        }
        let outcomes = try await RouteOutput.scoredOutcomes(learned, data: dataset, embedding: embedding)
        let overlap = Set(dataset.examples.compactMap(\.source)).intersection(learned.header.trainingSources)
        let rules = dataset.examples.map { example in
            let features = RequestFeatures(
                promptTokens: TokenEstimator.estimate(example.prompt), expectedOutputTokens: 300, needs: [], depth: 1, lastUserText: example.prompt)
            return RouteOutput.outcome(example, score: Double(Self.exampleRules.classify(features).difficulty), router: learned)
        }
        let random = outcomes.map { ScoredOutcome(score: 0, weak: $0.weak, strong: $0.strong, weakCost: $0.weakCost, strongCost: $0.strongCost) }

        let curve = RoutingCurve(outcomes)
        print("\(outcomes.count) prompts from \(Set(dataset.examples.compactMap(\.source)).count) sources; sources also in training: \(overlap.isEmpty ? "none" : overlap.sorted().joined(separator: ", "))")
        print("weak (\(learned.header.weakModel)) accuracy " + String(format: "%.4f", curve.weakQuality)
            + ", strong (\(learned.header.strongModel)) accuracy " + String(format: "%.4f", curve.strongQuality)
            + String(format: "; prices $%.2f / $%.2f per 1M tokens, tokens = words × 1.3 + 300", RoutingPrices.routeLLM.weakPerMillion, RoutingPrices.routeLLM.strongPerMillion))
        print("router: \(learned.model.kind) \(learned.header.parameters.keys.sorted().map { "\($0)=\(learned.header.parameters[$0]!)" }.joined(separator: " ")) target=\(learned.header.target) max_words=\(learned.header.maxWords.map(String.init) ?? "-")")
        print("\(resamples) bootstrap resamples (seed \(seed)), 95% percentile intervals; CPT and cost are shares of calls / of all-strong cost")
        print("")
        let header = "router".padding(toLength: 22, withPad: " ", startingAt: 0)
            + "APGR                     CPT(50%)                 CPT(80%)                 cost at \(Int(quality * 100))% quality"
        print(header)
        for (label, scored) in [("learned (\(learned.model.kind))", outcomes), ("random (expected)", random), ("rules-only", rules)] {
            let metrics = RoutingMetrics(RoutingCurve(scored), qualityFraction: quality)
            let intervals = RoutingBootstrap.intervals(scored, resamples: resamples, seed: seed, qualityFraction: quality)
            print(label.padding(toLength: 22, withPad: " ", startingAt: 0)
                + Self.cell(metrics.apgr, intervals.apgr, percent: false) + Self.cell(metrics.cpt50, intervals.cpt50)
                + Self.cell(metrics.cpt80, intervals.cpt80) + Self.cell(metrics.costAt95, intervals.costAt95))
        }
        let allStrongCost = outcomes.reduce(0) { $0 + $1.strongCost }
        let weakCost = outcomes.reduce(0) { $0 + $1.weakCost } / allStrongCost
        print("always-weak".padding(toLength: 22, withPad: " ", startingAt: 0)
            + String(format: "strong calls   0.0%%, PGR 0.00, quality %.1f%% of strong, cost %.1f%% of all-strong", curve.weakQuality / curve.strongQuality * 100, weakCost * 100))
        print("always-strong".padding(toLength: 22, withPad: " ", startingAt: 0) + "strong calls 100.0%, PGR 1.00, quality 100.0% of strong, cost 100.0% of all-strong")
        if let threshold = learned.header.threshold {
            let point = RoutingCurve.operatingPoint(outcomes, threshold: threshold)
            print(String(format: "calibrated threshold %.6f here: strong calls %.1f%%, quality %.1f%% of strong (PGR %.2f), cost %.1f%% of all-strong",
                         threshold, point.strongFraction * 100, point.quality / curve.strongQuality * 100, curve.pgr(quality: point.quality),
                         point.relativeCost * 100)
                + (learned.header.calibration.map { " (goal \($0.goal) \($0.value))" } ?? ""))
        }
        let svg = CurvePlot.svg(
            title: "PGR vs strong-call share — \(outcomes.count) prompts of \(data.split(separator: "/").last ?? "")",
            series: [
                .init(label: "learned (\(learned.model.kind))", curve: curve, colour: "#1f77b4"),
                .init(label: "rules-only", curve: RoutingCurve(rules), colour: "#ff7f0e"),
                .init(label: "random", curve: RoutingCurve(random), colour: "#888888", dashed: true),
            ],
            points: [("always-weak", 0, 0), ("always-strong", 1, 1)])
        try svg.write(toFile: plot, atomically: true, encoding: .utf8)
        print("plot: \(plot)")
    }

    static func cell(_ value: Double?, _ interval: Interval, percent: Bool = true) -> String {
        let text: String
        if percent {
            text = "\(RouteOutput.percent(value)) [\(RouteOutput.percent(interval.low)), \(RouteOutput.percent(interval.high))]"
        } else {
            text = String(format: "%.4f [%.4f, %.4f]", value ?? .nan, interval.low, interval.high)
        }
        return text.padding(toLength: 25, withPad: " ", startingAt: 0)
    }
}
