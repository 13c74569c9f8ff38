import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct JudgeCalibrationTests {
    static func pairs(_ both: Int, judgeOnly: Int, humanOnly: Int, neither: Int) -> [JudgeCalibration.Pair] {
        Array(repeating: .init(judge: true, human: true), count: both) + Array(repeating: .init(judge: true, human: false), count: judgeOnly)
            + Array(repeating: .init(judge: false, human: true), count: humanOnly) + Array(repeating: .init(judge: false, human: false), count: neither)
    }

    @Test func aHandComputedKappa() throws {
        // 50 examples: both pass 20, judge only 5, human only 10, both fail 15.
        // observed = 35/50 = 0.7; judge passes 25/50 = 0.5, human 30/50 = 0.6;
        // chance = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5) / (1 − 0.5) = 0.4.
        let stats = JudgeCalibration(pairs: Self.pairs(20, judgeOnly: 5, humanOnly: 10, neither: 15))
        #expect(stats.confusion == .init(judgePassHumanPass: 20, judgePassHumanFail: 5, judgeFailHumanPass: 10, judgeFailHumanFail: 15))
        #expect(abs(stats.agreement - 0.7) < 1e-12)
        #expect(abs(stats.chanceAgreement - 0.5) < 1e-12)
        #expect(abs(stats.kappa - 0.4) < 1e-12)
        let interval = try #require(stats.kappaInterval)
        #expect(interval.lower < 0.4 && 0.4 < interval.upper)
        #expect(interval.lower > -0.2 && interval.upper < 0.8)
    }

    @Test func theIntervalIsRepeatableForASeed() {
        let pairs = Self.pairs(20, judgeOnly: 5, humanOnly: 10, neither: 15)
        #expect(JudgeCalibration(pairs: pairs, seed: 7).kappaInterval == JudgeCalibration(pairs: pairs, seed: 7).kappaInterval)
        #expect(JudgeCalibration(pairs: pairs, seed: 7).kappaInterval != JudgeCalibration(pairs: pairs, seed: 8).kappaInterval)
    }

    @Test func degenerateCases() {
        let empty = JudgeCalibration(pairs: [])
        #expect(empty.kappa == 0)
        #expect(empty.agreement == 0)
        #expect(empty.kappaInterval == nil)
        // Both always pass: chance agreement is total, κ taken as 1.
        #expect(JudgeCalibration(pairs: Self.pairs(10, judgeOnly: 0, humanOnly: 0, neither: 0)).kappa == 1)
        #expect(JudgeCalibration(pairs: Self.pairs(0, judgeOnly: 0, humanOnly: 0, neither: 4)).kappa == 1)
        // Judge always passes, humans fail some: no agreement beyond chance.
        let lenient = JudgeCalibration(pairs: Self.pairs(6, judgeOnly: 4, humanOnly: 0, neither: 0))
        #expect(lenient.kappa == 0)
        #expect(lenient.agreement == 0.6)
        // Always opposite: κ = −1.
        #expect(abs(JudgeCalibration(pairs: Self.pairs(0, judgeOnly: 5, humanOnly: 5, neither: 0)).kappa + 1) < 1e-12)
        let one = JudgeCalibration(pairs: Self.pairs(1, judgeOnly: 0, humanOnly: 0, neither: 0))
        #expect(one.kappa == 1)
        #expect(one.kappaInterval == nil)
        for stats in [empty, lenient, one] { #expect(stats.kappa.isFinite) }
    }

    @Test func labelsFilesAreRead() throws {
        let text = """
            {"id": "a", "output": "Paris", "rubric": "names a city", "label": true}
            {"output": "Hi", "rubric": "is a greeting", "label": "pass", "prompt": "Say hi"}

            {"id": 7, "output": "no", "rubric": "agrees", "label": 0}
            {"output": "x", "rubric": "y", "label": "FAIL", "note": "extra fields are ignored"}
            """
        let examples = try JudgeCalibration.parse(jsonLines: text, source: "labels.jsonl")
        #expect(examples.map(\.id) == ["a", "line 2", "7", "line 5"])
        #expect(examples.map(\.label) == [true, true, false, false])
        #expect(examples[1].prompt == "Say hi")
        #expect(examples[3].line == 5)
    }

    @Test(arguments: [
        (#"{"output": "x", "rubric": "y", "label": "maybe"}"#, #"labels.jsonl line 2: label: write true/false, "pass"/"fail" or 1/0"#),
        (#"{"output": "x", "rubric": "y", "label": 2}"#, "labels.jsonl line 2: label:"),
        (#"{"output": "x", "rubric": "y"}"#, "labels.jsonl line 2: label: missing"),
        (#"{"output": 5, "rubric": "y", "label": true}"#, "labels.jsonl line 2: output: write a string"),
        (#"{"output": "x", "label": true}"#, "labels.jsonl line 2: rubric: missing"),
        (#"{"output": "x", "rubric": "y", "label": true, "id": [1]}"#, "labels.jsonl line 2: id:"),
        (#"{"output": "x", "rubric": "y", "label": true, "id": "a"}"#, "line 2: id: \"a\" is already used on line 1"),
        ("not json", "labels.jsonl line 2: not valid JSON"),
        ("[1, 2]", "labels.jsonl line 2: each line is one JSON object"),
    ])
    func badLinesNameTheLineAndField(line: String, message: String) throws {
        let text = #"{"id": "a", "output": "x", "rubric": "y", "label": true}"# + "\n" + line
        let error = try #require(throws: EvalSuiteError.self) { try JudgeCalibration.parse(jsonLines: text, source: "labels.jsonl") }
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func loadReadsAFileAndNamesAMissingOne() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).jsonl")
        try Data(#"{"output": "x", "rubric": "y", "label": 1}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try JudgeCalibration.load(path: url.path).count == 1)
        let error = try #require(throws: EvalSuiteError.self) { try JudgeCalibration.load(path: url.path + ".missing") }
        #expect(error.message.contains("cannot read the labels file"))
        #expect(throws: EvalSuiteError.self) { try JudgeCalibration.parse(jsonLines: "\n\n", source: "empty.jsonl") }
    }

    @Test func runGradesEachExampleWithTheRubricJudge() async throws {
        let examples = (0..<12).map { index in
            JudgeCalibration.Example(id: "e\(index)", output: "answer \(index)", rubric: "rubric \(index)", label: index % 2 == 0, line: index + 1)
        }
        // The judge passes even-numbered answers except 4, fails the rest except 5; 11 gets garbage, 9 an error.
        let judge = ScriptedJudge { call in
            let user = call.messages.last?["content"]?.stringValue ?? ""
            guard let index = (0..<12).last(where: { user.contains("answer \($0)\n") }) else { throw EvalCallError("unknown example") }
            if index == 9 { throw EvalCallError("HTTP 500") }
            if index == 11 { return EvalResponse(output: "no idea") }
            let pass = (index % 2 == 0) != (index == 4 || index == 5)
            return EvalResponse(output: #"{"reason": "r\#(index)", "pass": \#(pass), "score": \#(pass ? 1 : 0)}"#, costUSD: 0.001, promptTokens: 10)
        }
        let report = await JudgeCalibration.run(examples: examples, judge: judge, model: "judge-x", concurrency: 3)
        #expect(report.results.map(\.example.id) == examples.map(\.id))
        #expect(report.errors == 2)
        #expect(report.results[9].verdict == nil)
        #expect(report.results[9].reason.contains("HTTP 500"))
        #expect(report.results[11].reason.contains("unparseably"))
        #expect(report.results[4].agrees == false)
        #expect(report.results[0].agrees == true)
        let matrix = report.calibration.confusion
        #expect(matrix.total == 10)
        // Graded: 0–8 and 10. Humans pass the six even ones; the judge fails 4 of them and passes 5 of the odd ones.
        // observed 8/10; both pass rates 0.6, chance 0.52; κ = 0.28 / 0.48 = 7/12.
        #expect(matrix == .init(judgePassHumanPass: 5, judgePassHumanFail: 1, judgeFailHumanPass: 1, judgeFailHumanFail: 3))
        #expect(abs(report.calibration.kappa - 7.0 / 12.0) < 1e-12)
        #expect(judge.calls.all.allSatisfy { $0.model == "judge-x" && $0.parameters["temperature"] == 0 })
        #expect(judge.calls.all.first?.messages.first?["content"]?.stringValue == JudgePrompts.rubricSystem)

        let text = report.text
        #expect(text[0] == "judge judge-x: 12 labelled examples, 10 graded, 2 without a verdict")
        #expect(text[1].hasPrefix("agreement 80.0 % (8 of 10); Cohen's kappa 0.583 (95 % bootstrap interval"))
        #expect(text.contains { $0.hasPrefix("disagrees: e4 (judge fail, human pass)") })
        #expect(text.contains { $0.hasPrefix("no verdict: e9") })

        let json = report.json
        #expect(json["kappa"]?.doubleValue.map { abs($0 - 7.0 / 12.0) < 1e-12 } == true)
        #expect(json["errors"] == 2)
        #expect(json["confusion"]?["judge_pass_human_fail"] == 1)
        #expect(json["results"]?.arrayValue?.count == 12)
        #expect(json["results"]?.arrayValue?[9]["verdict"] == .null)
        #expect(JSONValue.parse(json.jsonString()) != nil)
    }
}
