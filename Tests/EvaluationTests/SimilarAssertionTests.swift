import Embeddings
import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

/// Word-count vectors over a fixed vocabulary: similarity is predictable without a model.
struct VocabularyEmbedder: TextEmbedder {
    static let vocabulary = ["paris", "capital", "france", "berlin", "germany", "pizza", "cat"]
    var modelName: String { "test/vocabulary" }
    var dimensions: Int { Self.vocabulary.count }
    func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let vectors = texts.map { text -> [Float] in
            let words = text.lowercased().split { !$0.isLetter }.map(String.init)
            return Self.vocabulary.map { word in Float(words.filter { $0 == word }.count) }
        }
        return EmbeddingBatch(vectors: vectors, promptTokens: 0)
    }
}

struct FailingEmbedder: TextEmbedder {
    var modelName: String { "test/failing" }
    var dimensions: Int { 3 }
    func embed(_ texts: [String]) async throws -> EmbeddingBatch { throw EvalCallError("model file is corrupt") }
}

@Suite struct SimilarAssertionTests {
    func grade(_ object: JSONValue, _ output: String, embedder: (any TextEmbedder)? = VocabularyEmbedder()) async throws -> GradingResult {
        await AssertionGrader.grade(try Fixture.assertion(object), context: Fixture.context(output, vars: ["city": "Paris"], embedder: embedder))
    }

    @Test func passesAtOrAboveTheThreshold() async throws {
        let same = try await grade(["type": "similar", "value": "{{ city }} capital France"], "France: capital Paris")
        #expect(same.pass, "\(same.reason)")
        #expect(abs(same.score - 1) < 1e-6)
        let unrelated = try await grade(["type": "similar", "value": "pizza cat"], "Paris capital France")
        #expect(!unrelated.pass)
        #expect(unrelated.score == 0)
        #expect(unrelated.reason.contains("similarity 0.00"))
    }

    @Test func theDefaultThresholdIsPromptfoos() async throws {
        // cosine([1,1,1,0…], [1,1,0…]) = 2 / (√3·√2) ≈ 0.816: above 0.75, below 0.9.
        #expect(try await grade(["type": "similar", "value": "paris capital"], "paris capital france").pass)
        #expect(!(try await grade(["type": "similar", "value": "paris capital", "threshold": 0.9], "paris capital france").pass))
    }

    @Test func aListPassesWhenAnyIsSimilarEnoughAndScoresTheBest() async throws {
        let result = try await grade(["type": "similar", "value": ["berlin germany", "paris france"]], "paris france")
        #expect(result.pass)
        #expect(abs(result.score - 1) < 1e-6)
        #expect(result.reason.contains("best similarity 1.00 of 2"))
    }

    @Test func negation() async throws {
        let result = try await grade(["type": "not-similar", "value": "berlin germany"], "paris france")
        #expect(result.pass)
        #expect(result.score == 1)
        #expect(!(try await grade(["type": "not-similar", "value": "paris france"], "paris france").pass))
    }

    @Test func withoutTheModelItFailsSayingHowToInstallIt() async throws {
        let result = try await grade(["type": "similar", "value": "x"], "x", embedder: nil)
        #expect(!result.pass)
        #expect(result.reason.contains("switchyard models pull all-minilm-l6-v2"))
        #expect(!(try await grade(["type": "not-similar", "value": "x"], "y", embedder: nil).pass))
        let broken = try await grade(["type": "similar", "value": "x"], "x", embedder: FailingEmbedder())
        #expect(!broken.pass)
        #expect(broken.reason.contains("model file is corrupt"))
    }

    @Test func cosineNeverReturnsNaN() {
        #expect(SimilarityAssertion.cosine([0, 0], [1, 1]) == 0)
        #expect(SimilarityAssertion.cosine([1], [1, 2]) == 0)
        #expect(SimilarityAssertion.cosine([], []) == 0)
        #expect(abs(SimilarityAssertion.cosine([1, 0], [-1, 0]) + 1) < 1e-12)
    }
}

/// `similar` with the real local MiniLM model (skipped when it is not installed).
@Suite(.enabled(if: LocalModel.embedder != nil, "the local model is not installed: switchyard models pull all-minilm-l6-v2"))
struct SimilarWithLocalModelTests {
    @Test func paraphrasesAreSimilarAndUnrelatedTextIsNot() async throws {
        let embedder = try #require(LocalModel.embedder)
        func grade(_ value: String, _ output: String) async throws -> GradingResult {
            await AssertionGrader.grade(
                try Fixture.assertion(["type": "similar", "value": .string(value)]), context: Fixture.context(output, embedder: embedder))
        }
        let paraphrase = try await grade("The capital of France is Paris.", "Paris is the capital city of France.")
        #expect(paraphrase.pass, "\(paraphrase.reason)")
        #expect(paraphrase.score > 0.8)
        let unrelated = try await grade("The capital of France is Paris.", "My cat enjoys sleeping on the warm windowsill.")
        #expect(!unrelated.pass, "\(unrelated.reason)")
        #expect(unrelated.score < 0.3)
    }

    @Test func aTwoMegabyteAnswerIsEmbeddedFromItsBeginning() async throws {
        let embedder = try #require(LocalModel.embedder)
        let huge = "Paris is the capital of France. " + String(repeating: "lorem ipsum ", count: 180_000)
        let result = await AssertionGrader.grade(
            try Fixture.assertion(["type": "similar", "value": "The capital of France is Paris.", "threshold": 0.1]),
            context: Fixture.context(huge, embedder: embedder))
        #expect(result.score > 0.1, "\(result.reason)")
        #expect(result.reason.utf8.count < 2_000)
    }
}

enum LocalModel {
    /// Loaded once, from SWITCHYARD_MODEL_DIR or the default cache folder, as the other suites load it.
    static let embedder: MiniLMEmbedder? = ProcessInfo.processInfo.environment["SWITCHYARD_SKIP_MODEL_TESTS"] == "1"
        ? nil : try? MiniLMEmbedder.loadDefault()
}
