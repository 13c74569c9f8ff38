import Foundation
import SwitchyardCore
import Testing

@testable import LearnedRouting

@Suite("Training data derived from the request log")
struct DerivedDatasetTests {
    static func observation(_ id: String, _ prompt: String, _ model: String, _ value: Double, source: String? = "team-a") -> OutcomeObservation {
        OutcomeObservation(requestID: id, prompt: prompt, model: model, value: value, createdAt: Date(timeIntervalSince1970: 0), source: source)
    }

    @Test func promptsAnsweredByTwoModelsBecomeExamplesWithMeanOutcomes() throws {
        var observations: [OutcomeObservation] = []
        for index in 0..<12 {
            observations.append(Self.observation("req_\(index)a", "What is  \(index)?\n", "weak-m", 0))
            observations.append(Self.observation("req_\(index)b", " What is \(index)? ", "strong-m", 1))
            observations.append(Self.observation("req_\(index)c", "What is \(index)?", "strong-m", 0.5))
        }
        observations.append(Self.observation("req_lonely", "Only one model saw this", "weak-m", 1))
        let (dataset, derivation) = try RoutingDataset.derived(from: observations)
        #expect(dataset.examples.count == 12)
        #expect(derivation.singleModelPrompts == 1 && derivation.prompts == 13 && derivation.observations == 37)
        let first = try #require(dataset.examples.first)
        #expect(first.id == "req_0a" && first.source == "team-a" && first.prompt == "What is  0?\n")
        #expect(first.outcomes == ["weak-m": 0, "strong-m": 0.75])
        #expect(try dataset.pair(weak: nil, strong: nil) == (weak: "weak-m", strong: "strong-m"))

        // Written out, it reads back as --data.
        let reread = try RoutingDataset.parse(dataset.jsonLines(), file: "derived.jsonl")
        #expect(reread.examples == dataset.examples)
    }

    @Test func tooFewUsableExamplesIsAClearError() {
        let observations = (0..<30).map { Self.observation("req_\($0)", "prompt \($0)", "only-model", 1) }
            + [Self.observation("x1", "shared", "a", 1), Self.observation("x2", "shared", "b", 0)]
        #expect {
            try RoutingDataset.derived(from: observations)
        } throws: { error in
            let message = (error as? RoutingDataset.DerivationError)?.message ?? ""
            return message.contains("Only 1 usable example") && message.contains("30 prompts answered by one model only were left out")
                && message.contains("use experiments or evals")
        }
    }

    @Test func aPairKeepsOnlyPromptsScoredByBoth() throws {
        var observations: [OutcomeObservation] = []
        for index in 0..<10 {
            observations.append(Self.observation("w\(index)", "p\(index)", "weak", 0, source: nil))
            observations.append(Self.observation("s\(index)", "p\(index)", "strong", 1, source: nil))
        }
        observations.append(Self.observation("o1", "other", "weak", 1))
        observations.append(Self.observation("o2", "other", "third", 0))
        let (dataset, derivation) = try RoutingDataset.derived(from: observations, pair: (weak: "weak", strong: "strong"))
        #expect(dataset.examples.count == 10 && derivation.missingPairPrompts == 1)
        #expect(dataset.examples.allSatisfy { $0.source == "log" })
    }

    @Test func whitespaceIsNormalised() {
        #expect(RoutingDataset.normalizedPrompt("  a\t b\n\nc  ") == "a b c")
        #expect(RoutingDataset.normalizedPrompt(" \n ") == "")
    }
}
