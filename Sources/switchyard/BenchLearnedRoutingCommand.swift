import ArgumentParser
import Embeddings
import Foundation
import Gateway
import Routing
import LearnedRouting
import SwitchyardCore

/// `switchyard bench learned-routing`: what a learned router adds to a request — embedding the prompt
/// with the local model and scoring it — on real prompts, side by side with the rules-only decision.
struct BenchLearnedRoutingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learned-routing", abstract: "Time the learned router's decision (embed + score) per request, p50/p99, on real prompts.")

    @Option(help: "Router file (`switchyard route train`).")
    var router: String

    @Option(help: "Prompts to time (JSON Lines with prompt or messages).")
    var data: String

    @Option(help: "How many prompts (taken evenly across the file).")
    var samples = 300

    @Option(help: "Directory of the local embedding model (default: the models cache).")
    var modelDir: String?

    @Option(help: "Precision of the local model (the gateway's default for routing is bfloat16).")
    var precision: EmbeddingPrecision = .bfloat16

    func run() async throws {
        let learned = try RouteOutput.loadRouter(router)
        let all = try RouteScoreCommand.prompts(data).map(\.prompt)
        let step = max(1, all.count / samples)
        let prompts = stride(from: 0, to: all.count, by: step).prefix(samples).map { all[$0] }
        let localModel = MiniLMEmbedder.Loader(directory: modelDir.map { URL(fileURLWithPath: $0) })
        let embedder = try localModel.embedder(precision: precision)
        let words = prompts.map { $0.split(whereSeparator: \.isWhitespace).count }.sorted()
        print("\(prompts.count) prompts from \(data): words p50 \(words[words.count / 2]), p90 \(words[words.count * 9 / 10]), max \(words.last ?? 0)")
        print("router: \(learned.model.kind), trained with max_words \(learned.header.maxWords.map(String.init) ?? "none"); precision: \(embedder.precision.rawValue); kernels: \(embedder.computeBackend)")
        print("one request at a time; times in ms")
        print("")
        print("step                                             word-pieces p50   p50 ms   p99 ms  mean ms")

        // 1. Embedding + scoring at several cuts of the prompt (only the router's own cut matches training).
        var cuts: [Int?] = [learned.header.maxWords, 32, 128, nil]
        cuts = cuts.enumerated().filter { index, cut in !cuts[..<index].contains { $0 == cut } }.map(\.1)
        var vectors: [[Float]] = []
        for cut in cuts {
            let mode = cut == learned.header.maxWords ? learned.header.cut : nil
            let texts = prompts.map { LearnedRouter.truncate($0, maxWords: cut, cut: mode) }
            let pieces = texts.map { embedder.tokenize($0).count }.sorted()
            for text in texts.prefix(10) { _ = embedder.embedSync([text]) }
            let samples = try await Self.time(texts, progress: "embed + score, cut \(cut.map(String.init) ?? "none")") { text in
                let vector = try await embedder.embed([text]).vectors[0]
                _ = learned.score(vector)
            }
            let label = "embed + score, " + (cut.map { mode == "head-tail" ? "first+last \($0 / 2) words" : "first \($0) words" } ?? "whole prompt (≤ 256 pieces)") + (cut == learned.header.maxWords ? " *" : "")
            Self.report(label, pieces: pieces[pieces.count / 2], samples)
            if cut == learned.header.maxWords { vectors = texts.map { embedder.embedSync([$0])[0] } }
        }

        // Reference in the same run: the 12-word query of `switchyard bench embeddings` (README figure 2.1–2.4 ms unloaded).
        let reference = try await Self.time(Array(repeating: BenchEmbeddingsCommand.query, count: 200)) { text in
            _ = try await embedder.embed([text])
        }
        Self.report("reference: embed the 12-word bench query", pieces: embedder.tokenize(BenchEmbeddingsCommand.query).count, reference)

        // 2. Scoring alone: the cost when the embedding already exists (e.g. computed for the semantic cache).
        let scoring = try await Self.time(vectors) { vector in _ = learned.score(vector) }
        Self.report("score only (\(learned.model.kind)), embedding given", pieces: nil, scoring)

        // 3. With the semantic cache on, the gateway embeds the last user turn once for both (RecentEmbeddings):
        //    what the router then adds is the classifier call on an embedding already made.
        let recent = RecentEmbeddings(embedder)
        let classifier = LearnedClassifier(router: learned, thresholds: [learned.header.threshold ?? 0.5], embedder: recent)
        var reused: [Double] = []
        var progress = BenchProgress("classifier after the cache", total: prompts.count, unit: "requests")
        for prompt in prompts {
            _ = try await recent.embed([prompt])  // the semantic cache's lookup, paid anyway
            let features = RequestFeatures(promptTokens: 0, expectedOutputTokens: 0, needs: [], depth: 1, lastUserText: prompt)
            reused += try await Self.time([features]) { _ = try await classifier.classify($0) }
            progress.tick()
        }
        progress.finish()
        Self.report("classifier after the cache embedded the turn" + (learned.header.maxWords == nil ? "" : " (miss: cut differs)"), pieces: nil, reused.sorted())

        // 4. The whole routing decision through the gateway: learned auto route vs rules-only auto route.
        let yaml = """
            storage: {sqlite: ":memory:"}
            providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:9/v1"}]
            models:
              - {name: weak, provider: p, price: {input: 0.24, output: 0.24}, context_window: 32000}
              - {name: strong, provider: p, price: {input: 24.7, output: 24.7}, context_window: 128000}
            routes:
              - name: learned
                classifier: {learned: {router: "\(URL(fileURLWithPath: router).standardizedFileURL.path)", threshold: \(learned.header.threshold ?? 0.5)}}
                tiers: [{name: weak, groups: [weak], max_difficulty: 1}, {name: strong, groups: [strong]}]
              - name: rules
                classifier: {rules: [{name: hard, keywords: [prove, derive, step by step], difficulty: 2}]}
                tiers: [{name: weak, groups: [weak], max_difficulty: 1}, {name: strong, groups: [strong]}]
            """
        let configuration = try ConfigurationLoader.parse(yaml, source: "<bench>")
        let gateway = Gateway(
            configuration: configuration, requestLog: RequestLog(store: nil),
            localEmbedderFactory: { _, precision in try localModel.embedder(precision: precision) })
        for route in ["rules", "learned"] {
            let requests = prompts.map { ChatRequest(model: route, messages: [.user($0)]) }
            for request in requests.prefix(10) { _ = try await gateway.previewRoute(request, context: CallContext()) }
            var strong = 0
            let samples = try await Self.time(requests, progress: "routing decision, \(route)") { request in
                let plan = try await gateway.previewRoute(request, context: CallContext())
                if plan.deployments.first == "strong" { strong += 1 }
            }
            Self.report("gateway routing decision, \(route) auto route", pieces: nil, samples)
            print("    (\(strong) of \(requests.count) prompts went to the strong tier)")
        }
    }

    /// Each input's time in ms, sorted; with `progress`, a bar (on stderr) named so, ticked between samples.
    static func time<T>(_ inputs: [T], progress label: String? = nil, _ body: (T) async throws -> Void) async throws -> [Double] {
        let clock = ContinuousClock()
        var samples: [Double] = []
        samples.reserveCapacity(inputs.count)
        var progress = label.map { BenchProgress($0, total: inputs.count, unit: "requests") }
        for input in inputs {
            let start = clock.now
            try await body(input)
            let elapsed = clock.now - start
            samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            progress?.tick()
        }
        progress?.finish()
        return samples.sorted()
    }

    static func report(_ label: String, pieces: Int?, _ samples: [Double]) {
        let mean = samples.reduce(0, +) / Double(max(samples.count, 1))
        let name = label.count < 49 ? label + String(repeating: " ", count: 49 - label.count) : label
        print(name + (pieces.map { String(format: "%9d", $0) } ?? "         -")
            + String(format: "   %7.3f  %7.3f  %7.3f", samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)], mean))
    }
}
