import Foundation

/// A trained router: how to embed a prompt, the model that scores the embedding, and the threshold
/// chosen for the user's goal.
///
/// File format: one line of JSON (the `Header`, no raw newlines), a newline, then the tensors the
/// header lists, in order, as little-endian float32.
public struct LearnedRouter: Sendable {
    public static let format = "switchyard-router"

    public struct Tensor: Codable, Sendable, Hashable {
        public var name: String
        public var count: Int
    }

    /// How the threshold was chosen, and what it gave on the calibration data.
    public struct Calibration: Codable, Sendable, Hashable {
        /// `target_quality`, `max_strong_fraction` or `max_cost_per_1k_requests`.
        public var goal: String
        public var value: Double
        public var threshold: Double
        public var strongFraction: Double
        public var qualityFraction: Double
        public var relativeCost: Double
        public var costPer1kRequests: Double
        public var examples: Int
        public var data: String

        public init(
            goal: String, value: Double, threshold: Double, strongFraction: Double, qualityFraction: Double, relativeCost: Double,
            costPer1kRequests: Double, examples: Int, data: String
        ) {
            self.goal = goal
            self.value = value
            self.threshold = threshold
            self.strongFraction = strongFraction
            self.qualityFraction = qualityFraction
            self.relativeCost = relativeCost
            self.costPer1kRequests = costPer1kRequests
            self.examples = examples
            self.data = data
        }

        enum CodingKeys: String, CodingKey {
            case goal, value, threshold, examples, data
            case strongFraction = "strong_fraction"
            case qualityFraction = "quality_fraction"
            case relativeCost = "relative_cost"
            case costPer1kRequests = "cost_per_1k_requests"
        }
    }

    /// One candidate tried in model selection, with its cross-validated APGR.
    public struct Candidate: Codable, Sendable, Hashable {
        public var name: String
        public var apgr: Double
        public var apgrStandardDeviation: Double

        public init(name: String, apgr: Double, apgrStandardDeviation: Double) {
            self.name = name
            self.apgr = apgr
            self.apgrStandardDeviation = apgrStandardDeviation
        }

        enum CodingKeys: String, CodingKey {
            case name, apgr
            case apgrStandardDeviation = "apgr_sd"
        }
    }

    public struct Header: Codable, Sendable {
        public var format = LearnedRouter.format
        public var version = 1
        public var kind: String
        /// Hyper-parameters of the chosen candidate, e.g. "k", "l2", "hidden".
        public var parameters: [String: Double]
        /// Training label: `strong-better` (1 when the strong answer beats the weak one) or `gain`
        /// ((strong − weak + 1) / 2).
        public var target: String
        public var embeddingModel: String
        public var dimensions: Int
        /// The prompt is cut to its first `maxWords` words before embedding (nil = the model's own limit).
        public var maxWords: Int?
        /// Which words are kept when the prompt is cut: `head` (the first `maxWords`, the default) or
        /// `head-tail` (the first and the last `maxWords / 2`, where the actual question often is).
        public var cut: String?
        public var weakModel: String
        public var strongModel: String
        public var trainingExamples: Int
        public var trainingSources: [String]
        public var seed: UInt64
        public var selection: [Candidate]
        public var threshold: Double?
        public var calibration: Calibration?
        public var tensors: [Tensor]

        public init(
            kind: String, parameters: [String: Double], target: String, embeddingModel: String, dimensions: Int, maxWords: Int?,
            cut: String? = nil, weakModel: String, strongModel: String, trainingExamples: Int, trainingSources: [String], seed: UInt64,
            selection: [Candidate], threshold: Double? = nil, calibration: Calibration? = nil, tensors: [Tensor] = []
        ) {
            self.kind = kind
            self.parameters = parameters
            self.target = target
            self.embeddingModel = embeddingModel
            self.cut = cut
            self.dimensions = dimensions
            self.maxWords = maxWords
            self.weakModel = weakModel
            self.strongModel = strongModel
            self.trainingExamples = trainingExamples
            self.trainingSources = trainingSources
            self.seed = seed
            self.selection = selection
            self.threshold = threshold
            self.calibration = calibration
            self.tensors = tensors
        }

        enum CodingKeys: String, CodingKey {
            case format, version, kind, parameters, target, dimensions, seed, selection, threshold, calibration, tensors
            case embeddingModel = "embedding_model"
            case maxWords = "max_words"
            case cut
            case weakModel = "weak_model"
            case strongModel = "strong_model"
            case trainingExamples = "training_examples"
            case trainingSources = "training_sources"
        }
    }

    public var header: Header
    public var model: RouterModel

    public init(header: Header, model: RouterModel) {
        self.header = header
        self.model = model
    }

    /// The text that gets embedded for a prompt (the first `maxWords` words).
    public func embeddingText(_ prompt: String) -> String { Self.truncate(prompt, maxWords: header.maxWords, cut: header.cut) }

    public static func truncate(_ prompt: String, maxWords: Int?, cut: String?) -> String {
        guard let maxWords else { return prompt }
        guard cut == "head-tail" else { return truncate(prompt, maxWords: maxWords) }
        let words = prompt.split(whereSeparator: \.isWhitespace)
        guard words.count > maxWords else { return prompt }
        let head = maxWords / 2
        return (words.prefix(head) + ["…"] + words.suffix(maxWords - head)).joined(separator: " ")
    }

    public static func truncate(_ prompt: String, maxWords: Int?) -> String {
        guard let maxWords else { return prompt }
        var words = 0
        var inWord = false
        for index in prompt.indices {
            let isSpace = prompt[index].isWhitespace
            if !isSpace, !inWord {
                words += 1
                if words > maxWords { return String(prompt[..<index]).trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            inWord = !isSpace
        }
        return prompt
    }

    public func score(_ vector: [Float]) -> Double { model.score(vector) }

    // MARK: File

    public func write(to path: String) throws {
        var header = self.header
        let tensors = self.tensors
        header.tensors = tensors.map { Tensor(name: $0.name, count: $0.values.count) }
        header.kind = model.kind
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(header)
        data.append(0x0A)
        for tensor in tensors {
            tensor.values.withUnsafeBufferPointer { buffer in
                for value in buffer {
                    var bits = value.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
                }
            }
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private var tensors: [(name: String, values: [Float])] {
        switch model {
        case .nearestNeighbours(let m): [("vectors", m.vectors), ("labels", m.labels)]
        case .logistic(let m): [("weights", m.weights), ("bias", [m.bias])]
        case .perceptron(let m):
            [("input_weights", m.inputWeights), ("input_bias", m.inputBias), ("output_weights", m.outputWeights), ("output_bias", [m.outputBias])]
        }
    }

    public static func load(path: String) throws -> LearnedRouter {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RouterFileError("cannot read the router file '\(path)'.")
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> LearnedRouter {
        guard let newline = data.firstIndex(of: 0x0A) else {
            throw RouterFileError("\(source): not a router file (no header line).")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data[data.startIndex..<newline])
        } catch {
            throw RouterFileError("\(source): the header is not a router header (\(error)).")
        }
        guard header.format == format else { throw RouterFileError("\(source): format is '\(header.format)', expected '\(format)'.") }
        guard header.version == 1 else { throw RouterFileError("\(source): version \(header.version) is not supported (1 is).") }
        var offset = newline + 1
        var tensors: [String: [Float]] = [:]
        for tensor in header.tensors {
            let bytes = tensor.count * 4
            guard tensor.count >= 0, offset + bytes <= data.endIndex else {
                throw RouterFileError("\(source): tensor '\(tensor.name)' runs past the end of the file (truncated?).")
            }
            var values = [Float](repeating: 0, count: tensor.count)
            data[offset..<(offset + bytes)].withUnsafeBytes { raw in
                for index in 0..<tensor.count {
                    values[index] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                }
            }
            tensors[tensor.name] = values
            offset += bytes
        }
        func tensor(_ name: String, count: Int? = nil) throws -> [Float] {
            guard let values = tensors[name] else { throw RouterFileError("\(source): tensor '\(name)' is missing.") }
            if let count, values.count != count {
                throw RouterFileError("\(source): tensor '\(name)' has \(values.count) values, expected \(count).")
            }
            return values
        }
        let d = header.dimensions
        let model: RouterModel
        switch header.kind {
        case "knn":
            let labels = try tensor("labels")
            let vectors = try tensor("vectors", count: labels.count * d)
            model = .nearestNeighbours(
                NearestNeighbourScorer(
                    dimensions: d, vectors: vectors, labels: labels, k: Int(header.parameters["k"] ?? 50),
                    prior: header.parameters["prior"] ?? 1))
        case "logistic":
            model = .logistic(LogisticScorer(weights: try tensor("weights", count: d), bias: try tensor("bias", count: 1)[0]))
        case "mlp":
            let hidden = Int(header.parameters["hidden"] ?? 0)
            model = .perceptron(
                PerceptronScorer(
                    dimensions: d, hidden: hidden, inputWeights: try tensor("input_weights", count: hidden * d),
                    inputBias: try tensor("input_bias", count: hidden), outputWeights: try tensor("output_weights", count: hidden),
                    outputBias: try tensor("output_bias", count: 1)[0]))
        default:
            throw RouterFileError("\(source): unknown router kind '\(header.kind)' (knn, logistic, mlp).")
        }
        return LearnedRouter(header: header, model: model)
    }
}

public struct RouterFileError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
