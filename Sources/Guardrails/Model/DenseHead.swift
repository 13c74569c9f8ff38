import Foundation

/// A small feed-forward classifier (dense layers, ReLU between them, softmax at the end) trained offline by
/// `scripts/guard/train_*.py` on the encoder's features.
///
/// Weights travel as one little-endian float32 blob: the layer count, then per layer its input and output
/// widths and the `inputs × outputs` weights (row-major) followed by the biases.
struct DenseHead: Sendable {
    struct Layer: Sendable {
        var inputs: Int
        var outputs: Int
        var weights: [Float]
        var bias: [Float]
    }

    let layers: [Layer]

    var inputWidth: Int { layers.first?.inputs ?? 0 }
    var outputWidth: Int { layers.last?.outputs ?? 0 }

    init(blob: Data) throws {
        var floats = [Float](repeating: 0, count: blob.count / 4)
        _ = floats.withUnsafeMutableBytes { blob.copyBytes(to: $0) }
        var cursor = 0
        func next() throws -> Float {
            guard cursor < floats.count else { throw GuardrailError("the guard head's weights are truncated") }
            defer { cursor += 1 }
            return floats[cursor]
        }
        func count() throws -> Int {
            let value = try next()
            guard let integer = Int(exactly: value), (1...1_000_000).contains(integer) else {
                throw GuardrailError("the guard head's weights are malformed")
            }
            return integer
        }
        var layers: [Layer] = []
        for _ in 0..<(try count()) {
            let inputs = try count(), outputs = try count()
            guard cursor + inputs * outputs + outputs <= floats.count else { throw GuardrailError("the guard head's weights are truncated") }
            let weights = Array(floats[cursor..<cursor + inputs * outputs])
            cursor += inputs * outputs
            let bias = Array(floats[cursor..<cursor + outputs])
            cursor += outputs
            if let previous = layers.last, previous.outputs != inputs { throw GuardrailError("the guard head's layers do not fit together") }
            layers.append(Layer(inputs: inputs, outputs: outputs, weights: weights, bias: bias))
        }
        guard cursor == floats.count, !layers.isEmpty else { throw GuardrailError("the guard head's weights are malformed") }
        self.layers = layers
    }

    init(base64 text: String) throws {
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
            throw GuardrailError("the guard head's weights are not base64")
        }
        try self.init(blob: data)
    }

    /// Class probabilities for one feature row.
    func probabilities(_ input: [Float]) -> [Float] {
        var x = input
        for (index, layer) in layers.enumerated() {
            var y = layer.bias
            layer.weights.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { out in
                    for i in 0..<min(layer.inputs, x.count) {
                        let value = x[i]
                        if value == 0 { continue }
                        let row = i * layer.outputs
                        for o in 0..<layer.outputs { out[o] += value * w[row + o] }
                    }
                }
            }
            if index + 1 < layers.count {
                for o in y.indices where y[o] < 0 { y[o] = 0 }
            }
            x = y
        }
        let largest = x.max() ?? 0
        var total: Float = 0
        for o in x.indices {
            x[o] = exp(x[o] - largest)
            total += x[o]
        }
        return x.map { $0 / max(total, .leastNormalMagnitude) }
    }
}
