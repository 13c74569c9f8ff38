import Foundation
import Testing

import Routing
import SwitchyardCore
@testable import LearnedRouting

@Suite("Routing data files")
struct RoutingDatasetTests {
    @Test func readsFlagsMessagesAndGeneralOutcomes() throws {
        let text = """
            {"id": "a", "source": "mmlu/x", "prompt": "What is 2+2?", "weak_correct": true, "strong_correct": false}
            {"id": 7, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}], "outcomes": {"small": 0.25, "big": 1}}

            {"prompt": "no id", "outcomes": {"small": 0, "big": 1}}
            """
        let dataset = try RoutingDataset.parse(text, file: "d.jsonl")
        #expect(dataset.examples.count == 3)
        #expect(dataset.examples[0] == RoutingExample(id: "a", source: "mmlu/x", prompt: "What is 2+2?", outcomes: ["weak": 1, "strong": 0]))
        #expect(dataset.examples[1].id == "7" && dataset.examples[1].prompt == "Hi" && dataset.examples[1].outcomes == ["small": 0.25, "big": 1])
        #expect(dataset.examples[2].id == "4")
        // Only small and big are scored on lines 2 and 4; line 1 has other names.
        let general = RoutingDataset(examples: Array(dataset.examples.dropFirst()))
        let pair = try general.pair(weak: nil, strong: nil)
        #expect(pair.weak == "small" && pair.strong == "big")
        #expect(throws: RoutingDataError.self) { try dataset.pair(weak: nil, strong: nil) }
    }

    @Test(arguments: [
        (#"{"prompt": 3, "weak_correct": true, "strong_correct": true}"#, "prompt"),
        (#"{"weak_correct": true, "strong_correct": true}"#, "prompt"),
        (#"{"prompt": "p", "weak_correct": "yes", "strong_correct": true}"#, "weak_correct"),
        (#"{"prompt": "p", "outcomes": {"m": 1.5}}"#, "outcomes.m"),
        (#"{"prompt": "p"}"#, "outcomes"),
        (#"{"messages": [{"role": "assistant", "content": "x"}], "outcomes": {"m": 1}}"#, "messages"),
        (#"{"prompt": "p", "outcomes": {"m": 1}, "id": [1]}"#, "id"),
        (#"not json"#, "-"),
    ])
    func errorsNameTheLineAndField(line: String, field: String) {
        let text = #"{"prompt": "fine", "weak_correct": true, "strong_correct": true}"# + "\n" + line
        do {
            _ = try RoutingDataset.parse(text, file: "bad.jsonl")
            Issue.record("expected an error for \(line)")
        } catch let error as RoutingDataError {
            #expect(error.line == 2 && error.field == field)
            #expect(error.description.hasPrefix("bad.jsonl:2: field `\(field)`"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func splitBySourceIsDeterministicAndDisjoint() {
        let sources: [String?] = (0..<300).map { "s\($0 % 12)" }
        let split = SourceSplit.make(sources: sources, seed: 8, fractions: [0.3, 0.2])
        #expect(split == SourceSplit.make(sources: sources, seed: 8, fractions: [0.3, 0.2]))
        #expect(Set(split.parts.flatMap { $0 }).count == 12)
        #expect(split.parts.flatMap { $0 }.count == 12)
        #expect(split.parts[0].count == 3 || split.parts[0].count == 4)
    }
}

extension SourceSplit: Equatable {
    public static func == (a: SourceSplit, b: SourceSplit) -> Bool { a.parts == b.parts }
}

/// Synthetic data where the need for the strong model depends on the first coordinate of the embedding.
struct SyntheticRouting {
    var examples: [RoutingExample] = []
    var rows: [[Float]] = []

    init(count: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for index in 0..<count {
            var vector = (0..<8).map { _ in Float(generator.nextGaussian()) }
            let hard = vector[0] > 0.3
            vector[1] += hard ? 0.5 : 0
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            rows.append(vector.map { $0 / norm })
            let weakRight = hard ? generator.nextUnit() < 0.2 : generator.nextUnit() < 0.9
            examples.append(
                RoutingExample(id: "\(index)", source: "topic-\(index % 6)", prompt: "p\(index)", outcomes: ["weak": weakRight ? 1 : 0, "strong": 1]))
        }
    }

    var matrix: EmbeddingMatrix { EmbeddingMatrix(rows: rows) }
}

@Suite("Router training, files and the classifier")
struct RouterTrainingTests {
    let data = SyntheticRouting(count: 600, seed: 5)

    @Test func foldsNeverSplitASource() {
        let folds = RouterTrainer.folds(sources: data.examples.map(\.source), count: 3, seed: 1)
        var foldOfSource: [String: Int] = [:]
        for (example, fold) in zip(data.examples, folds) {
            #expect(foldOfSource.updateValue(fold, forKey: example.source!) ?? fold == fold)
        }
        #expect(Set(folds) == [0, 1, 2])
    }

    @Test func everyKindLearnsTheSignalAndSelectionRanksThem() {
        let trainer = RouterTrainer(examples: data.examples, embeddings: data.matrix, weak: "weak", strong: "strong", seed: 1)
        let candidates = [
            RouterTrainer.Candidate(kind: "knn", target: .strongBetter, parameters: ["k": 20, "prior": 1]),
            RouterTrainer.Candidate(kind: "logistic", target: .gain, parameters: ["l2": 1e-3]),
            RouterTrainer.Candidate(kind: "mlp", target: .gain, parameters: ["hidden": 8, "l2": 1e-3]),
        ]
        let ranked = trainer.select(candidates, folds: 3)
        #expect(ranked.count == 3)
        // Random is 0.5; the oracle on this data is about 0.85.
        for (_, summary) in ranked { #expect(summary.apgr > 0.6, "\(summary.name) \(summary.apgr)") }
        #expect(ranked[0].1.apgr >= ranked[2].1.apgr)
    }

    @Test func trainingIsDeterministic() {
        let trainer = RouterTrainer(examples: data.examples, embeddings: data.matrix, weak: "weak", strong: "strong", seed: 9)
        let candidate = RouterTrainer.Candidate(kind: "mlp", target: .gain, parameters: ["hidden": 4, "l2": 1e-3])
        guard case .perceptron(let a) = trainer.fit(candidate), case .perceptron(let b) = trainer.fit(candidate) else {
            Issue.record("expected an MLP")
            return
        }
        #expect(a.inputWeights == b.inputWeights && a.outputBias == b.outputBias)
    }

    @Test(arguments: ["knn", "logistic", "mlp"])
    func routerFilesRoundTrip(kind: String) throws {
        let trainer = RouterTrainer(examples: data.examples, embeddings: data.matrix, weak: "weak", strong: "strong", seed: 1)
        let model = trainer.fit(RouterTrainer.Candidate(kind: kind, target: .gain, parameters: ["k": 10, "l2": 1e-3, "hidden": 4]))
        let header = LearnedRouter.Header(
            kind: kind, parameters: ["k": 10, "hidden": 4, "prior": 1], target: "gain", embeddingModel: "test", dimensions: 8, maxWords: 3,
            weakModel: "weak", strongModel: "strong", trainingExamples: 600, trainingSources: ["a"], seed: 1, selection: [], threshold: 0.4)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("router-\(kind)-\(UUID()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try LearnedRouter(header: header, model: model).write(to: path)
        let loaded = try LearnedRouter.load(path: path)
        #expect(loaded.model.kind == kind && loaded.header.threshold == 0.4 && loaded.header.maxWords == 3)
        for row in data.rows.prefix(20) { #expect(loaded.score(row) == model.score(row)) }
    }

    @Test func damagedRouterFilesAreClearErrors() throws {
        #expect(throws: RouterFileError.self) { try LearnedRouter.decode(Data("{}".utf8), source: "x") }
        let header = LearnedRouter.Header(
            kind: "logistic", parameters: [:], target: "gain", embeddingModel: "test", dimensions: 8, maxWords: nil, weakModel: "weak",
            strongModel: "strong", trainingExamples: 1, trainingSources: [], seed: 1, selection: [])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("router-\(UUID()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try LearnedRouter(header: header, model: .logistic(LogisticScorer(weights: [Float](repeating: 0.1, count: 8), bias: 0))).write(to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            _ = try LearnedRouter.decode(data.dropLast(5), source: "cut.bin")
            Issue.record("a truncated file loaded")
        } catch let error as RouterFileError {
            #expect(error.description.contains("truncated"))
        }
    }

    @Test func truncationKeepsTheFirstWords() {
        #expect(LearnedRouter.truncate("one  two\nthree four", maxWords: 2) == "one  two")
        #expect(LearnedRouter.truncate("one two", maxWords: 5) == "one two")
        #expect(LearnedRouter.truncate("  one two", maxWords: nil) == "  one two")
        #expect(LearnedRouter.truncate("a b c d e f", maxWords: 4, cut: "head-tail") == "a b … e f")
        #expect(LearnedRouter.truncate("a b c", maxWords: 4, cut: "head-tail") == "a b c")
    }

    @Test func embeddingCacheSurvivesARestart() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("embeddings-\(UUID()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let embedder = CountingEmbedder()
        var cache = EmbeddingCache(path: path, model: embedder.modelName, dimensions: 2)
        let first = try await cache.embed(["hard question", "easy", "hard question"], with: embedder)
        #expect(first.count == 3 && first.row(0) == first.row(2))
        #expect(await embedder.calls == [["easy", "hard question"]])
        var reopened = EmbeddingCache(path: path, model: embedder.modelName, dimensions: 2)
        #expect(reopened.count == 2)
        _ = try await reopened.embed(["easy", "new"], with: embedder)
        #expect(await embedder.calls == [["easy", "hard question"], ["new"]])
        // Another model's cache is not reused.
        #expect(EmbeddingCache(path: path, model: "other", dimensions: 2).count == 0)
    }

    @Test func recentEmbeddingsAreReused() async throws {
        let base = CountingEmbedder()
        let recent = RecentEmbeddings(base, capacity: 2)
        _ = try await recent.embed(["hard one"])
        #expect(try await recent.embed(["hard one"]).vectors == [[1, 0]])
        #expect(await base.calls == [["hard one"]])
        _ = try await recent.embed(["b"])
        _ = try await recent.embed(["c"])  // pushes "hard one" out
        _ = try await recent.embed(["hard one"])
        #expect(await base.calls.count == 4)
    }

    @Test func classifierTurnsScoresIntoDifficulties() async throws {
        // Logistic on the first coordinate: "hard" texts embed to [1, 0] (score σ(4) ≈ 0.98), others to [0, 1] (σ(−4) ≈ 0.02).
        let header = LearnedRouter.Header(
            kind: "logistic", parameters: [:], target: "gain", embeddingModel: "counting", dimensions: 2, maxWords: 4, weakModel: "weak",
            strongModel: "strong", trainingExamples: 1, trainingSources: [], seed: 1, selection: [], threshold: 0.5)
        let router = LearnedRouter(header: header, model: .logistic(LogisticScorer(weights: [8, 0], bias: -4)))
        let classifier = LearnedClassifier(router: router, thresholds: [0.5], embedder: CountingEmbedder())
        let features = { (text: String) in RequestFeatures(promptTokens: 10, expectedOutputTokens: 10, needs: [], depth: 1, lastUserText: text) }
        let hard = try await classifier.classify(features("a hard question"))
        let easy = try await classifier.classify(features("hello there"))
        #expect(hard.difficulty == 2 && (hard.score ?? 0) > 0.9 && hard.reason.contains("learned logistic"))
        #expect(easy.difficulty == 1 && (easy.score ?? 1) < 0.1)
        // Only the first 4 words are embedded: "hard" in fifth place does not count.
        #expect(try await classifier.classify(features("one two three four hard")).difficulty == 1)
        let tiers = LearnedClassifier(router: router, thresholds: [0.9, 0.01], embedder: CountingEmbedder())
        #expect(try await tiers.classify(features("hard")).difficulty == 3)
        #expect(try await tiers.classify(features("easy")).difficulty == 2)
    }
}

/// Embeds texts containing "hard" as [1, 0] and the rest as [0, 1]; records every call.
actor CountingEmbedder: TextEmbedder {
    nonisolated let modelName = "counting"
    nonisolated let dimensions = 2
    var calls: [[String]] = []

    func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        calls.append(texts)
        return EmbeddingBatch(vectors: texts.map { $0.contains("hard") ? [1, 0] : [0, 1] }, promptTokens: texts.count)
    }
}
