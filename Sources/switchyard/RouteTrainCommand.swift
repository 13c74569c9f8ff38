import ArgumentParser
import Evaluation
import Foundation
import LearnedRouting
import Storage
import SwitchyardCore

/// `switchyard route train`: fits the candidate routers, picks one by cross-validation grouped by
/// source, retrains it on everything and saves it. The data comes from a file (`--data`), from the
/// gateway's own traffic (`--from-log --metric M`: logged prompts and their feedback) or from an
/// eval's results (`--from-eval`).
struct RouteTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a learned router on recorded outcomes (model chosen by cross-validation grouped by source).")

    @Option(help: "Training data (JSON Lines: prompt or messages; weak_correct/strong_correct or outcomes).")
    var data: String?

    @Flag(name: .customLong("from-log"), help: "Learn from the request log: prompts kept with `request_log: {store_prompts: true}` and their feedback on --metric.")
    var fromLog = false

    @Option(name: .customLong("from-eval"), help: "Learn from an eval run's results (file).")
    var fromEval: String?

    @Option(help: "With --from-log: the feedback metric that scores the answers (e.g. helpful).")
    var metric: String?

    @Option(name: .shortAndLong, help: "With --from-log: configuration whose storage (storage.sqlite or storage.postgres) to read (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "With --from-log: path of the SQLite file (instead of --config).")
    var db: String?

    @Option(help: "With --from-eval: each cell's outcome is its score (the weighted assertion score) or its verdict (pass: 1 or 0).")
    var outcome: EvalTrainingData.Outcome = .score

    @Option(help: "Also write the derived training data here (JSON Lines, the --data format); without --out, only that.")
    var writeData: String?

    @Option(help: "Where to write the router file.")
    var out: String?

    @Option(help: "The weak model's name in `outcomes` (default: `weak`, or the lower-scoring of two).")
    var weak: String?

    @Option(help: "The strong model's name in `outcomes`.")
    var strong: String?

    @Option(help: "Cross-validation folds (sources never split across folds).")
    var folds = 5

    @Option(help: "Seed for folds, initialisation and shuffling.")
    var seed: UInt64 = 1

    @Option(help: "Embed only the first N words of each prompt: the default 16 keeps the decision under 3 ms whatever the prompt's length, at an in-domain APGR within the interval of the whole turn's. 0 = the whole turn, as the semantic cache embeds it (then the gateway embeds once for both, but a long turn alone costs up to ~20 ms; the model stops at 256 word-pieces).")
    var maxWords = 16

    @Option(help: "Which words a cut keeps: head (the first N) or head-tail (the first and last N/2).")
    var cut = "head"

    @Option(help: "Which kinds to try: comma-separated knn, logistic, mlp.")
    var kinds = "knn,logistic,mlp"

    @OptionGroup var embedding: EmbeddingOptions

    func validate() throws {
        let sources = [data != nil ? "--data" : nil, fromLog ? "--from-log" : nil, fromEval != nil ? "--from-eval" : nil].compactMap { $0 }
        guard sources.count == 1 else {
            throw ValidationError(
                sources.isEmpty
                    ? "Give the training data: --data FILE, --from-log --metric M, or --from-eval FILE."
                    : "Give exactly one of --data, --from-log and --from-eval (got \(sources.joined(separator: ", "))).")
        }
        if fromLog {
            guard let metric else { throw ValidationError("--from-log needs --metric: the feedback metric that scores the answers.") }
            guard Feedback.isValidMetric(metric) else {
                throw ValidationError("--metric must be 1 to 64 letters, digits, '_', '.', ':' or '-'.")
            }
        } else if metric != nil {
            throw ValidationError("--metric goes with --from-log.")
        }
        if data != nil, writeData != nil { throw ValidationError("--write-data saves data derived with --from-log or --from-eval; --data is already a file.") }
        guard out != nil || writeData != nil else { throw ValidationError("Give --out (the router file to write), or --write-data to only write the derived data.") }
    }

    func run() async throws {
        let dataset: RoutingDataset
        if let data {
            dataset = try RouteOutput.loadData(data)
        } else if fromLog {
            dataset = try derive(try await logObservations(), from: "the request log")
        } else {
            dataset = try evalDataset(fromEval ?? "")
        }
        guard let out else { return }
        let pair: (weak: String, strong: String)
        do { pair = try dataset.pair(weak: weak, strong: strong) } catch let error as RoutingDataError { throw CommandFailure(error.message, .dataError) }
        let sources = Set(dataset.examples.compactMap(\.source))
        RouteOutput.log("\(dataset.examples.count) examples from \(sources.count) sources; weak = \(pair.weak), strong = \(pair.strong)")
        guard cut == "head" || cut == "head-tail" else { throw ValidationError("--cut must be head or head-tail.") }
        let matrix = try await embedding.embed(dataset.examples.map(\.prompt), maxWords: maxWords > 0 ? maxWords : nil, cut: cut)
        let trainer = RouterTrainer(examples: dataset.examples, embeddings: matrix, weak: pair.weak, strong: pair.strong, seed: seed)
        let wanted = Set(kinds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let candidates = RouterTrainer.defaultCandidates.filter { wanted.contains($0.kind) }
        guard !candidates.isEmpty else { throw ValidationError("--kinds: none of \(kinds) is knn, logistic or mlp.") }
        let folds = min(self.folds, max(sources.count, 1))
        print("model selection: \(folds)-fold cross-validation grouped by source (\(sources.count) sources), held-out APGR per fold, weighted by prompts × weak→strong gap")
        let ranked = trainer.select(candidates, folds: folds) { print($0) }
        let (chosen, summary) = ranked[0]
        print("chosen: \(chosen.name)" + String(format: " (held-out APGR %.4f, gap-weighted over folds; per-fold sd %.4f)", summary.apgr, summary.apgrStandardDeviation))
        let model = trainer.fit(chosen)
        let header = LearnedRouter.Header(
            kind: model.kind, parameters: chosen.parameters, target: chosen.target.rawValue, embeddingModel: try embedding.embedder().modelName,
            dimensions: matrix.dimensions, maxWords: maxWords > 0 ? maxWords : nil, cut: cut, weakModel: pair.weak, strongModel: pair.strong,
            trainingExamples: dataset.examples.count, trainingSources: sources.sorted(), seed: seed,
            selection: ranked.map(\.1), threshold: nil, calibration: nil, tensors: [])
        try LearnedRouter(header: header, model: model).write(to: out)
        print("wrote \(out)")
    }
}

extension RouteTrainCommand {
    /// The request log's prompts with feedback on `--metric`, read from the storage (SQLite or PostgreSQL).
    func logObservations() async throws -> [OutcomeObservation] {
        let location = try StorageLocation.find(db: db, config: config)
        if case .sqlite(":memory:") = location {
            throw CommandFailure("The gateway keeps its database in memory: there is no request log to learn from.", .configuration)
        }
        let metric = metric ?? ""
        let observations = try await location.withRequestLog { store in try await store.outcomeObservations(metric: metric) }
        guard !observations.isEmpty else {
            throw CommandFailure(
                "No logged request in \(location.description) has both a stored prompt and feedback on '\(metric)'. Prompts are kept only with "
                    + "`request_log: {store_prompts: true}`; feedback comes from POST /v1/switchyard/feedback.", .dataError)
        }
        return observations
    }

    /// Groups observed outcomes into examples (`RoutingDataset.derived`), says what was left out,
    /// and writes them to `--write-data` when asked. `--from-log` and `--from-eval` share it.
    func derive(_ observations: [OutcomeObservation], from origin: String) throws -> RoutingDataset {
        let pair = weak.flatMap { weak in strong.map { (weak: weak, strong: $0) } }
        let dataset: RoutingDataset
        let derivation: RoutingDataset.Derivation
        do {
            (dataset, derivation) = try RoutingDataset.derived(from: observations, pair: pair)
        } catch let error as RoutingDataset.DerivationError {
            throw CommandFailure(error.message, .dataError)
        }
        RouteOutput.log(
            "\(derivation.observations) observations from \(origin): \(derivation.prompts) prompts, \(derivation.examples) examples; models "
                + derivation.models.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", "))
        if derivation.singleModelPrompts > 0 {
            RouteOutput.log("\(derivation.singleModelPrompts) prompts answered by one model only were left out; use experiments or evals to get both")
        }
        if derivation.missingPairPrompts > 0 {
            RouteOutput.log("\(derivation.missingPairPrompts) prompts without both \(pair?.weak ?? "-") and \(pair?.strong ?? "-") were left out")
        }
        try save(dataset)
        return dataset
    }

    /// Writes derived data to `--write-data`, when asked.
    func save(_ dataset: RoutingDataset) throws {
        guard let writeData else { return }
        do {
            try dataset.jsonLines().write(toFile: writeData, atomically: true, encoding: .utf8)
        } catch {
            throw CommandFailure("Cannot write '\(writeData)': \(error.localizedDescription)", .failure)
        }
        RouteOutput.log("wrote \(dataset.examples.count) examples to \(writeData)")
    }

    /// Eval results (`eval run --output results.json`, or promptfoo's) as training data: one example
    /// per test and prompt, each provider's score (or verdict, `--outcome pass`) as its outcome.
    /// Unlike the log, two tests with the same prompt stay two examples: they are two measurements.
    func evalDataset(_ path: String) throws -> RoutingDataset {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= 1 << 30 else { throw CommandFailure("\(path) is \(size >> 20) MB; eval results over 1 GB are refused.", .dataError) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("Cannot read '\(path)': it does not exist or is not readable.", .notFound)
        }
        let records: [EvalResultRecord]
        do {
            records = try EvalReport.readResults(data)
        } catch {
            throw CommandFailure("\(path): \(error)", .dataError)
        }
        let derived = EvalTrainingData.derive(records, outcome: outcome)
        let usable = derived.examples.filter { $0.outcomes.count >= 2 }
        RouteOutput.log(
            "\(records.count) cells from \(path): \(derived.examples.count) prompts, \(usable.count) answered by two or more models"
                + (derived.erroredCells > 0 ? "; \(derived.erroredCells) errored cells left out (an error is no verdict)" : ""))
        if usable.count < derived.examples.count {
            RouteOutput.log("\(derived.examples.count - usable.count) prompts answered by one model only were left out")
        }
        guard usable.count >= RoutingDataset.minimumDerivedExamples else {
            throw CommandFailure(
                "\(path): only \(usable.count) prompts were answered by two or more models; a router needs at least \(RoutingDataset.minimumDerivedExamples). Run the suite against both models.",
                .dataError)
        }
        let dataset = RoutingDataset(examples: usable.map { RoutingExample(id: $0.id, source: $0.source, prompt: $0.prompt, outcomes: $0.outcomes) })
        try save(dataset)
        return dataset
    }
}

extension EvalTrainingData.Outcome: ExpressibleByArgument {}
