import Foundation
import SwitchyardCore
import Synchronization

/// A classifier that learns from labelled examples: the k nearest examples (cosine over local
/// embeddings of the last user turn) vote on the task, and their similarity-weighted mean gives
/// the difficulty. The examples are embedded once, on first use.
public final class NearestNeighbourClassifier: RequestClassifier {
    public struct Example: Sendable, Hashable {
        public var text: String
        public var task: String
        public var difficulty: Int

        public init(text: String, task: String, difficulty: Int) {
            self.text = text
            self.task = task
            self.difficulty = difficulty
        }
    }

    public let examples: [Example]
    public let k: Int
    private let embedder: any TextEmbedder
    private let vectors = Mutex<[[Float]]?>(nil)

    public init(examples: [Example], k: Int = 5, embedder: any TextEmbedder) {
        self.examples = examples
        self.k = max(1, k)
        self.embedder = embedder
    }

    /// Reads `{"text": ..., "task": ..., "difficulty": N}` lines.
    public static func examples(jsonLines text: String, source: String) throws -> [Example] {
        var examples: [Example] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let json = JSONValue.parse(String(line)), let text = json["text"]?.stringValue,
                let difficulty = json["difficulty"]?.intValue
            else {
                throw SwitchyardError.configuration(
                    "\(source):\(index + 1): each line needs {\"text\": string, \"difficulty\": integer, \"task\": string (optional)}.")
            }
            examples.append(Example(text: text, task: json["task"]?.stringValue ?? "chat", difficulty: difficulty))
        }
        guard !examples.isEmpty else { throw SwitchyardError.configuration("\(source): no examples.") }
        return examples
    }

    private func exampleVectors() async throws -> [[Float]] {
        if let vectors = vectors.withLock({ $0 }) { return vectors }
        let computed = try await embedder.embed(examples.map(\.text)).vectors
        vectors.withLock { $0 = computed }
        return computed
    }

    public func classify(_ features: RequestFeatures) async throws -> Classification {
        let stored = try await exampleVectors()
        guard let query = try await embedder.embed([features.lastUserText]).vectors.first else {
            return Classification(task: "chat", difficulty: 1, reason: "knn: no embedding")
        }
        var scored: [(similarity: Float, index: Int)] = []
        scored.reserveCapacity(stored.count)
        for (index, vector) in stored.enumerated() {
            var dot: Float = 0
            for position in 0..<min(vector.count, query.count) { dot += vector[position] * query[position] }
            scored.append((dot, index))
        }
        let nearest = scored.sorted { $0.similarity > $1.similarity }.prefix(k)
        var votes: [String: Double] = [:]
        var weightedDifficulty = 0.0
        var totalWeight = 0.0
        for neighbour in nearest {
            let weight = Double(max(neighbour.similarity, 0)) + 1e-6
            let example = examples[neighbour.index]
            votes[example.task, default: 0] += weight
            weightedDifficulty += weight * Double(example.difficulty)
            totalWeight += weight
        }
        let task = votes.max { $0.value < $1.value }?.key ?? "chat"
        let difficulty = Int((weightedDifficulty / max(totalWeight, 1e-9)).rounded())
        let top = nearest.first.map { String(format: "%.2f", $0.similarity) } ?? "-"
        return Classification(
            task: task, difficulty: difficulty, reason: "knn (k=\(k), nearest similarity \(top))",
            score: weightedDifficulty / max(totalWeight, 1e-9))
    }
}
