import Foundation

/// Row-major embeddings: `count` rows of `dimensions` floats.
public struct EmbeddingMatrix: Sendable {
    public var dimensions: Int
    public var values: [Float]

    public init(dimensions: Int, values: [Float]) {
        self.dimensions = dimensions
        self.values = values
    }

    public init(rows: [[Float]]) {
        dimensions = rows.first?.count ?? 0
        values = rows.flatMap { $0 }
    }

    public var count: Int { dimensions == 0 ? 0 : values.count / dimensions }

    public func row(_ index: Int) -> [Float] { Array(values[(index * dimensions)..<((index + 1) * dimensions)]) }

    public func rows(_ indices: [Int]) -> EmbeddingMatrix {
        var selected: [Float] = []
        selected.reserveCapacity(indices.count * dimensions)
        for index in indices { selected += values[(index * dimensions)..<((index + 1) * dimensions)] }
        return EmbeddingMatrix(dimensions: dimensions, values: selected)
    }
}

/// Deterministic fitting of the three router models (same data and seed, same weights).
public enum ModelFitting {
    /// Logistic regression with an L2 penalty, full-batch Adam; labels may be soft (in [0, 1]).
    public static func logistic(_ x: EmbeddingMatrix, labels: [Float], l2: Double, epochs: Int = 200, learningRate: Double = 0.05)
        -> LogisticScorer
    {
        let n = x.count, d = x.dimensions
        var weights = [Double](repeating: 0, count: d)
        let mean = max(1e-4, min(1 - 1e-4, labels.reduce(0) { $0 + Double($1) } / Double(max(n, 1))))
        var bias = log(mean / (1 - mean))
        var adam = Adam(count: d + 1, learningRate: learningRate)
        var gradient = [Double](repeating: 0, count: d + 1)
        var weightsFloat = [Float](repeating: 0, count: d)
        for _ in 0..<epochs {
            for index in gradient.indices { gradient[index] = 0 }
            for (index, value) in weights.enumerated() { weightsFloat[index] = Float(value) }
            x.values.withUnsafeBufferPointer { rows in
                weightsFloat.withUnsafeBufferPointer { w in
                    var rowGradient = [Float](repeating: 0, count: d)
                    var biasGradient = 0.0
                    for row in 0..<n {
                        let base = rows.baseAddress! + row * d
                        let p = sigmoid(Double(dot(w.baseAddress!, base, d)) + bias)
                        let error = Float(p - Double(labels[row]))
                        for column in 0..<d { rowGradient[column] += error * base[column] }
                        biasGradient += Double(error)
                    }
                    for column in 0..<d { gradient[column] = Double(rowGradient[column]) / Double(n) + l2 * weights[column] }
                    gradient[d] = biasGradient / Double(n)
                }
            }
            var parameters = weights + [bias]
            adam.step(&parameters, gradient)
            weights = Array(parameters[0..<d])
            bias = parameters[d]
        }
        return LogisticScorer(weights: weights.map { Float($0) }, bias: Float(bias))
    }

    /// One hidden ReLU layer and a sigmoid output, mini-batch Adam with weight decay, seeded init and order.
    public static func perceptron(
        _ x: EmbeddingMatrix, labels: [Float], hidden: Int, l2: Double, epochs: Int = 30, batchSize: Int = 64,
        learningRate: Double = 0.002, seed: UInt64
    ) -> PerceptronScorer {
        let n = x.count, d = x.dimensions
        var generator = SeededGenerator(seed: seed)
        let scale = (2.0 / Double(d)).squareRoot()
        // Parameters in one vector: W1 (hidden × d), b1 (hidden), w2 (hidden), b2.
        var parameters = [Double](repeating: 0, count: hidden * d + 2 * hidden + 1)
        for index in 0..<(hidden * d) { parameters[index] = generator.nextGaussian() * scale }
        for unit in 0..<hidden { parameters[hidden * d + hidden + unit] = generator.nextGaussian() * (1.0 / Double(hidden)).squareRoot() }
        var adam = Adam(count: parameters.count, learningRate: learningRate)
        var order = Array(0..<n)
        var gradient = [Double](repeating: 0, count: parameters.count)
        var activations = [Double](repeating: 0, count: hidden)
        for _ in 0..<epochs {
            order.shuffle(using: &generator)
            var start = 0
            while start < n {
                let batch = order[start..<min(n, start + batchSize)]
                start += batchSize
                for index in gradient.indices { gradient[index] = 0 }
                x.values.withUnsafeBufferPointer { rows in
                    for row in batch {
                        let base = rows.baseAddress! + row * d
                        var z = parameters[parameters.count - 1]
                        for unit in 0..<hidden {
                            var sum = parameters[hidden * d + unit]
                            let offset = unit * d
                            for column in 0..<d { sum += parameters[offset + column] * Double(base[column]) }
                            activations[unit] = max(0, sum)
                            z += activations[unit] * parameters[hidden * d + hidden + unit]
                        }
                        let error = sigmoid(z) - Double(labels[row])
                        gradient[parameters.count - 1] += error
                        for unit in 0..<hidden where activations[unit] > 0 {
                            gradient[hidden * d + hidden + unit] += error * activations[unit]
                            let back = error * parameters[hidden * d + hidden + unit]
                            gradient[hidden * d + unit] += back
                            let offset = unit * d
                            for column in 0..<d { gradient[offset + column] += back * Double(base[column]) }
                        }
                    }
                }
                let size = Double(batch.count)
                for index in gradient.indices { gradient[index] /= size }
                for index in 0..<(hidden * d) { gradient[index] += l2 * parameters[index] }
                for unit in 0..<hidden { gradient[hidden * d + hidden + unit] += l2 * parameters[hidden * d + hidden + unit] }
                adam.step(&parameters, gradient)
            }
        }
        let floats = parameters.map { Float($0) }
        return PerceptronScorer(
            dimensions: d, hidden: hidden, inputWeights: Array(floats[0..<(hidden * d)]),
            inputBias: Array(floats[(hidden * d)..<(hidden * d + hidden)]),
            outputWeights: Array(floats[(hidden * d + hidden)..<(hidden * d + 2 * hidden)]), outputBias: floats[floats.count - 1])
    }

    public static func nearestNeighbours(_ x: EmbeddingMatrix, labels: [Float], k: Int, prior: Double) -> NearestNeighbourScorer {
        NearestNeighbourScorer(dimensions: x.dimensions, vectors: x.values, labels: labels, k: k, prior: prior)
    }
}

/// Adam (Kingma & Ba) over one flat parameter vector.
struct Adam {
    var first: [Double]
    var second: [Double]
    var step = 0
    let learningRate: Double
    let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8

    init(count: Int, learningRate: Double) {
        first = [Double](repeating: 0, count: count)
        second = [Double](repeating: 0, count: count)
        self.learningRate = learningRate
    }

    mutating func step(_ parameters: inout [Double], _ gradient: [Double]) {
        step += 1
        let correction1 = 1 - pow(beta1, Double(step)), correction2 = 1 - pow(beta2, Double(step))
        for index in parameters.indices {
            first[index] = beta1 * first[index] + (1 - beta1) * gradient[index]
            second[index] = beta2 * second[index] + (1 - beta2) * gradient[index] * gradient[index]
            parameters[index] -= learningRate * (first[index] / correction1) / ((second[index] / correction2).squareRoot() + epsilon)
        }
    }
}
