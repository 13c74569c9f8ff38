import ArgumentParser
import Foundation
import LearnedRouting

/// `switchyard route calibrate`: picks the router's threshold for a goal on held-out data and stores it in the router file.
struct RouteCalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate", abstract: "Choose and store the router's threshold for a quality, share or cost goal, on held-out data.")

    @Option(help: "Router file (updated in place unless --out is given).")
    var router: String

    @Option(help: "Held-out data with outcomes (not the training data).")
    var data: String

    @Option(help: "Keep this fraction of the strong model's quality, as cheaply as possible (e.g. 0.95).")
    var targetQuality: Double?

    @Option(help: "Send at most this share of requests to the strong model (e.g. 0.3).")
    var maxStrongFraction: Double?

    @Option(name: .customLong("max-cost-per-1k-requests"), help: "Spend at most this many USD per 1,000 requests (RouteLLM prices and token formula).")
    var maxCostPer1kRequests: Double?

    @Option(help: "Write the calibrated router here instead of over --router.")
    var out: String?

    @OptionGroup var embedding: EmbeddingOptions

    func run() async throws {
        let goals: [ThresholdCalibration.Goal] = [
            targetQuality.map { .targetQuality($0) }, maxStrongFraction.map { .maxStrongFraction($0) },
            maxCostPer1kRequests.map { .maxCostPer1kRequests($0) },
        ].compactMap { $0 }
        guard goals.count == 1, let goal = goals.first else {
            throw ValidationError("Give exactly one goal: --target-quality, --max-strong-fraction or --max-cost-per-1k-requests.")
        }
        if case .targetQuality(let value) = goal, !(0...1.5).contains(value) { throw ValidationError("--target-quality is a fraction, e.g. 0.95.") }
        if case .maxStrongFraction(let value) = goal, !(0...1).contains(value) { throw ValidationError("--max-strong-fraction must be in [0, 1].") }
        var learned = try RouteOutput.loadRouter(router)
        let dataset = try RouteOutput.loadData(data)
        do { _ = try dataset.pair(weak: learned.header.weakModel, strong: learned.header.strongModel) } catch let error as RoutingDataError {
            throw CommandFailure("\(data): \(error.message)", .dataError)
        }
        let outcomes = try await RouteOutput.scoredOutcomes(learned, data: dataset, embedding: embedding)
        let choice = ThresholdCalibration.choose(outcomes, goal: goal)
        learned.header.threshold = choice.threshold
        learned.header.calibration = LearnedRouter.Calibration(
            goal: goal.name, value: goal.value, threshold: choice.threshold, strongFraction: choice.strongFraction,
            qualityFraction: choice.qualityFraction, relativeCost: choice.relativeCost, costPer1kRequests: choice.costPer1kRequests,
            examples: outcomes.count, data: data)
        let destination = out ?? router
        try learned.write(to: destination)
        print("\(goal.name) \(goal.value) on \(outcomes.count) held-out prompts: " + String(format: "threshold %.6f", choice.threshold))
        print(String(format: "  strong calls %.1f%%, quality %.1f%% of the strong model's, cost %.1f%% of all-strong ($%.4f per 1k requests)",
                     choice.strongFraction * 100, choice.qualityFraction * 100, choice.relativeCost * 100, choice.costPer1kRequests))
        if !choice.met { print("  warning: no threshold meets the goal on this data; stored the closest one.") }
        print("wrote \(destination)")
    }
}
