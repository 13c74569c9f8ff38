import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

@Suite struct EvalReportReaderTests {
    @Test func ourReportReadsBack() throws {
        let run = ReportFixtures.run()
        let records = try EvalReport.readResults(Data(EvalReport.json(run).jsonString().utf8))
        #expect(records.count == run.results.count)
        for (record, row) in zip(records, run.results) {
            #expect(record.testIdx == row.testIndex)
            #expect(record.promptIdx == (row.provider == ReportFixtures.strong ? 1 : 0))
            #expect(record.providerID == row.provider.id && record.providerLabel == row.provider.label)
            #expect(record.vars == row.vars)
            #expect(record.prompt == row.renderedPrompt)
            #expect(record.output == row.response?.output)
            #expect(record.success == row.success && record.score == row.score && record.failureReason == row.failureReason)
            #expect(abs(record.cost - row.costUSD) < 1e-12)
            #expect(record.latencyMs == row.latencyMs.rounded())
            #expect(record.metadata == row.metadata)
            #expect(record.description == row.description)
        }
        #expect(records[5].error == "HTTP 500: upstream failed <b>")
    }

    /// Written the way `promptfoo eval -o results.json` (v0.1xx, EvaluateSummaryV3) writes it, with
    /// what varies between versions: an empty label, cost only on the response, tool-call output, an
    /// errored cell without grading, a provider given as a bare string and an old `prompt.display`.
    static let promptfooFile = #"""
        {
          "evalId": "eval-Xa9-2025-03-01T10:20:30",
          "results": {
            "version": 3,
            "timestamp": "2025-03-01T10:20:30.123Z",
            "prompts": [
              {"raw": "Summarise: {{text}}", "label": "Summarise: {{text}}", "id": "4f1c", "provider": "openai:gpt-4o-mini",
               "metrics": {"score": 1, "testPassCount": 1, "testFailCount": 1, "testErrorCount": 1, "assertPassCount": 1,
                           "assertFailCount": 1, "totalLatencyMs": 1500, "tokenUsage": {"total": 60, "prompt": 40, "completion": 20, "cached": 0,
                           "numRequests": 2}, "namedScores": {}, "namedScoresCount": {}, "cost": 0.00003}}
            ],
            "results": [
              {
                "cost": 0.000012,
                "gradingResult": {"pass": true, "score": 1, "reason": "All assertions passed", "namedScores": {},
                  "tokensUsed": {"total": 0, "prompt": 0, "completion": 0, "cached": 0, "numRequests": 0},
                  "componentResults": [{"pass": true, "score": 1, "reason": "Assertion passed",
                    "assertion": {"type": "icontains", "value": "cat"}}]},
                "id": "0f3c4a38-4c2d-4e53-9f4e-6f0d6a1d2b10",
                "latencyMs": 812,
                "namedScores": {},
                "prompt": {"raw": "Summarise: The cat sat.", "label": "Summarise: {{text}}"},
                "promptId": "4f1c",
                "promptIdx": 0,
                "provider": {"id": "openai:gpt-4o-mini", "label": ""},
                "response": {"output": "A cat sat.", "tokenUsage": {"total": 30, "prompt": 20, "completion": 10},
                  "cached": false, "cost": 0.000012, "finishReason": "stop"},
                "score": 1,
                "success": true,
                "testCase": {"vars": {"text": "The cat sat."}, "assert": [{"type": "icontains", "value": "cat"}], "options": {},
                  "metadata": {"team": "search"}, "description": "cat"},
                "testIdx": 0,
                "vars": {"text": "The cat sat."},
                "metadata": {"run": 1},
                "failureReason": 0
              },
              {
                "gradingResult": {"pass": false, "score": 0, "reason": "Expected output to contain \"dog\"",
                  "componentResults": [{"pass": false, "score": 0, "reason": "Expected output to contain \"dog\"",
                    "assertion": {"type": "contains", "value": "dog"}}]},
                "id": "0f3c4a38-4c2d-4e53-9f4e-6f0d6a1d2b11",
                "namedScores": {},
                "prompt": {"raw": "Summarise: A dog barked.", "label": "Summarise: {{text}}"},
                "promptIdx": 0,
                "provider": {"id": "openai:gpt-4o-mini"},
                "response": {"output": [{"type": "function", "function": {"name": "bark", "arguments": "{}"}}],
                  "cost": 0.000018, "latencyMs": 688},
                "score": 0,
                "success": false,
                "error": "Expected output to contain \"dog\"",
                "testCase": {"vars": {"text": "A dog barked."}},
                "testIdx": 1,
                "failureReason": 1
              },
              {
                "id": "0f3c4a38-4c2d-4e53-9f4e-6f0d6a1d2b12",
                "prompt": {"display": "Summarise: {{text}}"},
                "promptIdx": 1,
                "provider": "anthropic:messages:claude-3-5-haiku",
                "response": {"error": "API error: 529 overloaded"},
                "success": false,
                "score": 0,
                "error": "API error: 529 overloaded",
                "gradingResult": null,
                "testIdx": 2.0,
                "vars": {"text": "Nothing."}
              }
            ],
            "stats": {"successes": 1, "failures": 1, "errors": 1, "tokenUsage": {"total": 60, "prompt": 40, "completion": 20, "cached": 0,
              "numRequests": 2}, "durationMs": 2210}
          },
          "config": {"description": "summaries"},
          "shareableUrl": null,
          "metadata": {"promptfooVersion": "0.107.4", "exportedAt": "2025-03-01T10:21:00.000Z"}
        }
        """#

    @Test func readsAPromptfooResultsFile() throws {
        let records = try EvalReport.readResults(Data(Self.promptfooFile.utf8))
        #expect(records.count == 3)
        let first = records[0]
        #expect(first.testIdx == 0 && first.promptIdx == 0)
        #expect(first.providerID == "openai:gpt-4o-mini" && first.providerLabel == nil)
        #expect(first.vars == ["text": "The cat sat."] && first.prompt == "Summarise: The cat sat." && first.output == "A cat sat.")
        #expect(first.success && first.score == 1 && first.failureReason == .none && first.cost == 0.000012 && first.latencyMs == 812)
        #expect(first.metadata == ["team": "search", "run": 1] && first.description == "cat")

        let second = records[1]
        #expect(second.cost == 0.000018 && second.latencyMs == 688)  // only the response had them
        #expect(second.output == #"[{"function":{"arguments":"{}","name":"bark"},"type":"function"}]"#)
        #expect(!second.success && second.failureReason == .assertion && second.vars == ["text": "A dog barked."])

        let third = records[2]
        #expect(third.testIdx == 2 && third.promptIdx == 1)
        #expect(third.providerID == "anthropic:messages:claude-3-5-haiku" && third.providerLabel == nil)
        #expect(third.prompt == "Summarise: {{text}}" && third.output == nil)
        #expect(third.failureReason == .error && third.error == "API error: 529 overloaded" && third.cost == 0)
    }

    @Test func acceptsABareSummaryOrArray() throws {
        let file = try #require(JSONValue.parse(Self.promptfooFile))
        let summary = try #require(file["results"])
        #expect(try EvalReport.readResults(Data(summary.jsonString().utf8)).count == 3)
        let cells = try #require(summary["results"])
        #expect(try EvalReport.readResults(Data(cells.jsonString().utf8)).count == 3)
    }

    @Test(arguments: [
        (#"{"results": {"version": 3, "results": [{"testIdx": 0, "promptIdx": 0, "success": true}]}}"#, "results.results[0].provider"),
        (#"{"results": {"results": [{"testIdx": 0, "promptIdx": 0, "success": true, "provider": {"id": "a"}}, {"testIdx": 1, "promptIdx": 0, "success": true, "provider": {"label": "b"}}]}}"#,
         "results.results[1].provider.id"),
        (#"{"results": {"results": [{"testIdx": -1, "promptIdx": 0, "success": true, "provider": "a"}]}}"#, "results.results[0].testIdx"),
        (#"{"results": {"results": [{"testIdx": 1.5, "promptIdx": 0, "success": true, "provider": "a"}]}}"#, "results.results[0].testIdx"),
        (#"{"results": {"results": [{"testIdx": 0, "success": true, "provider": "a"}]}}"#, "results.results[0].promptIdx"),
        (#"{"results": {"results": [{"testIdx": 0, "promptIdx": 0, "success": "yes", "provider": "a"}]}}"#, "results.results[0].success"),
        (#"{"results": {"results": [{"testIdx": 0, "promptIdx": 0, "provider": "a"}]}}"#, "results.results[0].success"),
        (#"{"results": {"results": [{"testIdx": 0, "promptIdx": 0, "success": true, "provider": "a", "score": "1"}]}}"#, "results.results[0].score"),
        (#"{"results": {"results": [{"testIdx": 0, "promptIdx": 0, "success": true, "provider": "a", "vars": []}]}}"#, "results.results[0].vars"),
        (#"{"results": {"results": [{"testIdx": 0, "promptIdx": 0, "success": true, "provider": "a", "failureReason": 7}]}}"#,
         "results.results[0].failureReason"),
        (#"{"results": {"results": {}}}"#, "results.results"),
        (#"{"results": {"version": 3}}"#, "results.results"),
        (#"{"evalId": "x"}"#, "results"),
        (#"[1]"#, "[0]"),
    ])
    func errorsNameThePath(file: String, path: String) {
        #expect {
            try EvalReport.readResults(Data(file.utf8))
        } throws: { error in
            (error as? EvalReportError)?.path == path
        }
    }

    @Test func describesNotJSON() throws {
        let error = try #require(throws: EvalReportError.self) { try EvalReport.readResults(Data("{nope".utf8)) }
        #expect(error.path.isEmpty && error.description.hasPrefix("not valid JSON"))
        #expect(EvalReportError(path: "results.results[3].provider", "missing").description == "results.results[3].provider: missing")
    }
}
