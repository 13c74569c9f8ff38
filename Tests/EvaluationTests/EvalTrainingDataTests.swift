import SwitchyardCore
import Testing

@testable import Evaluation

@Suite struct EvalTrainingDataTests {
    func record(_ test: Int, _ provider: String, label: String? = nil, score: Double, success: Bool? = nil, error: String? = nil,
                vars: [String: JSONValue] = [:], prompt: String? = nil, prompt index: Int = 0) -> EvalResultRecord {
        EvalResultRecord(
            testIdx: test, promptIdx: index, providerID: provider, providerLabel: label, vars: vars.isEmpty ? ["t": .int(Int64(test))] : vars,
            prompt: prompt ?? "Question \(test)?", output: nil, success: success ?? (score >= 1), score: score,
            failureReason: error != nil ? .error : (success ?? (score >= 1)) ? .none : .assertion, error: error, cost: 0, latencyMs: 0,
            metadata: [:], description: nil)
    }

    @Test func aFailedAssertionWithAnErrorTextIsStillAVerdict() {
        // promptfoo writes the grading reason into `error` for failed assertions too; only failureReason 2 is an error.
        var failed = record(0, "a", score: 0)
        failed.error = "Expected output to contain cat"
        let derived = EvalTrainingData.derive([failed, record(0, "b", score: 1)])
        #expect(derived.erroredCells == 0 && derived.examples[0].outcomes == ["a": 0, "b": 1])
    }

    @Test func oneExamplePerTestWithEachModelsMeanOutcome() {
        let records = [
            record(0, "openai:chat:weak", score: 1, vars: ["id": "q0", "source": "mmlu/a"]),
            record(0, "openai:chat:weak", score: 0, vars: ["id": "q0", "source": "mmlu/a"]),  // a repeat
            record(0, "strong", score: 1, vars: ["id": "q0", "source": "mmlu/a"]),
            record(1, "openai:chat:weak", score: 0.25),
            record(1, "strong", label: "Strong", score: 0.75),
            record(2, "openai:chat:weak", score: 1),
            record(2, "strong", score: 0, error: "HTTP 503"),
        ]
        let derived = EvalTrainingData.derive(records)
        #expect(derived.erroredCells == 1)
        #expect(derived.examples.map(\.id) == ["q0", "test-1", "test-2"])
        #expect(derived.examples[0].source == "mmlu/a" && derived.examples[0].prompt == "Question 0?")
        #expect(derived.examples[0].outcomes == ["weak": 0.5, "strong": 1])
        #expect(derived.examples[1].outcomes == ["weak": 0.25, "Strong": 0.75])
        #expect(derived.examples[2].outcomes == ["weak": 1])  // the errored cell is no verdict
        let passes = EvalTrainingData.derive(records, outcome: .pass)
        #expect(passes.examples[1].outcomes == ["weak": 0, "Strong": 0])
    }

    @Test func chatPromptsTrainOnTheLastUserTurn() {
        let chat = #"[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]"#
        let derived = EvalTrainingData.derive([record(0, "a", score: 1, prompt: chat), record(0, "b", score: 0, prompt: chat)])
        #expect(derived.examples[0].prompt == "What is 2+2?")
        #expect(derived.examples[0].json["outcomes"] == ["a": .double(1), "b": .double(0)])
    }

    @Test func severalPromptsMakeSeveralExamplesPerTest() {
        let derived = EvalTrainingData.derive([record(0, "a", score: 1, prompt: "x", prompt: 0), record(0, "a", score: 0, prompt: "y", prompt: 1)])
        #expect(derived.examples.map(\.id) == ["test-0", "test-1"])
        #expect(derived.examples.map(\.prompt) == ["x", "y"])
    }

    @Test func nonFiniteOrOutOfRangeScoresAreClamped() {
        let derived = EvalTrainingData.derive([record(0, "a", score: .nan), record(0, "b", score: 7)])
        #expect(derived.examples[0].outcomes == ["a": 0, "b": 1])
    }
}
