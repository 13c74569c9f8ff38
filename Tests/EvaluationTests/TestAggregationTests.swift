import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct TestAggregationTests {
    func assertions(_ objects: [JSONValue]) throws -> [Assertion] {
        try objects.enumerated().map { index, object in try Assertion.parse(object, field: "tests[0].assert[\(index)]") }
    }

    @Test func noAssertionsPass() async {
        let result = await AssertionGrader.gradeTest([], threshold: nil, context: Fixture.context("anything"))
        #expect(result.pass)
        #expect(result.score == 1)
    }

    @Test func everyAssertionMustPassAndComponentsKeepTheirOrder() async throws {
        let list = try assertions([
            ["type": "contains", "value": "Paris"], ["type": "contains", "value": "Berlin"], ["type": "starts-with", "value": "The"],
        ])
        let result = await AssertionGrader.gradeTest(list, threshold: nil, context: Fixture.context("The capital is Paris"))
        #expect(!result.pass)
        #expect(abs(result.score - 2.0 / 3.0) < 1e-9)
        #expect(result.componentResults.map(\.pass) == [true, false, true])
        #expect(result.componentResults.map { $0.assertion?["value"] } == ["Paris", "Berlin", "The"])
        #expect(result.reason.hasPrefix("1 of 3 assertions failed: [contains]"))
        #expect(result.reason.contains("Berlin"))
    }

    @Test func allPassing() async throws {
        let list = try assertions([["type": "contains", "value": "Paris"], ["type": "not-contains", "value": "Berlin"]])
        let result = await AssertionGrader.gradeTest(list, threshold: nil, context: Fixture.context("Paris"))
        #expect(result.pass)
        #expect(result.score == 1)
        #expect(result.reason == "All assertions passed")
    }

    @Test func weightsMakeAWeightedMean() async throws {
        let list = try assertions([
            ["type": "contains", "value": "Paris", "weight": 3], ["type": "contains", "value": "Berlin", "weight": 1],
        ])
        let result = await AssertionGrader.gradeTest(list, threshold: nil, context: Fixture.context("Paris"))
        #expect(result.score == 0.75)
        #expect(!result.pass)
    }

    @Test func weightZeroIsNotScoredButMustPass() async throws {
        let list = try assertions([["type": "contains", "value": "Paris"], ["type": "contains", "value": "Berlin", "weight": 0]])
        let result = await AssertionGrader.gradeTest(list, threshold: nil, context: Fixture.context("Paris"))
        #expect(result.score == 1)
        #expect(!result.pass)
        let onlyZero = try assertions([["type": "contains", "value": "Berlin", "weight": 0]])
        let zero = await AssertionGrader.gradeTest(onlyZero, threshold: nil, context: Fixture.context("Paris"))
        #expect(zero.score == 0)
        #expect(!zero.pass)
    }

    @Test func aThresholdDecidesOnTheScore() async throws {
        let list = try assertions([
            ["type": "contains", "value": "Paris"], ["type": "contains", "value": "France"], ["type": "contains", "value": "Berlin"],
        ])
        let context = Fixture.context("Paris, France")
        let lenient = await AssertionGrader.gradeTest(list, threshold: 0.6, context: context)
        #expect(lenient.pass)
        #expect(lenient.reason.hasPrefix("Aggregate score 0.67 ≥ 0.6 threshold"))
        let strict = await AssertionGrader.gradeTest(list, threshold: 0.7, context: context)
        #expect(!strict.pass)
        #expect(strict.reason.hasPrefix("Aggregate score 0.67 < 0.7 threshold"))
    }

    @Test func namedScoresAreEachMetricsWeightedMean() async throws {
        let list = try assertions([
            ["type": "contains", "value": "Paris", "metric": "accuracy", "weight": 2],
            ["type": "contains", "value": "Berlin", "metric": "accuracy"],
            ["type": "icontains", "value": "please", "metric": "tone"],
            ["type": "contains", "value": "x", "metric": "unscored", "weight": 0],
            ["type": "starts-with", "value": "Paris"],
        ])
        let result = await AssertionGrader.gradeTest(list, threshold: nil, context: Fixture.context("Paris, Please"))
        #expect(abs((result.namedScores["accuracy"] ?? -1) - 2.0 / 3.0) < 1e-9)
        #expect(result.namedScores["tone"] == 1)
        #expect(result.namedScores["unscored"] == 0)
        #expect(result.namedScores.count == 3)
    }

    @Test func judgeUsageIsSummed() async throws {
        let judge = ScriptedJudge(replying: #"{"pass": true, "score": 1, "reason": "ok"}"#, promptTokens: 100, completionTokens: 20, costUSD: 0.01)
        let list = try assertions([
            ["type": "llm-rubric", "value": "a"], ["type": "llm-rubric", "value": "b"], ["type": "contains", "value": "P"],
        ])
        let result = await AssertionGrader.gradeTest(list, threshold: nil, context: Fixture.context("Paris", judge: judge))
        #expect(result.pass)
        #expect(result.judgeTokens == 240)
        #expect(abs(result.judgeCostUSD - 0.02) < 1e-12)
        #expect(judge.calls.all.count == 2)
    }

    @Test func costAndLatency() async throws {
        let response = EvalResponse(output: "ok", costUSD: 0.004, latencyMs: 850)
        func grade(_ object: JSONValue) async throws -> GradingResult {
            await AssertionGrader.grade(try Fixture.assertion(object), context: Fixture.context("ok", response: response))
        }
        #expect(try await grade(["type": "cost", "threshold": 0.005]).pass)
        let expensive = try await grade(["type": "cost", "threshold": 0.001])
        #expect(!expensive.pass)
        #expect(expensive.reason.contains("it cost $0.004"))
        #expect(try await grade(["type": "not-cost", "threshold": 0.001]).pass)
        #expect(try await grade(["type": "latency", "threshold": 1000]).pass)
        let slow = try await grade(["type": "latency", "threshold": 500])
        #expect(!slow.pass)
        #expect(slow.reason.contains("850 ms"))
        #expect(try await grade(["type": "cost", "threshold": 0.004]).pass)
    }
}
