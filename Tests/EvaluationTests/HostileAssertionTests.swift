import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

/// Answers and values from outside at their worst: nothing traps, work is bounded, reasons stay short.
@Suite struct HostileAssertionTests {
    static let twoMegabytes = String(repeating: "abcdefghij", count: 210_000) + "NEEDLE"

    @Test func twoMegabyteAnswersGradeWithShortReasons() async throws {
        let output = Self.twoMegabytes
        let objects: [JSONValue] = [
            ["type": "contains", "value": "NEEDLE"], ["type": "icontains", "value": "needle"], ["type": "equals", "value": "x"],
            ["type": "contains-any", "value": ["zzz", "NEEDLE"]], ["type": "starts-with", "value": "abc"], ["type": "is-json"],
            ["type": "contains-json"], ["type": "regex", "value": "abc"], ["type": "regex", "value": "NEEDLE"],
        ]
        let expected = [true, true, false, true, true, false, false, true, false]
        for (object, passes) in zip(objects, expected) {
            let result = try await Fixture.grade(object, output)
            #expect(result.pass == passes, "\(object): \(result.reason.prefix(300))")
            #expect(result.reason.utf8.count < 2_000)
        }
        // The needle sits past the first MB, which is all a regex scans; the reason says so.
        let far = try await Fixture.grade(["type": "regex", "value": "NEEDLE"], output)
        #expect(far.reason.contains("first 1 MB"))
    }

    @Test func catastrophicPatternsAreStoppedNotHung() async throws {
        let output = String(repeating: "a", count: 40) + "!"
        let started = ContinuousClock.now
        let outcome = BoundedRegex.firstMatch("^(a+)+$", in: output, timeLimit: .milliseconds(200))
        #expect(outcome == .gaveUp)
        #expect(ContinuousClock.now - started < .seconds(30))
        let result = try await Fixture.grade(["type": "not-regex", "value": "(x+x+)+y"], String(repeating: "x", count: 5_000))
        #expect(!result.pass)
        #expect(result.reason.contains("was stopped"))
    }

    @Test func deeplyNestedJSONAnswersDoNotCrash() async throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let open = String(repeating: "[", count: 100_000)
        let objects = String(repeating: "{\"a\":", count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        for output in [deep, open, objects, "prefix " + deep] {
            for type in ["is-json", "contains-json", "not-is-json", "equals"] {
                var object: [String: JSONValue] = ["type": .string(type)]
                if type == "equals" { object["value"] = [1] }
                let result = try await Fixture.grade(.object(object), output)
                #expect(result.reason.utf8.count < 2_000)
            }
            let schema = try await Fixture.grade(["type": "is-json", "value": ["type": "array"]], output)
            #expect(schema.reason.utf8.count < 2_000)
            let tools = ToolCallAssertionTests()
            _ = try await tools.grade(nil, output: output)
        }
    }

    @Test func validJSONPastTheReadersNestingLimitIsCalledThatNotBroken() async throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let result = try await Fixture.grade(["type": "is-json"], deep)
        #expect(!result.pass)
        #expect(result.reason.contains("nests 100000 levels deep"))
        #expect(JSONAssertions.nestingDepth(#"{"a": "[[[[", "b": [[1]]}"#) == 3)
        let shallow = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try await Fixture.grade(["type": "is-json"], shallow).pass)
    }

    @Test func containsJSONWorkIsBounded() {
        let started = ContinuousClock.now
        let found = JSONAssertions.jsonCandidates(in: String(repeating: "[{\"", count: 300_000))
        #expect(found.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func judgeRepliesThatAreHugeOrDeepAreFailingVerdicts() async throws {
        for reply in [Self.twoMegabytes, String(repeating: "{\"pass\":", count: 100_000)] {
            let context = Fixture.context("answer", judge: ScriptedJudge(replying: reply))
            let result = await AssertionGrader.grade(try Fixture.assertion(["type": "llm-rubric", "value": "x"]), context: context)
            #expect(!result.pass)
            #expect(result.reason.utf8.count < 2_000)
        }
    }

    @Test func nonFiniteJudgeUsageIsNotSummedIn() async throws {
        let judge = ScriptedJudge { _ in EvalResponse(output: #"{"pass": true}"#, costUSD: .nan, promptTokens: -5, completionTokens: 3) }
        let assertion = try Fixture.assertion(["type": "llm-rubric", "value": "x"])
        let result = await AssertionGrader.grade(assertion, context: Fixture.context("a", judge: judge))
        #expect(result.judgeCostUSD == 0)
        #expect(result.judgeTokens == 3)
    }

    @Test func scoresStayInRangeUnderNegation() async throws {
        let judge = ScriptedJudge(replying: #"{"pass": true, "score": 1e308}"#)
        let result = await AssertionGrader.grade(
            try Fixture.assertion(["type": "not-llm-rubric", "value": "x"]), context: Fixture.context("a", judge: judge))
        #expect(result.score == 0)
        #expect(!result.pass)
    }
}
