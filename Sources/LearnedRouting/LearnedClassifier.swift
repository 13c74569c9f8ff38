import Foundation
import SwitchyardCore

/// An auto route's classifier backed by a learned router: embeds the last user turn (cut to the
/// router's `maxWords`), scores it, and turns the score into a difficulty by thresholds, so the
/// route's tiers (`max_difficulty`) pick the model: below the first threshold difficulty 1 (the weak
/// tier), at or above it 2, at or above a second threshold 3, and so on.
public struct LearnedClassifier: RequestClassifier {
    public let router: LearnedRouter
    /// Ascending score thresholds; one for a two-tier route.
    public let thresholds: [Double]
    private let embedder: any TextEmbedder

    public init(router: LearnedRouter, thresholds: [Double], embedder: any TextEmbedder) {
        self.router = router
        self.thresholds = thresholds.sorted()
        self.embedder = embedder
    }

    /// The router's own calibrated threshold, when it has one.
    public static func defaultThresholds(_ router: LearnedRouter) -> [Double]? {
        router.header.threshold.map { [$0] }
    }

    public func score(_ text: String) async throws -> Double {
        guard embedder.modelName == router.header.embeddingModel else {
            throw SwitchyardError.configuration(
                "The router was trained on \(router.header.embeddingModel) embeddings, but the embedder is \(embedder.modelName).")
        }
        guard let vector = try await embedder.embed([router.embeddingText(text)]).vectors.first else {
            throw SwitchyardError.configuration("The embedding model returned no vector for the learned router.")
        }
        return router.score(vector)
    }

    public func classify(_ features: RequestFeatures) async throws -> Classification {
        let score = try await score(features.lastUserText)
        let passed = thresholds.filter { score >= $0 }.count
        let bar = passed == 0 ? "< \(Self.format(thresholds.first ?? 0))" : "≥ \(Self.format(thresholds[passed - 1]))"
        return Classification(
            task: "chat", difficulty: 1 + passed, reason: "learned \(router.model.kind): score \(Self.format(score)) \(bar)",
            score: score)
    }

    static func format(_ value: Double) -> String { String(format: "%.6f", value) }
}
