import ArgumentParser
import Embeddings
import Foundation
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
            """)

    @Option(help: "JSON Lines with `origin` and `similar` (default: ../shared/data/cache/paraphrase-pairs.jsonl).")
    var data: String = "../shared/data/cache/paraphrase-pairs.jsonl"

    @Option(help: "Lowest threshold printed.")
    var from: Double = 0.80

    func run() async throws {
        guard let text = try? String(contentsOfFile: data, encoding: .utf8) else {
            throw ValidationError("Cannot read \(data).")
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
        let embedder = try MiniLMEmbedder.loadDefault()
        let started = ContinuousClock.now
        let cached = embedder.embedSync(origins)
        let queries = embedder.embedSync(similars)
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        let count = origins.count
        // For each query: similarity to its own origin, and the best other origin.
        var own = [Float](repeating: 0, count: count)
        var bestOther = [Float](repeating: -1, count: count)
        for i in 0..<count {
            for j in 0..<count {
                var dot: Float = 0
                for k in 0..<queries[i].count { dot += queries[i][k] * cached[j][k] }
                if i == j { own[i] = dot } else if dot > bestOther[i] { bestOther[i] = dot }
            }
        }
        print("\(count) paraphrase pairs, embedded in \(String(format: "%.1f", seconds)) s with \(embedder.modelName)")
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
            if chosen == nil, precision >= 0.99 { chosen = (threshold, hitRate) }
            threshold += 0.01
        }
        if let chosen {
            print(String(format: "lowest threshold with precision ≥ 99 %%: %.2f, hit rate %.1f %% on true pairs", chosen.0, 100 * chosen.1))
        } else {
            print("no threshold reached 99 % precision")
        }
    }
}
