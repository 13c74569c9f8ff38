import ArgumentParser
import Embeddings
import Foundation
import Caching
import SwitchyardCore

/// `switchyard bench cache-precision`: how often the semantic cache answers, and how often wrongly,
/// across thresholds, on question pairs that mean the same.
struct BenchCachePrecisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache-precision",
        abstract: "Hit rate and precision of semantic cache hits across thresholds (local embedding model).",
        discussion: """
            Positives: every `origin` question is cached; each `similar` paraphrase is asked, and a hit is \
            correct only when the nearest cached question is its own origin. Negatives (hard): the same \
            query with its own origin removed from the cache, so any hit is a wrong answer — the nearest \
            other question is the hardest negative there is. Precision counts both kinds of wrong hits.

            Then the same with the verifier (the first of the top candidates above the threshold that             passes `SemanticVerifier` is served), the threshold and verifier setting chosen by k-fold             cross-validation grouped by origin, a simulation of the live protocol (half the origins             cached, every miss cached in turn), synthetic minimal edits (a number, an identifier's             plural, a negation, another code span or name) that must miss, and the verifier's latency.
            """)

    @Option(help: "JSON Lines with `origin` and `similar` (default: ../shared/data/cache/paraphrase-pairs.jsonl).")
    var data: String = "../shared/data/cache/paraphrase-pairs.jsonl"

    @Option(help: "Precision of the local model (the gateway's semantic cache uses bfloat16 unless configured otherwise).")
    var precision: EmbeddingPrecision = .bfloat16

    @Option(help: "Lowest threshold printed.")
    var from: Double = 0.85

    @Option(help: "Origins at least this similar to each other count as the same question in the second table.")
    var mergeThreshold: Double = 0.95

    @Option(help: "Print the wrong answers the default verifier lets through at this threshold, and the right ones it turns down.")
    var show: Double?

    @Option(help: "Cross-validation folds (grouped by origin).")
    var folds: Int = 5

    @Option(help: "Precision a setting must reach on the training folds to be chosen.")
    var target: Double = 0.99

    @Option(help: "Seeds of the folds and of the simulation's orders (the simulation is averaged over them).")
    var seeds: Int = 5

    func run() async throws {
        guard let text = try? String(contentsOfFile: data, encoding: .utf8) else {
            throw CommandFailure("Cannot read \(data).", .notFound)
        }
        var origins: [String] = []
        var similars: [String] = []
        for line in text.split(separator: "\n") {
            guard let json = JSONValue.parse(String(line)), let origin = json["origin"]?.stringValue,
                let similar = json["similar"]?.stringValue
            else { continue }
            origins.append(origin)
            similars.append(similar)
        }
        let embedder = try MiniLMEmbedder.loadDefault(precision: precision)
        print("local model precision: \(embedder.precision.rawValue)")
        // Embedded 64 texts at a time, each part timed, the progress told between the parts.
        var progress = BenchProgress("embedding", total: origins.count + similars.count, unit: "texts")
        var seconds = 0.0
        func embed(_ texts: [String]) -> [[Float]] {
            var vectors: [[Float]] = []
            for first in stride(from: 0, to: texts.count, by: 64) {
                let part = Array(texts[first..<min(first + 64, texts.count)])
                let started = ContinuousClock.now
                vectors += embedder.embedSync(part)
                let elapsed = ContinuousClock.now - started
                seconds += Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
                progress.tick(part.count)
            }
            return vectors
        }
        let cached = embed(origins)
        let queries = embed(similars)
        progress.finish()
        let count = origins.count
        let normalized = origins.map { String($0.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }) }
        func dot(_ a: [Float], _ b: [Float]) -> Float { dotProduct(a, b) ?? 0 }
        let similarity = (0..<count).map { i in (0..<count).map { j in dot(queries[i], cached[j]) } }
        let originSimilarity = (0..<count).map { i in (0..<count).map { j in dot(cached[i], cached[j]) } }
        print("\(count) paraphrase pairs, embedded in \(String(format: "%.1f", seconds)) s with \(embedder.modelName)")

        // Strict: only textually identical origins (the data repeats some) count as the same question.
        // Merged: origins that are near-duplicates of each other (cosine ≥ merge) count as the same
        // question too — the data paraphrases some statements several times over, and answering one
        // with another's cached answer is not a wrong answer.
        var defaults: [String] = []
        for (label, merge) in [("strict labels", Float(2)), (String(format: "near-duplicate origins (cosine ≥ %.2f) merged", mergeThreshold), Float(mergeThreshold))] {
            var own = [Float](repeating: -1, count: count)
            var bestOther = [Float](repeating: -1, count: count)
            var merged = 0
            for i in 0..<count {
                var sameCount = 0
                for j in 0..<count {
                    if normalized[i] == normalized[j] || originSimilarity[i][j] >= merge {
                        own[i] = max(own[i], similarity[i][j])
                        sameCount += 1
                    } else {
                        bestOther[i] = max(bestOther[i], similarity[i][j])
                    }
                }
                if sameCount > 1 { merged += 1 }
            }
            print("\n\(label): \(merged) questions share their meaning with another origin")
            print("threshold  hit rate (true pairs)  wrong-origin hits  false hits (negatives)  precision (mixed workload)")
            var chosen: (Double, Double)?
            var threshold = from
            while threshold <= 0.995 {
                let t = Float(threshold)
                var correct = 0
                var wrongOrigin = 0
                var falseHits = 0
                for i in 0..<count {
                    if max(own[i], bestOther[i]) >= t {
                        if own[i] >= bestOther[i] { correct += 1 } else { wrongOrigin += 1 }
                    }
                    if bestOther[i] >= t { falseHits += 1 }
                }
                let hits = correct + wrongOrigin + falseHits
                let precision = hits == 0 ? 1 : Double(correct) / Double(hits)
                let hitRate = Double(correct) / Double(count)
                print(
                    String(format: "  %.2f      %6.1f %%               %4d               %5.1f %%                  %6.2f %%",
                           threshold, 100 * hitRate, wrongOrigin, 100 * Double(falseHits) / Double(count), 100 * precision))
                if precision >= 0.99 { if chosen == nil { chosen = (threshold, hitRate) } } else { chosen = nil }
                threshold += 0.01
            }
            if let chosen {
                defaults.append(String(format: "%@: precision stays ≥ 99 %% from %.2f up (hit rate %.1f %% there)", label, chosen.0, 100 * chosen.1))
            } else {
                defaults.append("\(label): precision never stays ≥ 99 %")
            }
        }
        print("")
        for line in defaults { print(line) }
        print(String(format: "Switchyard's default semantic threshold without verification: %.2f", ResponseCache.defaultUnverifiedThreshold))

        var strict = CachePrecisionEvaluation(origins: origins, similars: similars, originVectors: cached, similarVectors: queries)
        var merged = CachePrecisionEvaluation(
            origins: origins, similars: similars, originVectors: cached, similarVectors: queries, merge: Float(mergeThreshold))
        if let show {
            Self.show(&merged, threshold: show)
            return
        }
        verified(&strict, labels: "Strict labels")
        verified(&merged, labels: String(format: "Near-duplicate pairs merged (any text of one at cosine ≥ %.2f to any text of the other)", mergeThreshold))
        let evaluation = strict
        try synthetic(evaluation, originVectors: cached, embedder: embedder)
        latency(evaluation)
    }
}
