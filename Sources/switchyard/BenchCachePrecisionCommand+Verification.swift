import Caching
import Foundation

extension BenchCachePrecisionCommand {
    typealias Setting = CachePrecisionEvaluation.Setting

    /// The gateway's defaults: the compiled threshold, the verifier as configured by default.
    static var defaultSetting: Setting {
        Setting(threshold: ResponseCache.defaultSemanticThreshold, verifier: SemanticVerifier(), candidates: ResponseCache.verifiedCandidates)
    }

    static var thresholds: [Double] { stride(from: 0.70, through: 0.99, by: 0.01).map { ($0 * 100).rounded() / 100 } }

    /// Curves with and without the verifier, cross-validated choices, the live-protocol simulation
    /// and what each check turns down.
    func verified(_ evaluation: inout CachePrecisionEvaluation, labels: String) {
        let verifier = SemanticVerifier()
        print("\n=== \(labels) ===")
        print("\nWith and without verification (all \(evaluation.count) pairs; positives and hard negatives as above).")
        print("Verified: the first of the \(ResponseCache.verifiedCandidates) nearest above the threshold that passes the verifier (content check reach \(verifier.maximumSwappedWords); 0 is off).")
        print("threshold   cosine only: hit rate  precision   verified: hit rate  precision  wrong-origin  false hits")
        for threshold in Self.thresholds where threshold >= min(from, 0.80) {
            let plain = evaluation.score(Setting(threshold: threshold, verifier: nil, candidates: 1), queries: Array(0..<evaluation.count))
            let checked = evaluation.score(
                Setting(threshold: threshold, verifier: verifier, candidates: ResponseCache.verifiedCandidates), queries: Array(0..<evaluation.count))
            print(
                String(
                    format: "  %.2f            %6.1f %%   %7.2f %%            %6.1f %%   %7.2f %%     %4d        %4d",
                    threshold, 100 * plain.hitRate, 100 * plain.precision, 100 * checked.hitRate, 100 * checked.precision,
                    checked.wrongOrigin, checked.falseHits))
        }

        // Cross-validation: the threshold (and, verified, the content check's reach) chosen on the
        // training folds for the highest hit rate at ≥ target precision, scored on the held-out fold.
        let cosineSettings = Self.thresholds.map { Setting(threshold: $0, verifier: nil, candidates: 1) }
        let verifiedSettings = Self.thresholds.flatMap { threshold in
            (0...3).map { Setting(threshold: threshold, verifier: SemanticVerifier(maximumSwappedWords: $0), candidates: ResponseCache.verifiedCandidates) }
        }
        print("\n\(folds)-fold cross-validation grouped by origin, \(seeds) seeds; chosen on the training folds for the highest hit rate at precision ≥ \(String(format: "%.2f", target)):")
        for (label, settings) in [("cosine only", cosineSettings), ("verified", verifiedSettings)] {
            var pooled = CachePrecisionEvaluation.Score()
            var choices: [String: Int] = [:]
            for seed in 0..<UInt64(seeds) {
                let (score, chosen) = evaluation.crossValidate(settings, folds: folds, target: target, seed: seed + 1)
                pooled = pooled + score
                for setting in chosen { choices[setting.description, default: 0] += 1 }
            }
            print(String(format: "  %@: held-out precision %.2f %%, hit rate %.1f %% (%d right, %d wrong-origin, %d false hits of %d queries)",
                         label, 100 * pooled.precision, 100 * pooled.hitRate, pooled.correct, pooled.wrongOrigin, pooled.falseHits, pooled.queries))
            for (choice, times) in choices.sorted(by: { $0.value > $1.value }) { print("      \(times)× \(choice)") }
        }
        let all = Array(0..<evaluation.count)
        let onAll = evaluation.choose(from: verifiedSettings, queries: all, target: target)
        print("  chosen on all pairs: \(onAll)")
        let compiled = Self.defaultSetting
        let score = evaluation.score(compiled, queries: all)
        print(String(format: "  Switchyard's default: %@ — precision %.2f %%, hit rate %.1f %% on all pairs (in-sample)", compiled.description, 100 * score.precision, 100 * score.hitRate))

        // The issue's live protocol, on the public pairs.
        print("\nLive-protocol simulation (half the origins cached; every paraphrase asked in a random order; misses cached in turn), \(seeds) seeds pooled:")
        print("setting                                                        precision  hit rate (hits/lookups)  own answers (of cached half)")
        var simulated: [Setting] = [compiled]
        for threshold in [0.85, 0.88, 0.90, 0.91, 0.92, 0.93, 0.95, 0.97] {
            simulated.append(Setting(threshold: threshold, verifier: nil, candidates: 1))
            simulated.append(Setting(threshold: threshold, verifier: verifier, candidates: ResponseCache.verifiedCandidates))
        }
        for setting in simulated {
            var pooled = CachePrecisionEvaluation.Simulation()
            for seed in 0..<UInt64(seeds) { pooled = pooled + evaluation.simulate(setting, seed: 100 + seed) }
            let name = (setting == compiled ? "default: " : "") + setting.description
            print(String(format: "  %@%@  %6.2f %%   %6.1f %% (%d/%d)         %6.1f %%",
                         name, String(repeating: " ", count: max(0, 60 - name.count)), 100 * pooled.precision,
                         100 * pooled.hitRate, pooled.hits, pooled.lookups, 100 * pooled.ownAnswerRate))
        }

        let (lost, caught) = evaluation.rejections(threshold: compiled.threshold, verifier: compiled.verifier ?? verifier)
        print(String(format: "\nAt %.2f, of the nearest candidates cosine alone would serve, the verifier turns down (by check):", compiled.threshold))
        for check in SemanticVerifier.Check.allCases where lost[check] != nil || caught[check] != nil {
            print("  \(check.rawValue): \(caught[check] ?? 0) wrong answers caught, \(lost[check] ?? 0) right answers lost")
        }
    }

    /// The verifier's mistakes at `threshold`, for reading (not for tuning on a held-out set).
    static func show(_ evaluation: inout CachePrecisionEvaluation, threshold: Double) {
        let verifier = SemanticVerifier()
        let setting = Setting(threshold: threshold, verifier: verifier, candidates: ResponseCache.verifiedCandidates)
        let similars = evaluation.similars
        var mergedPairs = 0
        for i in 0..<evaluation.count {
            for j in (i + 1)..<evaluation.count where evaluation.group[i] != evaluation.group[j] && evaluation.isRight(i, j) {
                mergedPairs += 1
                if let check = verifier.rejection(evaluation.originSignatures[i], evaluation.originSignatures[j]) {
                    print("MERGED BUT REJECTED (\(check.rawValue)):\n  \(evaluation.origins[i])\n  \(evaluation.origins[j])")
                }
            }
        }
        print("merged pairs of origins: \(mergedPairs)")
        let simulated = evaluation.simulate(setting, seed: 100) { asked, cached, similarity in
            print(String(format: "SIMULATED WRONG %.3f", similarity))
            print("  asked:  \(similars[asked])\n  cached: \(cached)")
        }
        print(String(format: "simulation, seed 100: precision %.2f %%, hit rate %.1f %%", 100 * simulated.precision, 100 * simulated.hitRate))
        for i in 0..<evaluation.count {
            for withoutOwn in [false, true] {
                if let j = evaluation.served(i, setting, withoutOwn: withoutOwn), !evaluation.isRight(i, j) {
                    print(String(format: "WRONG %.3f", evaluation.similarity[i][j]))
                    print("  asked:  \(evaluation.similars[i])\n  cached: \(evaluation.origins[j])")
                }
            }
            if let j = evaluation.ranked[i].first, evaluation.isRight(i, j), Double(evaluation.similarity[i][j]) >= threshold,
                let check = verifier.rejection(evaluation.similarSignatures[i], evaluation.originSignatures[j])
            {
                print(String(format: "LOST %@ %.3f", check.rawValue, evaluation.similarity[i][j]))
                print("  asked:  \(evaluation.similars[i])\n  cached: \(evaluation.origins[j])")
            }
        }
    }
}
