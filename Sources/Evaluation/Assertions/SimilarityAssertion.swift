import Foundation
import SwitchyardCore

/// `similar`: cosine similarity of the answer and the expected text(s) under the local embedding model.
enum SimilarityAssertion {
    /// The model reads at most a few hundred tokens; a longer text is cut before tokenising rather than after,
    /// so a 2 MB answer costs no more than a page.
    static let maximumEmbeddedCharacters = 8_000

    static func check(value: JSONValue?, threshold: Double, context: AssertionContext) async -> CheckOutcome {
        let expected: [String]
        switch value {
        case .string(let text)?: expected = [text]
        case .array(let items)?: expected = items.map(Template.plain)
        default: return .unable("'similar' needs a string or a list of strings to compare the answer with")
        }
        guard !expected.isEmpty else { return .unable("'similar' needs at least one string to compare the answer with") }
        let shown = expected.prefix(5).map { OutputText.quoted($0, limit: 80) }.joined(separator: " or ")
        let expectation = "be similar to \(shown) (cosine ≥ \(NumberText.plain(threshold)))"
        guard let embedder = context.embedder else {
            return .unable(
                "'similar' needs the local embedding model, which is not installed: run `switchyard models pull all-minilm-l6-v2`",
                expectation: expectation)
        }
        let texts = ([context.output] + expected).map { String($0.prefix(maximumEmbeddedCharacters)) }
        let vectors: [[Float]]
        do {
            vectors = try await embedder.embed(texts).vectors
        } catch {
            return .unable("the embedding model failed: \(String(describing: error).prefix(300))", expectation: expectation)
        }
        guard vectors.count == texts.count, let answer = vectors.first else {
            return .unable("the embedding model returned \(vectors.count) vectors for \(texts.count) texts", expectation: expectation)
        }
        let similarities = vectors.dropFirst().map { cosine(answer, $0) }
        let best = similarities.max() ?? 0
        let score = min(max(best, 0), 1)
        let finding = expected.count == 1
            ? "similarity \(OutputText.score(best))" : "best similarity \(OutputText.score(best)) of \(expected.count)"
        return CheckOutcome(holds: best >= threshold, score: score, expectation: expectation, finding: finding)
    }

    /// Cosine similarity; 0 for a zero or mismatched vector (never NaN).
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var dot = 0.0
        var normA = 0.0
        var normB = 0.0
        for index in a.indices {
            let x = Double(a[index])
            let y = Double(b[index])
            dot += x * y
            normA += x * x
            normB += y * y
        }
        guard normA > 0, normB > 0 else { return 0 }
        let value = dot / (normA.squareRoot() * normB.squareRoot())
        return value.isFinite ? value : 0
    }
}
