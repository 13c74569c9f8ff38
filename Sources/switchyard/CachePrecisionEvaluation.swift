import Caching
import Foundation
import LearnedRouting
import SwitchyardCore

/// Semantic-cache precision and hit rate on paraphrase pairs, with and without the verifier, from
/// precomputed embeddings: the threshold sweep, grouped cross-validation and a simulation of the
/// live protocol. Pure computation; `BenchCachePrecisionCommand` embeds and prints.
struct CachePrecisionEvaluation {
    /// How a lookup chooses: cosine alone (the nearest above the threshold), or the first of the
    /// `candidates` nearest above it that the verifier accepts.
    struct Setting: Hashable, CustomStringConvertible {
        var threshold: Double
        var verifier: SemanticVerifier?
        var candidates: Int

        var description: String {
            guard let verifier else { return String(format: "threshold %.2f, cosine only", threshold) }
            return String(format: "threshold %.2f, verified (top %d, swapped words ≤ %d)", threshold, candidates, verifier.maximumSwappedWords)
        }
    }

    struct Score {
        var correct = 0
        var wrongOrigin = 0
        var falseHits = 0
        var queries = 0
        var hits: Int { correct + wrongOrigin + falseHits }
        /// Right answers among all answers served, in the mixed workload (positives and negatives).
        var precision: Double { hits == 0 ? 1 : Double(correct) / Double(hits) }
        /// Paraphrases answered with their own question's answer.
        var hitRate: Double { queries == 0 ? 0 : Double(correct) / Double(queries) }

        static func + (a: Score, b: Score) -> Score {
            Score(correct: a.correct + b.correct, wrongOrigin: a.wrongOrigin + b.wrongOrigin, falseHits: a.falseHits + b.falseHits, queries: a.queries + b.queries)
        }
    }

    let origins: [String]
    let similars: [String]
    /// One id per distinct origin (textually identical origins share it): the unit of folds.
    let group: [Int]
    /// Per group, the groups that count as the same question: itself, and with merged labels the
    /// groups whose origins are near-duplicates of its own (the data states some things twice).
    let sameMeaning: [Int: Set<Int>]
    let originSignatures: [SemanticVerifier.Signature]
    let similarSignatures: [SemanticVerifier.Signature]
    /// similarity[i][j]: paraphrase i against origin j.
    let similarity: [[Float]]
    /// Paraphrase against paraphrase, for the simulation (misses are cached in turn).
    let similarSimilarity: [[Float]]
    /// Per paraphrase, origins by similarity, most similar first (the first few are enough).
    let ranked: [[Int]]
    private var verdicts: [SemanticVerifier: [Int: Bool]] = [:]

    init(origins: [String], similars: [String], originVectors: [[Float]], similarVectors: [[Float]], merge: Float = 2) {
        self.origins = origins
        self.similars = similars
        var ids: [String: Int] = [:]
        group = origins.map { origin in
            let key = String(origin.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) })
            if let id = ids[key] { return id }
            ids[key] = ids.count
            return ids.count - 1
        }
        similarity = similarVectors.map { query in originVectors.map { dotProduct(query, $0) ?? 0 } }
        similarSimilarity = similarVectors.map { query in similarVectors.map { dotProduct(query, $0) ?? 0 } }
        // Merged labels: two pairs are the same question when any text of one is a near-duplicate
        // (cosine ≥ merge) of any text of the other — the data states some facts several times over.
        var same: [Int: Set<Int>] = [:]
        for i in origins.indices {
            same[group[i], default: []].insert(group[i])
            guard merge <= 1 else { continue }
            for j in origins.indices where j != i {
                let closest = max(
                    dotProduct(originVectors[i], originVectors[j]) ?? 0, similarSimilarity[i][j], similarity[i][j], similarity[j][i])
                if closest >= merge { same[group[i], default: []].insert(group[j]) }
            }
        }
        sameMeaning = same
        originSignatures = origins.map(SemanticVerifier.Signature.init)
        similarSignatures = similars.map(SemanticVerifier.Signature.init)
        ranked = similarity.map { row in Array(row.indices.sorted { row[$0] > row[$1] }.prefix(16)) }
    }

    var count: Int { origins.count }

    /// Whether origin `j` may answer paraphrase `i` (memoised per verifier).
    mutating func accepts(_ i: Int, _ j: Int, _ verifier: SemanticVerifier) -> Bool {
        let key = i * count + j
        if let known = verdicts[verifier]?[key] { return known }
        let verdict = verifier.rejection(similarSignatures[i], originSignatures[j]) == nil
        verdicts[verifier, default: [:]][key] = verdict
        return verdict
    }

    /// Whether origin `j` answers paraphrase `i` rightly.
    func isRight(_ i: Int, _ j: Int) -> Bool { sameMeaning[group[i]]?.contains(group[j]) ?? false }

    /// The origin that answers paraphrase `i` with every origin cached, or (`withoutOwn`) every
    /// origin but those of the same question.
    mutating func served(_ i: Int, _ setting: Setting, withoutOwn: Bool) -> Int? {
        var looked = 0
        for j in ranked[i] where !withoutOwn || !isRight(i, j) {
            guard Double(similarity[i][j]) >= setting.threshold, looked < setting.candidates else { return nil }
            looked += 1
            guard let verifier = setting.verifier else { return j }
            if accepts(i, j, verifier) { return j }
        }
        return nil
    }

    /// The benchmark's protocol: every origin cached; each paraphrase asked once with its origin
    /// there (a hit is right only on its own origin) and once with it removed (any hit is wrong).
    mutating func score(_ setting: Setting, queries: [Int]) -> Score {
        var score = Score()
        for i in queries {
            score.queries += 1
            if let j = served(i, setting, withoutOwn: false) {
                if isRight(i, j) { score.correct += 1 } else { score.wrongOrigin += 1 }
            }
            if served(i, setting, withoutOwn: true) != nil { score.falseHits += 1 }
        }
        return score
    }

    /// The setting with the highest hit rate whose precision reaches `target` on `queries` (ties:
    /// the higher threshold); the strictest setting when none does.
    mutating func choose(from settings: [Setting], queries: [Int], target: Double) -> Setting {
        var best: (setting: Setting, hitRate: Double)?
        for setting in settings {
            let score = score(setting, queries: queries)
            guard score.precision >= target else { continue }
            if best == nil || score.hitRate > best!.hitRate || (score.hitRate == best!.hitRate && setting.threshold > best!.setting.threshold) {
                best = (setting, score.hitRate)
            }
        }
        return best?.setting ?? settings.max { $0.threshold < $1.threshold }!
    }

    /// Grouped k-fold cross-validation: folds are sets of distinct origins, so no question is both
    /// tuned on and tested. Returns the pooled held-out score and each fold's choice.
    mutating func crossValidate(_ settings: [Setting], folds: Int, target: Double, seed: UInt64) -> (Score, [Setting]) {
        var generator = SeededGenerator(seed: seed)
        let groups = Array(Set(group)).sorted().shuffled(using: &generator)
        var foldOf: [Int: Int] = [:]
        for (position, id) in groups.enumerated() { foldOf[id] = position % folds }
        var pooled = Score()
        var chosen: [Setting] = []
        for fold in 0..<folds {
            let train = (0..<count).filter { foldOf[group[$0]] != fold }
            let test = (0..<count).filter { foldOf[group[$0]] == fold }
            let setting = choose(from: settings, queries: train, target: target)
            chosen.append(setting)
            pooled = pooled + score(setting, queries: test)
        }
        return (pooled, chosen)
    }

    struct Simulation {
        var lookups = 0
        var hits = 0
        var correct = 0
        var shouldHit = 0
        var precision: Double { hits == 0 ? 1 : Double(correct) / Double(hits) }
        /// Semantic hits over lookups, as `switchyard cache stats` counts them.
        var hitRate: Double { lookups == 0 ? 0 : Double(hits) / Double(lookups) }
        /// Paraphrases of cached questions answered with their own answer.
        var ownAnswerRate: Double { shouldHit == 0 ? 0 : Double(correct) / Double(shouldHit) }

        static func + (a: Simulation, b: Simulation) -> Simulation {
            Simulation(lookups: a.lookups + b.lookups, hits: a.hits + b.hits, correct: a.correct + b.correct, shouldHit: a.shouldHit + b.shouldHit)
        }
    }

    /// The live protocol: half the pairs' origins cached; every paraphrase asked in a random order;
    /// those of the cached half should get their own answer, the others must miss; every miss is
    /// cached in turn (its own answer), as the gateway does.
    mutating func simulate(_ setting: Setting, seed: UInt64, wrong: ((_ asked: Int, _ cached: String, _ similarity: Float) -> Void)? = nil) -> Simulation {
        var generator = SeededGenerator(seed: seed)
        let distinct = Array(Set(group)).sorted().shuffled(using: &generator)
        let cachedGroups = Set(distinct.prefix(distinct.count / 2))
        // One origin per cached group (duplicates would be exact hits, not semantic ones).
        var cachedOrigins: [Int] = []
        var seen: Set<Int> = []
        for j in 0..<count where cachedGroups.contains(group[j]) && seen.insert(group[j]).inserted { cachedOrigins.append(j) }
        var cachedSimilars: [Int] = []
        var result = Simulation()
        for i in (0..<count).shuffled(using: &generator) {
            result.lookups += 1
            let should = sameMeaning[group[i]]?.contains(where: cachedGroups.contains) ?? false
            if should { result.shouldHit += 1 }
            // Candidates: (similarity, group, signature) of every cached entry above the threshold.
            var candidates: [(similarity: Float, group: Int, origin: Int?, similar: Int?)] = []
            for j in cachedOrigins where Double(similarity[i][j]) >= setting.threshold {
                candidates.append((similarity[i][j], group[j], j, nil))
            }
            for k in cachedSimilars where Double(similarSimilarity[i][k]) >= setting.threshold {
                candidates.append((similarSimilarity[i][k], group[k], nil, k))
            }
            candidates.sort { $0.similarity > $1.similarity }
            var answer: (group: Int, origin: Int?, similar: Int?, similarity: Float)?
            for candidate in candidates.prefix(setting.candidates) {
                let signature = candidate.origin.map { originSignatures[$0] } ?? similarSignatures[candidate.similar!]
                if setting.verifier?.rejection(similarSignatures[i], signature) == nil {
                    answer = (candidate.group, candidate.origin, candidate.similar, candidate.similarity)
                    break
                }
            }
            if let answer {
                result.hits += 1
                if sameMeaning[group[i]]?.contains(answer.group) ?? false {
                    result.correct += 1
                } else {
                    wrong?(i, answer.origin.map { origins[$0] } ?? similars[answer.similar!], answer.similarity)
                }
            } else {
                cachedSimilars.append(i)
            }
        }
        return result
    }

    /// Why the verifier turns down the answers cosine alone would serve at `threshold`: per check,
    /// right answers lost (nearest is the own origin) and wrong ones caught (nearest is another).
    func rejections(threshold: Double, verifier: SemanticVerifier) -> (lost: [SemanticVerifier.Check: Int], caught: [SemanticVerifier.Check: Int]) {
        var lost: [SemanticVerifier.Check: Int] = [:]
        var caught: [SemanticVerifier.Check: Int] = [:]
        for i in 0..<count {
            for withoutOwn in [false, true] {
                guard let j = ranked[i].first(where: { !withoutOwn || !isRight(i, $0) }), Double(similarity[i][j]) >= threshold,
                    let check = verifier.rejection(similarSignatures[i], originSignatures[j])
                else { continue }
                if isRight(i, j) { lost[check, default: 0] += 1 } else { caught[check, default: 0] += 1 }
            }
        }
        return (lost, caught)
    }
}
