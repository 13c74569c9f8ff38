import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct LLMRubricTests {
    func grade(
        _ object: JSONValue, output: String = "Bonjour! Paris is the capital.", judge: ScriptedJudge?, judgeModel: String? = "judge-model",
        vars: [String: JSONValue] = [:], rubricPrompt: JSONValue? = nil
    ) async throws -> GradingResult {
        let context = Fixture.context(output, vars: vars, judge: judge, judgeModel: judgeModel, rubricPrompt: rubricPrompt)
        return await AssertionGrader.grade(try Fixture.assertion(object), context: context)
    }

    @Test func passingVerdict() async throws {
        let judge = ScriptedJudge(replying: #"{"reason": "mentions Paris", "pass": true, "score": 0.9}"#)
        let result = try await grade(["type": "llm-rubric", "value": "Names the capital of {{ country }}"], judge: judge, vars: ["country": "France"])
        #expect(result.pass)
        #expect(result.score == 0.9)
        #expect(result.reason.contains("mentions Paris"))
        #expect(result.judgeTokens == 15)
        #expect(result.judgeCostUSD == 0.001)
        let call = try #require(judge.calls.all.first)
        #expect(call.model == "judge-model")
        #expect(call.parameters["temperature"] == 0)
        #expect(call.messages.count == 2)
        #expect(call.messages[0]["role"] == "system")
        #expect(call.messages[0]["content"]?.stringValue?.contains("ONLY a JSON object") == true)
        let user = try #require(call.messages[1]["content"]?.stringValue)
        #expect(user.contains("Bonjour! Paris is the capital."))
        #expect(user.contains("Names the capital of France"))
    }

    @Test func failingVerdictAndItsNegation() async throws {
        let judge = ScriptedJudge(replying: #"{"reason": "speaks like a pirate", "pass": false, "score": 0.1}"#)
        let result = try await grade(["type": "llm-rubric", "value": "Does not speak like a pirate"], judge: judge)
        #expect(!result.pass)
        #expect(result.score == 0.1)
        #expect(result.reason.contains("speaks like a pirate"))
        let negated = try await grade(["type": "not-llm-rubric", "value": "Does not speak like a pirate"], judge: judge)
        #expect(negated.pass)
        #expect(abs(negated.score - 0.9) < 1e-9)
    }

    @Test func thresholdDecidesOnTheScore() async throws {
        let judge = ScriptedJudge(replying: #"{"reason": "partly", "pass": true, "score": 0.6}"#)
        #expect(!(try await grade(["type": "llm-rubric", "value": "x", "threshold": 0.7], judge: judge).pass))
        #expect(try await grade(["type": "llm-rubric", "value": "x", "threshold": 0.5], judge: judge).pass)
    }

    @Test(arguments: [
        ("Here is my grade:\n```json\n{\"pass\": true, \"reason\": \"fine\"}\n```", true, 1.0),
        (#"{"score": 0.7, "reason": "mostly"}"#, true, 0.7),
        (#"{"score": 0.2}"#, false, 0.2),
        (#"{"pass": false}"#, false, 0.0),
        (#"{"pass": "true", "score": "0.8"}"#, true, 0.8),
        (#"{"pass": true, "score": 7}"#, true, 1.0),
        (#"{"pass": true, "score": -3}"#, true, 0.0),
    ])
    func repliesAreReadRobustly(reply: String, passes: Bool, score: Double) async throws {
        let result = try await grade(["type": "llm-rubric", "value": "x"], judge: ScriptedJudge(replying: reply))
        #expect(result.pass == passes, "\(result.reason)")
        #expect(abs(result.score - score) < 1e-9)
    }

    @Test func garbageReplyFailsWithTheReplyInTheReason() async throws {
        let result = try await grade(["type": "llm-rubric", "value": "x"], judge: ScriptedJudge(replying: "I think it is good!"))
        #expect(!result.pass)
        #expect(result.reason.contains("judge answered unparseably"))
        #expect(result.reason.contains("I think it is good!"))
        #expect(result.judgeTokens == 15)
        let negated = try await grade(["type": "not-llm-rubric", "value": "x"], judge: ScriptedJudge(replying: "{\"verdict\": 1}"))
        #expect(!negated.pass)
    }

    @Test func judgeErrorsBecomeFailingVerdicts() async throws {
        let judge = ScriptedJudge { _ in throw EvalCallError("HTTP 429: rate limited") }
        let result = try await grade(["type": "llm-rubric", "value": "x"], judge: judge)
        #expect(!result.pass)
        #expect(result.reason.contains("HTTP 429: rate limited"))
        #expect(!(try await grade(["type": "not-llm-rubric", "value": "x"], judge: judge).pass))
    }

    @Test func noJudgeModelOrNoJudge() async throws {
        let judge = ScriptedJudge(replying: #"{"pass": true}"#)
        let noModel = try await grade(["type": "llm-rubric", "value": "x"], judge: judge, judgeModel: nil)
        #expect(!noModel.pass)
        #expect(noModel.reason.contains("no judge model: set options.provider or the assertion's provider"))
        let assertionProvider = try await grade(["type": "llm-rubric", "value": "x", "provider": "strict-judge"], judge: judge, judgeModel: nil)
        #expect(assertionProvider.pass)
        #expect(judge.calls.all.last?.model == "strict-judge")
        let noJudge = try await grade(["type": "llm-rubric", "value": "x"], judge: nil)
        #expect(!noJudge.pass)
    }

    @Test func aCustomRubricPromptReplacesTheDefault() async throws {
        let judge = ScriptedJudge(replying: #"{"pass": true, "score": 1}"#)
        let prompt: JSONValue = [["role": "user", "content": "Grade {{ output }} by {{ rubric }} for {{ audience }}"]]
        _ = try await grade(
            ["type": "llm-rubric", "value": "politeness", "rubricPrompt": prompt], output: #"Say "hi""#, judge: judge, vars: ["audience": "kids"])
        let call = try #require(judge.calls.all.last)
        #expect(call.messages.count == 1)
        #expect(call.messages[0]["content"] == #"Grade Say "hi" by politeness for kids"#)
        // A JSON string of messages (as promptfoo allows), and the test's options.rubricPrompt.
        let text = #"[{"role": "system", "content": "Rubric: {{ rubric }}"}, {"role": "user", "content": "{{ output }}"}]"#
        _ = try await grade(["type": "llm-rubric", "value": "brevity"], output: #"a "quoted" answer"#, judge: judge, rubricPrompt: .string(text))
        let second = try #require(judge.calls.all.last)
        #expect(second.messages.map { $0["content"] } == ["Rubric: brevity", #"a "quoted" answer"#])
    }
}

@Suite struct ClosedQATests {
    func grade(reply: String, negated: Bool = false) async throws -> (GradingResult, ScriptedJudge) {
        let judge = ScriptedJudge(replying: reply)
        let type = negated ? "not-model-graded-closedqa" : "model-graded-closedqa"
        let assertion = try Fixture.assertion(["type": .string(type), "value": "names {{ city }}"])
        let context = Fixture.context("It is Paris.", vars: ["city": "Paris"], judge: judge)
        return (await AssertionGrader.grade(assertion, context: context), judge)
    }

    @Test func yesPasses() async throws {
        let (result, judge) = try await grade(reply: "The submission names Paris.\nSo it meets the criterion.\nY\n")
        #expect(result.pass)
        #expect(result.score == 1)
        #expect(result.reason.contains("So it meets the criterion."))
        let user = try #require(judge.calls.all.first?.messages.last?["content"]?.stringValue)
        #expect(user.contains("[Task]: What is the capital of France?"))
        #expect(user.contains("[Submission]: It is Paris."))
        #expect(user.contains("[Criterion]: names Paris"))
    }

    @Test func noFails() async throws {
        let (result, _) = try await grade(reply: "It does not.\n**N**")
        #expect(!result.pass)
        #expect(result.score == 0)
        let (negated, _) = try await grade(reply: "It does not.\nN", negated: true)
        #expect(negated.pass)
    }

    @Test func garbageFails() async throws {
        let (result, _) = try await grade(reply: "Maybe, hard to say.")
        #expect(!result.pass)
        #expect(result.reason.contains("unparseably"))
        let (negated, _) = try await grade(reply: "", negated: true)
        #expect(!negated.pass)
    }

    @Test func replyParsing() {
        #expect(ModelGradedAssertions.parseClosedQAReply("reasoning\nY") == true)
        #expect(ModelGradedAssertions.parseClosedQAReply("reasoning\n  yes  \n\n") == true)
        #expect(ModelGradedAssertions.parseClosedQAReply("Y\nreasoning\nN") == false)
        #expect(ModelGradedAssertions.parseClosedQAReply("Answer: Y") == nil)
        #expect(ModelGradedAssertions.parseClosedQAReply("") == nil)
    }
}

@Suite struct RubricWithoutValueTests {
    @Test func aRubricWithNoValueAndNoPromptFailsSayingWhatIsMissing() async throws {
        let judge = ScriptedJudge(replying: #"{"pass": true}"#)
        let assertion = try Fixture.assertion(["type": "llm-rubric"])
        let result = await AssertionGrader.grade(assertion, context: Fixture.context("a", judge: judge))
        #expect(!result.pass)
        #expect(result.reason.contains("needs a value"))
        #expect(judge.calls.all.isEmpty)
        // With a grading prompt of its own, the rubric may be left out.
        let prompted = await AssertionGrader.grade(assertion, context: Fixture.context("a", judge: judge, rubricPrompt: "Is {{ output }} fine?"))
        #expect(prompted.pass)
    }
}
