import ArgumentParser
import Caching
import Embeddings
import Foundation
import SwitchyardCore

/// `switchyard bench cache`: what a cache lookup costs in-process, exact and semantic.
struct BenchCacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Time exact and semantic cache lookups (in-process, local embedding model).")

    @Option(help: "JSON Lines with `origin` and `similar` questions.")
    var data: String = "../shared/data/cache/paraphrase-pairs.jsonl"

    @Option(help: "Precision of the local model (the gateway's semantic cache uses bfloat16 unless configured otherwise).")
    var precision: EmbeddingPrecision = .bfloat16

    func run() async throws {
        guard let text = try? String(contentsOfFile: data, encoding: .utf8) else { throw CommandFailure("Cannot read \(data).", .notFound) }
        let pairs = text.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let json = JSONValue.parse(String(line)), let a = json["origin"]?.stringValue, let b = json["similar"]?.stringValue else { return nil }
            return (a, b)
        }
        let embedder = try MiniLMEmbedder.loadDefault(precision: precision)
        let cache = ResponseCache(embedder: embedder)
        let policy = CachePolicy(exact: true, semantic: .init())
        func request(_ text: String) -> ChatRequest {
            ChatRequest(model: "gpt-4o-mini", messages: [.system("You are a helpful assistant."), .user(text)], temperature: 0)
        }
        let answer = ChatResponse(
            id: "x", created: 0, model: "gpt-4o-mini", choices: [.init(message: .assistant("An answer."), finishReason: .stop)],
            usage: Usage(promptTokens: 30, completionTokens: 5))
        var filling = BenchProgress("filling the cache", total: pairs.count, unit: "questions")
        for (origin, _) in pairs {
            if case .miss(let fill) = await cache.lookup(request(origin), namespace: "bench", policy: policy, directive: .normal) {
                cache.store(answer, for: fill, costUSD: 0.0001)
            }
            filling.tick()
        }
        filling.finish()
        func microseconds(_ elapsed: Duration) -> Double {
            Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        }
        /// Lookup times in µs; with `only`, just the lookups answered that way (an origin that was itself
        /// a semantic hit when the cache was filled has no exact entry, and its lookup embeds).
        func time(_ texts: [String], repeat count: Int, only kind: CachedAnswer.Kind? = nil) async -> [Double] {
            var samples: [Double] = []
            var progress = BenchProgress("exact lookups", total: count, unit: "rounds")
            defer { progress.finish() }
            for round in 0..<count {
                defer { progress.tick() }
                for text in texts {
                    let started = ContinuousClock.now
                    let result = await cache.lookup(request(text), namespace: "bench", policy: policy, directive: .normal)
                    let elapsed = ContinuousClock.now - started
                    if let kind {
                        guard case .hit(let answer) = result, answer.kind == kind else { continue }
                    }
                    if round > 0 || count == 1 { samples.append(microseconds(elapsed)) }
                }
            }
            return samples.sorted()
        }
        let exact = await time(pairs.map(\.0), repeat: 5, only: .exact)
        // Each paraphrase's lookup, then its embedding alone (same text, same call), one after the
        // other so that both see the same moment of the machine.
        var semantic: [Double] = [], embedding: [Double] = []
        var progress = BenchProgress("semantic lookups", total: pairs.count, unit: "paraphrases")
        for (_, text) in pairs {
            var started = ContinuousClock.now
            _ = await cache.lookup(request(text), namespace: "bench", policy: policy, directive: .normal)
            semantic.append(microseconds(ContinuousClock.now - started))
            started = ContinuousClock.now
            _ = try await embedder.embed([text])
            embedding.append(microseconds(ContinuousClock.now - started))
            progress.tick()
        }
        progress.finish()
        semantic.sort()
        embedding.sort()
        let stats = cache.stats()
        func row(_ label: String, _ samples: [Double]) {
            print(label.padding(40), String(format: "p50 %8.1f µs   p99 %8.1f µs   (%d lookups)", samples[samples.count / 2], samples[samples.count * 99 / 100], samples.count))
        }
        print("\(stats.entries) entries cached (\(stats.bytes) bytes); semantic threshold \(ResponseCache.defaultSemanticThreshold); local model \(embedder.precision.rawValue)")
        row("exact hit (hash + LRU)", exact)
        row("semantic lookup (embed + scan \(pairs.count))", semantic)
        row("  of which the embedding alone", embedding)
        print(String(format: "semantic hits: %d of %d paraphrases", stats.semanticHits, pairs.count))
    }
}
