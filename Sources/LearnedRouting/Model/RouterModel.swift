import Foundation
import SwitchyardCore

/// What a router predicts from an embedding: a score, higher = more need for the strong model.
public enum RouterModel: Sendable {
    /// Similarity-weighted k nearest training prompts (cosine over unit vectors).
    case nearestNeighbours(NearestNeighbourScorer)
    /// Logistic regression over the embedding.
    case logistic(LogisticScorer)
    /// One hidden ReLU layer, sigmoid output.
    case perceptron(PerceptronScorer)

    public var kind: String {
        switch self {
        case .nearestNeighbours: "knn"
        case .logistic: "logistic"
        case .perceptron: "mlp"
        }
    }

    public func score(_ vector: [Float]) -> Double {
        switch self {
        case .nearestNeighbours(let model): model.score(vector)
        case .logistic(let model): model.score(vector)
        case .perceptron(let model): model.score(vector)
        }
    }
}

@inline(__always) func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

/// A kNN score reads every training vector, so this is most of the router's scoring time.
@inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    dotProduct(a, b, count: count)
}

public struct NearestNeighbourScorer: Sendable {
    public var dimensions: Int
    /// Training vectors, row after row (unit length).
    public var vectors: [Float]
    /// Training labels in [0, 1].
    public var labels: [Float]
    public var k: Int
    /// Pseudo-count of the training mean mixed in, so a few far neighbours do not decide alone.
    public var prior: Double

    public init(dimensions: Int, vectors: [Float], labels: [Float], k: Int, prior: Double) {
        self.dimensions = dimensions
        self.vectors = vectors
        self.labels = labels
        self.k = k
        self.prior = prior
    }

    var mean: Double { labels.isEmpty ? 0.5 : labels.reduce(0) { $0 + Double($1) } / Double(labels.count) }

    public func score(_ query: [Float]) -> Double {
        let similarities = NearestNeighbourScorer.similarities(query, to: vectors, dimensions: dimensions)
        return Self.score(nearest: Self.top(similarities, k), labels: labels, prior: prior, mean: mean)
    }

    static func similarities(_ query: [Float], to vectors: [Float], dimensions: Int) -> [Float] {
        let rows = vectors.count / dimensions
        var result = [Float](repeating: 0, count: rows)
        query.withUnsafeBufferPointer { q in
            vectors.withUnsafeBufferPointer { v in
                for row in 0..<rows { result[row] = dot(q.baseAddress!, v.baseAddress! + row * dimensions, dimensions) }
            }
        }
        return result
    }

    /// Indices and similarities of the `k` largest, best first.
    static func top(_ similarities: [Float], _ k: Int) -> [(index: Int, similarity: Float)] {
        var best: [(index: Int, similarity: Float)] = []
        best.reserveCapacity(k + 1)
        for (index, similarity) in similarities.enumerated() {
            if best.count == k, similarity <= best[k - 1].similarity { continue }
            var position = best.count
            while position > 0, best[position - 1].similarity < similarity { position -= 1 }
            best.insert((index, similarity), at: position)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    static func score(nearest: some Collection<(index: Int, similarity: Float)>, labels: [Float], prior: Double, mean: Double) -> Double {
        var weighted = prior * mean, total = prior
        for neighbour in nearest {
            let weight = Double(max(neighbour.similarity, 0))
            weighted += weight * Double(labels[neighbour.index])
            total += weight
        }
        return total > 0 ? weighted / total : mean
    }
}

public struct LogisticScorer: Sendable {
    public var weights: [Float]
    public var bias: Float

    public init(weights: [Float], bias: Float) {
        self.weights = weights
        self.bias = bias
    }

    public func score(_ vector: [Float]) -> Double {
        let z = weights.withUnsafeBufferPointer { w in
            vector.withUnsafeBufferPointer { x in dot(w.baseAddress!, x.baseAddress!, min(w.count, x.count)) }
        }
        return sigmoid(Double(z + bias))
    }
}

public struct PerceptronScorer: Sendable {
    public var dimensions: Int
    public var hidden: Int
    /// hidden × dimensions, row after row.
    public var inputWeights: [Float]
    public var inputBias: [Float]
    public var outputWeights: [Float]
    public var outputBias: Float

    public init(dimensions: Int, hidden: Int, inputWeights: [Float], inputBias: [Float], outputWeights: [Float], outputBias: Float) {
        self.dimensions = dimensions
        self.hidden = hidden
        self.inputWeights = inputWeights
        self.inputBias = inputBias
        self.outputWeights = outputWeights
        self.outputBias = outputBias
    }

    public func score(_ vector: [Float]) -> Double {
        var z = outputBias
        inputWeights.withUnsafeBufferPointer { w in
            vector.withUnsafeBufferPointer { x in
                for unit in 0..<hidden {
                    let activation = max(0, dot(w.baseAddress! + unit * dimensions, x.baseAddress!, dimensions) + inputBias[unit])
                    z += activation * outputWeights[unit]
                }
            }
        }
        return sigmoid(Double(z))
    }
}
