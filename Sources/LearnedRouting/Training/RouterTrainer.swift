import Foundation

/// Trains routers and picks one by cross-validation grouped by source (a fold's sources are never
/// seen in training, as new subjects would not be in production).
public struct RouterTrainer: Sendable {
    public enum Target: String, Sendable, CaseIterable {
        /// 1 when the strong model's answer beats the weak one's, else 0.
        case strongBetter = "strong-better"
        /// (strong − weak + 1) / 2: also learns where the weak model is the better one.
        case gain
    }

    public struct Candidate: Sendable, Hashable {
        public var kind: String
        public var target: Target
        public var parameters: [String: Double]

        public init(kind: String, target: Target, parameters: [String: Double]) {
            self.kind = kind
            self.target = target
            self.parameters = parameters
        }

        public var name: String {
            let details = parameters.keys.sorted().map { key in
                let value = parameters[key]!
                return "\(key)=\(value == value.rounded() && abs(value) >= 1 ? String(Int(value)) : String(value))"
            }
            return "\(kind)(\((details + ["target=\(target.rawValue)"]).joined(separator: ", ")))"
        }
    }

    /// What is tried when nothing else is asked for.
    public static let defaultCandidates: [Candidate] = {
        var candidates: [Candidate] = []
        for target in Target.allCases {
            for k in [20.0, 50, 100] { candidates.append(Candidate(kind: "knn", target: target, parameters: ["k": k, "prior": 1])) }
            for l2 in [1e-3, 1e-2, 1e-1, 1] { candidates.append(Candidate(kind: "logistic", target: target, parameters: ["l2": l2])) }
        }
        candidates.append(Candidate(kind: "mlp", target: .gain, parameters: ["hidden": 32, "l2": 1e-3]))
        return candidates
    }()

    public var examples: [RoutingExample]
    public var embeddings: EmbeddingMatrix
    public var weak: String
    public var strong: String
    public var seed: UInt64

    public init(examples: [RoutingExample], embeddings: EmbeddingMatrix, weak: String, strong: String, seed: UInt64 = 1) {
        precondition(examples.count == embeddings.count, "one embedding per example")
        self.examples = examples
        self.embeddings = embeddings
        self.weak = weak
        self.strong = strong
        self.seed = seed
    }

    public func labels(_ target: Target, rows: [Int]? = nil) -> [Float] {
        (rows ?? Array(examples.indices)).map { index in
            let example = examples[index]
            let gain = (example.outcomes[strong] ?? 0) - (example.outcomes[weak] ?? 0)
            switch target {
            case .strongBetter: return gain > 0 ? 1 : 0
            case .gain: return Float((gain + 1) / 2)
            }
        }
    }

    /// Fits one candidate on the given rows (all when nil).
    public func fit(_ candidate: Candidate, rows: [Int]? = nil) -> RouterModel {
        let rows = rows ?? Array(examples.indices)
        let x = embeddings.rows(rows)
        let y = labels(candidate.target, rows: rows)
        switch candidate.kind {
        case "knn":
            return .nearestNeighbours(
                ModelFitting.nearestNeighbours(x, labels: y, k: Int(candidate.parameters["k"] ?? 50), prior: candidate.parameters["prior"] ?? 1))
        case "mlp":
            return .perceptron(
                ModelFitting.perceptron(
                    x, labels: y, hidden: Int(candidate.parameters["hidden"] ?? 32), l2: candidate.parameters["l2"] ?? 1e-3, seed: seed))
        default:
            return .logistic(ModelFitting.logistic(x, labels: y, l2: candidate.parameters["l2"] ?? 1e-3))
        }
    }

    /// Fold of each example: whole sources go to one fold; sources are shuffled (seeded) and each goes
    /// to the fold with the fewest examples so far.
    public static func folds(sources: [String?], count: Int, seed: UInt64) -> [Int] {
        var sizes: [String: Int] = [:]
        for source in sources { sizes[source ?? "", default: 0] += 1 }
        var names = sizes.keys.sorted()
        var generator = SeededGenerator(seed: seed)
        names.shuffle(using: &generator)
        var foldSizes = [Int](repeating: 0, count: count)
        var foldOf: [String: Int] = [:]
        for name in names {
            let fold = foldSizes.indices.min { (foldSizes[$0], $0) < (foldSizes[$1], $1) }!
            foldOf[name] = fold
            foldSizes[fold] += sizes[name]!
        }
        return sources.map { foldOf[$0 ?? ""]! }
    }

    /// For each example, its nearest neighbours (global indices, best first) among the examples of
    /// the other folds: computed once and shared by every kNN candidate.
    public func heldOutNeighbours(folds: Int, k: Int) -> [[(index: Int, similarity: Float)]] {
        let assignment = Self.folds(sources: examples.map(\.source), count: folds, seed: seed)
        var result = [[(index: Int, similarity: Float)]](repeating: [], count: examples.count)
        for fold in 0..<folds {
            let train = examples.indices.filter { assignment[$0] != fold }
            let matrix = embeddings.rows(train)
            for index in examples.indices where assignment[index] == fold {
                let similarities = NearestNeighbourScorer.similarities(embeddings.row(index), to: matrix.values, dimensions: matrix.dimensions)
                result[index] = NearestNeighbourScorer.top(similarities, k).map { (train[$0.index], $0.similarity) }
            }
        }
        return result
    }

    /// Held-out scores for every example from `folds`-fold cross-validation grouped by source.
    public func crossValidatedScores(
        _ candidate: Candidate, folds: Int, neighbours: [[(index: Int, similarity: Float)]]? = nil
    ) -> [Double] {
        let assignment = Self.folds(sources: examples.map(\.source), count: folds, seed: seed)
        if candidate.kind == "knn", let neighbours {
            let y = labels(candidate.target)
            let k = Int(candidate.parameters["k"] ?? 50)
            let prior = candidate.parameters["prior"] ?? 1
            // The prior is the training folds' mean label, as a model fitted on them would use.
            var sums = [Double](repeating: 0, count: folds), counts = [Double](repeating: 0, count: folds)
            for index in examples.indices {
                sums[assignment[index]] += Double(y[index])
                counts[assignment[index]] += 1
            }
            let total = sums.reduce(0, +), all = counts.reduce(0, +)
            return examples.indices.map { index in
                let fold = assignment[index]
                let mean = (total - sums[fold]) / max(all - counts[fold], 1)
                return NearestNeighbourScorer.score(nearest: neighbours[index].prefix(k), labels: y, prior: prior, mean: mean)
            }
        }
        var scores = [Double](repeating: 0, count: examples.count)
        for fold in 0..<folds {
            let train = examples.indices.filter { assignment[$0] != fold }
            let test = examples.indices.filter { assignment[$0] == fold }
            guard !train.isEmpty, !test.isEmpty else { continue }
            let model = fit(candidate, rows: train)
            for index in test { scores[index] = model.score(embeddings.row(index)) }
        }
        return scores
    }

    /// Each candidate's held-out APGR: per fold, averaged with weights prompts × weak→strong gap; best first.
    public func select(_ candidates: [Candidate], folds: Int, progress: (String) -> Void = { _ in }) -> [(Candidate, LearnedRouter.Candidate)] {
        let assignment = Self.folds(sources: examples.map(\.source), count: folds, seed: seed)
        var results: [(Candidate, LearnedRouter.Candidate)] = []
        let largestK = candidates.filter { $0.kind == "knn" }.map { Int($0.parameters["k"] ?? 50) }.max()
        let neighbours = largestK.map { heldOutNeighbours(folds: folds, k: $0) }
        for candidate in candidates {
            let scores = crossValidatedScores(candidate, folds: folds, neighbours: neighbours)
            var perFold: [Double] = []
            var weighted = 0.0, weights = 0.0
            for fold in 0..<folds {
                let outcomes = examples.indices.filter { assignment[$0] == fold }.map { index in
                    ScoredOutcome(score: scores[index], weak: examples[index].outcomes[weak] ?? 0, strong: examples[index].outcomes[strong] ?? 0)
                }
                let curve = RoutingCurve(outcomes)
                let apgr = curve.apgr
                guard !apgr.isNaN else { continue }
                perFold.append(apgr)
                // A fold counts by the quality at stake in it (prompts × weak→strong gap): a fold whose
                // sources show almost no gap has an exploding PGR and must not decide. (Pooling all
                // out-of-fold scores into one curve is no better: each fold model's intercept is the
                // other folds' base rate, which ranks the folds backwards.)
                let weight = Double(outcomes.count) * max(0, curve.strongQuality - curve.weakQuality)
                weighted += weight * apgr
                weights += weight
            }
            let mean = perFold.reduce(0, +) / Double(max(perFold.count, 1))
            let variance = perFold.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(perFold.count - 1, 1))
            let score = weights > 0 ? weighted / weights : mean
            let summary = LearnedRouter.Candidate(name: candidate.name, apgr: score, apgrStandardDeviation: variance.squareRoot())
            let label = candidate.name.count < 52 ? candidate.name + String(repeating: " ", count: 52 - candidate.name.count) : candidate.name
            progress("  " + label + String(format: " held-out APGR %.4f (gap-weighted; plain mean %.4f ± %.4f over %d folds)", score, mean, summary.apgrStandardDeviation, perFold.count))
            results.append((candidate, summary))
        }
        return results.sorted { $0.1.apgr > $1.1.apgr }
    }
}
