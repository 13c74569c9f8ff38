import ArgumentParser
import Embeddings
import Foundation
import LearnedRouting
import SwitchyardCore

/// `switchyard route …`: learned routing — train, calibrate, evaluate, score.
struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route", abstract: "Learned routing: train a router on recorded outcomes, calibrate it to a goal, evaluate it.",
        subcommands: [
            RouteSplitCommand.self, RouteTrainCommand.self, RouteCalibrateCommand.self, RouteEvalCommand.self, RouteScoreCommand.self,
        ])
}

/// Options every `route` subcommand that embeds prompts shares.
struct EmbeddingOptions: ParsableArguments {
    @Option(help: "Directory of the local embedding model (default: the models cache).")
    var modelDir: String?

    @Option(help: "File that keeps prompt embeddings keyed by text hash (default: ~/.cache/switchyard/router-embeddings.bin).")
    var embeddingCache: String?

    func embedder() throws -> MiniLMEmbedder {
        try MiniLMEmbedder.load(modelDirectory: modelDir)
    }

    var cachePath: String {
        embeddingCache ?? FileManager.default.homeDirectoryForCurrentDirectory.appendingPathComponent(".cache/switchyard/router-embeddings.bin").path
    }

    /// Embeddings of the prompts (cut to `maxWords`), from the cache file or the model.
    func embed(_ prompts: [String], maxWords: Int?, cut: String? = nil) async throws -> EmbeddingMatrix {
        let embedder = try embedder()
        var cache = EmbeddingCache(path: cachePath, model: embedder.modelName, dimensions: embedder.dimensions)
        let texts = prompts.map { LearnedRouter.truncate($0, maxWords: maxWords, cut: cut) }
        var progress: TaskProgress?
        let matrix = try await cache.embed(texts, with: embedder) { done, total in
            if progress == nil { progress = TaskProgress("route: embedding new prompts", total: total, unit: "prompts") }
            progress?.update(done: done)
        }
        progress?.finish()
        return matrix
    }
}

extension FileManager {
    var homeDirectoryForCurrentDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory())
    }
}

enum RouteOutput {
    /// Progress goes to stderr so stdout stays the figures (or JSON Lines for `route score`).
    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func percent(_ value: Double?) -> String {
        guard let value, !value.isNaN else { return "   -  " }
        return String(format: "%5.1f%%", value * 100)
    }

    static func loadData(_ path: String) throws -> RoutingDataset {
        do {
            return try RoutingDataset.load(path: path)
        } catch let error as RoutingDataError {
            throw CommandFailure(error.description, .dataError)
        }
    }

    static func loadRouter(_ path: String) throws -> LearnedRouter {
        do {
            return try LearnedRouter.load(path: path)
        } catch let error as RouterFileError {
            throw CommandFailure(error.description, .dataError)
        }
    }

    /// The router's scores for every example of `data`, with outcomes and the RouteLLM costs.
    static func scoredOutcomes(_ router: LearnedRouter, data: RoutingDataset, embedding: EmbeddingOptions, prices: RoutingPrices = .routeLLM)
        async throws -> [ScoredOutcome]
    {
        let matrix = try await embedding.embed(data.examples.map(\.prompt), maxWords: router.header.maxWords, cut: router.header.cut)
        return data.examples.enumerated().map { index, example in
            outcome(example, score: router.score(matrix.row(index)), router: router, prices: prices)
        }
    }

    static func outcome(_ example: RoutingExample, score: Double, router: LearnedRouter, prices: RoutingPrices = .routeLLM) -> ScoredOutcome {
        outcome(example, score: score, weak: router.header.weakModel, strong: router.header.strongModel, prices: prices)
    }

    static func outcome(_ example: RoutingExample, score: Double, weak: String, strong: String, prices: RoutingPrices = .routeLLM) -> ScoredOutcome {
        let costs = prices.costs(prompt: example.prompt)
        return ScoredOutcome(
            score: score, weak: example.outcomes[weak] ?? 0, strong: example.outcomes[strong] ?? 0, weakCost: costs.weak, strongCost: costs.strong)
    }
}
