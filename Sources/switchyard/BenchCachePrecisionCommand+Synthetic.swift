import Caching
import Embeddings
import Foundation
import SwitchyardCore

extension BenchCachePrecisionCommand {
    /// Minimal edits of the public origins that change what they say — synthetic hard negatives,
    /// reported apart from the real pairs. Each edited statement is asked with every origin cached;
    /// any hit is a wrong answer.
    func synthetic(_ evaluation: CachePrecisionEvaluation, originVectors: [[Float]], embedder: MiniLMEmbedder) throws {
        let edits = Self.edits(of: evaluation.origins)
        print("\nSynthetic minimal edits of the origins (every origin cached; any hit is wrong):")
        print("edit                 count   cosine ≥ \(String(format: "%.2f", ResponseCache.defaultUnverifiedThreshold))   cosine ≥ \(String(format: "%.2f", ResponseCache.defaultSemanticThreshold))   served at the default (verified)")
        let setting = Self.defaultSetting
        let verifier = setting.verifier ?? SemanticVerifier()
        for kind in Edit.Kind.allCases {
            let chosen = edits.filter { $0.kind == kind }
            guard !chosen.isEmpty else { continue }
            let vectors = embedder.embedSync(chosen.map(\.text))
            var unverifiedHits = 0
            var candidates = 0
            var served = 0
            var examples: [String] = []
            for (edit, vector) in zip(chosen, vectors) {
                let signature = SemanticVerifier.Signature(edit.text)
                let ranked = originVectors.indices.map { ($0, dotProduct(vector, originVectors[$0]) ?? 0) }.sorted { $0.1 > $1.1 }
                if let top = ranked.first, Double(top.1) >= ResponseCache.defaultUnverifiedThreshold { unverifiedHits += 1 }
                let above = ranked.prefix(setting.candidates).filter { Double($0.1) >= setting.threshold }
                if !above.isEmpty { candidates += 1 }
                if above.contains(where: { verifier.rejection(signature, evaluation.originSignatures[$0.0]) == nil }) {
                    served += 1
                    if examples.count < 3 { examples.append(edit.text) }
                }
            }
            print(String(format: "  %@%@ %5d     %5d              %5d             %5d", kind.rawValue, String(repeating: " ", count: 18 - kind.rawValue.count), chosen.count, unverifiedHits, candidates, served))
            for example in examples { print("      served: \(example.prefix(150))") }
        }
    }

    struct Edit {
        enum Kind: String, CaseIterable { case number, plural, negation, codeSpan = "code span", name }
        var kind: Kind
        var text: String
    }

    /// One edit of each kind per origin where it applies: the first number changed, the first code
    /// span or identifier pluralised (or singularised), a negation after the first auxiliary verb,
    /// the first code span swapped for another origin's, the first non-initial name swapped for another's.
    static func edits(of origins: [String]) -> [Edit] {
        var edits: [Edit] = []
        let spans = origins.compactMap { firstMatch(#"`[^`]+`"#, in: $0) }
        let names = origins.compactMap { firstMatch(#"(?<=[a-z,] )[A-Z][a-z]+[A-Za-z]*"#, in: $0) }
        for (index, origin) in origins.enumerated() {
            if let number = firstMatch(#"\b\d+\b"#, in: origin), let value = Int(number) {
                edits.append(Edit(kind: .number, text: replaceFirst(number, in: origin, with: String(value + 1))))
            }
            if let span = firstMatch(#"`[A-Za-z_][A-Za-z0-9_.]*`"#, in: origin) ?? firstMatch(#"\b[a-z]+_[a-z_]+\b"#, in: origin) {
                let word = span.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
                let changed = word.hasSuffix("s") ? String(word.dropLast()) : word + "s"
                edits.append(Edit(kind: .plural, text: replaceFirst(span, in: origin, with: span.replacingOccurrences(of: word, with: changed))))
            }
            if let verb = firstMatch(#"\b(is|are|can|should|will|does|do|must)\b"#, in: origin), !origin.contains(" not ") {
                let negated = verb == "can" ? "cannot" : verb + " not"
                edits.append(Edit(kind: .negation, text: replaceFirst(verb, in: origin, with: negated, wordBoundary: true)))
            }
            if let span = firstMatch(#"`[^`]+`"#, in: origin), let other = spans.dropFirst(index % max(1, spans.count)).first(where: { $0 != span }) ?? spans.first(where: { $0 != span }) {
                edits.append(Edit(kind: .codeSpan, text: replaceFirst(span, in: origin, with: other)))
            }
            if let name = firstMatch(#"(?<=[a-z,] )[A-Z][a-z]+[A-Za-z]*"#, in: origin),
                let other = names.dropFirst(index % max(1, names.count)).first(where: { $0.lowercased() != name.lowercased() && !origin.contains($0) })
            {
                edits.append(Edit(kind: .name, text: replaceFirst(name, in: origin, with: other, wordBoundary: true)))
            }
        }
        return edits
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let range = text.range(of: pattern, options: .regularExpression) else { return nil }
        return String(text[range])
    }

    static func replaceFirst(_ target: String, in text: String, with replacement: String, wordBoundary: Bool = false) -> String {
        let pattern = wordBoundary ? "\\b" + NSRegularExpression.escapedPattern(for: target) + "\\b" : NSRegularExpression.escapedPattern(for: target)
        guard let range = text.range(of: pattern, options: .regularExpression) else { return text }
        return text.replacingCharacters(in: range, with: replacement)
    }

    /// What verification adds to a lookup that has candidates: reading the new request, then
    /// comparing with one candidate (the usual case) or three (the most the cache tries); and, the
    /// first time an entry is a candidate, reading its text too (then kept).
    func latency(_ evaluation: CachePrecisionEvaluation) {
        let verifier = SemanticVerifier()
        var one: [Double] = []
        var three: [Double] = []
        var firstTime: [Double] = []
        var rejected = 0
        for _ in 0..<5 {
            for i in 0..<evaluation.count {
                let candidates = evaluation.ranked[i].prefix(3).map { evaluation.originSignatures[$0] }
                var started = ContinuousClock.now
                let signature = SemanticVerifier.Signature(evaluation.similars[i])
                if verifier.rejection(signature, candidates[0]) != nil { rejected += 1 }
                one.append(Self.microseconds(since: started))
                started = ContinuousClock.now
                let query = SemanticVerifier.Signature(evaluation.similars[i])
                for candidate in candidates where verifier.rejection(query, candidate) == nil { break }
                three.append(Self.microseconds(since: started))
                started = ContinuousClock.now
                let fresh = SemanticVerifier.Signature(evaluation.similars[i])
                _ = verifier.rejection(fresh, SemanticVerifier.Signature(evaluation.origins[evaluation.ranked[i][0]]))
                firstTime.append(Self.microseconds(since: started))
            }
        }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        print("\nVerifier latency per lookup with a candidate (\(one.count) lookups, this build):")
        print(String(format: "  one candidate:    p50 %.1f µs, p99 %.1f µs", percentile(one, 0.5), percentile(one, 0.99)))
        print(String(format: "  three candidates: p50 %.1f µs, p99 %.1f µs", percentile(three, 0.5), percentile(three, 0.99)))
        print(String(format: "  one candidate met for the first time (its text read too): p50 %.1f µs, p99 %.1f µs", percentile(firstTime, 0.5), percentile(firstTime, 0.99)))
    }

    static func microseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
    }
}
