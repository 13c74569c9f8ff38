import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

@Suite struct EvalReportJSONTests {
    let report = EvalReport.json(ReportFixtures.run())

    private func isNumber(_ value: JSONValue?) -> Bool { value?.doubleValue != nil }
    private func isInteger(_ value: JSONValue?) -> Bool {
        if case .int? = value { return true }
        return false
    }

    @Test func topLevelIsPromptfoosOutputFile() throws {
        let evalId = try #require(report["evalId"]?.stringValue)
        #expect(evalId.hasPrefix("eval-") && evalId.hasSuffix("-2025-06-15T15:06:40"))
        #expect(report["shareableUrl"] == .null)
        #expect(report["config"]?["description"] == "Report fixture <suite>")
        let results = try #require(report["results"])
        #expect(results["version"] == 3)
        #expect(results["timestamp"] == "2025-06-15T15:06:40.000Z")
        #expect(results["results"]?.arrayValue?.count == 6)
        // Same run, same id: results files of a rerun diff cleanly.
        #expect(EvalReport.json(ReportFixtures.run()) == report)
        #expect(EvalReport.json(ReportFixtures.run(), evalId: "eval-given")["evalId"] == "eval-given")
    }

    @Test func promptsAreOnePerProviderAndPromptWithMetrics() throws {
        let prompts = try #require(report["results"]?["prompts"]?.arrayValue)
        #expect(prompts.count == 2)
        #expect(prompts.map { $0["provider"] } == ["cheap", "Strong & \"best\""])
        for prompt in prompts {
            #expect(prompt["raw"] == "Answer about {{topic}}: {{question}}")
            #expect(prompt["label"] == "answer")
            #expect(prompt["id"]?.stringValue?.count == 64)
            let metrics = try #require(prompt["metrics"]?.objectValue)
            for key in ["score", "testPassCount", "testFailCount", "testErrorCount", "cost", "totalLatencyMs", "assertPassCount", "assertFailCount"] {
                #expect(isNumber(metrics[key]), "metrics.\(key)")
            }
            #expect(metrics["namedScores"]?.objectValue != nil)
            let usage = try #require(metrics["tokenUsage"]?.objectValue)
            for key in ["total", "prompt", "completion", "cached", "numRequests"] { #expect(isInteger(usage[key]), "tokenUsage.\(key)") }
        }
        let cheap = try #require(prompts[0]["metrics"])
        #expect(cheap["testPassCount"] == 2 && cheap["testFailCount"] == 1 && cheap["testErrorCount"] == 0)
        #expect(cheap["score"]?.doubleValue == 2)
        #expect(cheap["totalLatencyMs"]?.doubleValue == 600)
        #expect(cheap["tokenUsage"]?["cached"] == 15)
        #expect(cheap["tokenUsage"]?["numRequests"] == 2)  // the cached answer made no call
        let strong = try #require(prompts[1]["metrics"])
        #expect(strong["testPassCount"] == 2 && strong["testFailCount"] == 0 && strong["testErrorCount"] == 1)
        #expect(abs((strong["cost"]?.doubleValue ?? 0) - 0.004) < 1e-12)
    }

    @Test func everyResultHasPromptfoosFields() throws {
        let results = try #require(report["results"]?["results"]?.arrayValue)
        for result in results {
            let id = try #require(result["id"]?.stringValue)
            #expect(UUID(uuidString: id) != nil && Array(id)[14] == "8" && "89ab".contains(Array(id)[19]))
            #expect(isInteger(result["promptIdx"]) && isInteger(result["testIdx"]))
            #expect(result["testCase"]?["vars"]?.objectValue != nil)
            #expect(result["testCase"]?["assert"]?.arrayValue?.isEmpty == false)
            #expect(result["promptId"]?.stringValue?.count == 64)
            #expect(result["provider"]?["id"]?.stringValue != nil && result["provider"]?["label"]?.stringValue != nil)
            #expect(result["prompt"]?["raw"]?.stringValue?.hasPrefix("Answer about ") == true)
            #expect(result["prompt"]?["label"] == "answer")
            #expect(result["vars"] == result["testCase"]?["vars"])
            #expect(result["success"]?.boolValue != nil)
            #expect(isNumber(result["score"]) && isNumber(result["latencyMs"]) && isNumber(result["cost"]))
            #expect([0, 1, 2].contains(result["failureReason"]))
            #expect(result["namedScores"]?.objectValue != nil)
            #expect(result["metadata"]?.objectValue != nil)
            #expect(result.objectValue?.keys.contains("error") == true)
            #expect(result.objectValue?.keys.contains("gradingResult") == true)
            if let response = result["response"], response != .null {
                #expect(response["output"]?.stringValue != nil)
                for key in ["total", "prompt", "completion", "cached"] { #expect(isInteger(response["tokenUsage"]?[key]), "tokenUsage.\(key)") }
                #expect(response["cached"]?.boolValue != nil && isNumber(response["cost"]) && isNumber(response["latencyMs"]))
                #expect(response["finishReason"] == "stop")
                #expect(response["metadata"]?["switchyard_request_id"]?.stringValue?.hasPrefix("req-") == true)
                #expect(response["metadata"]?["served_model"]?.stringValue?.hasSuffix("-upstream") == true)
            }
            if let grading = result["gradingResult"], grading != .null {
                #expect(grading["pass"]?.boolValue != nil && isNumber(grading["score"]) && grading["reason"]?.stringValue != nil)
                #expect(grading["namedScores"]?.objectValue != nil)
                let components = try #require(grading["componentResults"]?.arrayValue)
                for component in components {
                    #expect(component["pass"]?.boolValue != nil && isNumber(component["score"]) && component["reason"]?.stringValue != nil)
                    #expect(component["assertion"]?["type"] == "contains")
                }
            }
        }
        #expect(Set(results.compactMap { $0["id"]?.stringValue }).count == results.count)
        let stats = try #require(report["results"]?["stats"])
        #expect(stats["successes"] == 4 && stats["failures"] == 1 && stats["errors"] == 1)
        #expect(stats["durationMs"] == 1234)
        for key in ["total", "prompt", "completion", "cached", "numRequests"] { #expect(isInteger(stats["tokenUsage"]?[key]), "stats.tokenUsage.\(key)") }
        #expect(stats["tokenUsage"]?["numRequests"] == 4)
        #expect(stats["tokenUsage"]?["total"] == 75)
    }

    @Test func cellsAreNumberedAsPromptfooNumbersThem() throws {
        let results = try #require(report["results"]?["results"]?.arrayValue)
        let byCell = Dictionary(
            uniqueKeysWithValues: results.map { ("\(Int($0["testIdx"]?.doubleValue ?? -1))/\($0["provider"]?["id"]?.stringValue ?? "")", $0) })
        // Columns are provider-major: every `strong` cell is prompt column 1.
        #expect(byCell["2/strong"]?["promptIdx"] == 1)
        #expect(byCell["2/openai:chat:cheap"]?["promptIdx"] == 0)

        let failed = try #require(byCell["1/openai:chat:cheap"])
        #expect(failed["success"] == false && failed["failureReason"] == 1 && failed["score"]?.doubleValue == 0)
        #expect(failed["error"] == "Expected output to contain \"safe\"")  // promptfoo puts the reason in `error` too
        #expect(failed["response"]?["output"]?.stringValue == ReportFixtures.hostileOutput)

        let errored = try #require(byCell["2/strong"])
        #expect(errored["failureReason"] == 2 && errored["response"] == .null && errored["gradingResult"] == .null)
        #expect(errored["error"] == "HTTP 500: upstream failed <b>")
        #expect(errored["testCase"]?["assert"] == [ReportFixtures.contains("safe")])  // kept though nothing was graded

        let passed = try #require(byCell["0/openai:chat:cheap"])
        #expect(passed["error"] == .null && passed["failureReason"] == 0 && passed["description"] == "capital")
        #expect(passed["testCase"]?["description"] == "capital" && passed["testCase"]?["metadata"]?["case"] == 0)
    }

    @Test func repeatsBecomeSeparateTestRows() throws {
        var run = ReportFixtures.run()
        let second = run.results.map { row -> EvalResultRow in
            var row = row
            row.repeatIndex = 1
            return row
        }
        run.results += second
        let results = try #require(EvalReport.json(run)["results"]?["results"]?.arrayValue)
        let indices = Set(results.compactMap { $0["testIdx"]?.doubleValue })
        #expect(indices == [0, 1, 2, 3, 4, 5])  // test t, repeat r → 2t + r
    }

    @Test func toolCallOnlyAnswersPutTheCallsInTheOutput() throws {
        var run = ReportFixtures.run()
        let calls: JSONValue = [["type": "function", "function": ["name": "lookup", "arguments": "{}"]]]
        run.results[0].response?.output = ""
        run.results[0].response?.toolCalls = calls
        run.results[1].response?.toolCalls = calls
        let results = try #require(EvalReport.json(run)["results"]?["results"]?.arrayValue)
        #expect(results[0]["response"]?["output"] == calls)
        #expect(results[1]["response"]?["output"] == ["content": "Paris.", "tool_calls": calls])
    }

    @Test func serialisedReportIsValidJSON() throws {
        let text = report.jsonString()
        let parsed = try #require(JSONValue.parse(text))
        #expect(parsed.jsonString() == text)  // (whole doubles read back as integers, so compare text)
        #expect(!text.contains("\0"))  // NUL travels escaped
    }
}
