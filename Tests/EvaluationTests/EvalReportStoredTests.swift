import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

/// A results file read back as a run (what the gateway does with an uploaded report): the same
/// summary as the run that wrote it, the same HTML matrix, and hostile numbering kept harmless.
@Suite struct EvalReportStoredTests {
    @Test func aWrittenRunReadsBackWithTheSameSummary() throws {
        let original = ReportFixtures.run()
        let data = Data(EvalReport.json(original).jsonString().utf8)
        let run = try EvalReport.run(fromResults: data)
        #expect(run.description == original.description)
        #expect(run.providers.map(\.id) == original.providers.map(\.id))
        #expect(run.providers.map(\.label) == original.providers.map(\.label))
        #expect(run.testCount == 3 && run.results.count == 6 && run.durationMs == 1234)
        #expect(run.startedAt == original.startedAt)
        for (read, written) in zip(run.providerSummaries, original.providerSummaries) {
            #expect(read.passes == written.passes && read.errors == written.errors && read.cells == written.cells)
            #expect(abs(read.costUSD - written.costUSD) < 1e-12)
            #expect(read.latencyP50Ms == written.latencyP50Ms)
        }
        // The same verdicts in the same places of the HTML matrix.
        let verdicts = { (html: String) in html.components(separatedBy: "class=\"verdict ").dropFirst().map { $0.prefix(5) } }
        #expect(verdicts(EvalReport.html(run)) == verdicts(EvalReport.html(original)))
        #expect(!EvalReport.html(run).contains("<script>alert(1)"))

        let cells = EvalReport.cellsJSON(run, offset: 1, limit: 5, excerptBytes: 10)
        #expect(cells["rows_total"] == 3 && cells["offset"] == 1 && cells["rows"]?.arrayValue?.count == 2)
        let hostile = item(item(cells["rows"], 0)?["cells"], 0)
        #expect(hostile?["verdict"] == "fail" && hostile?["output"]?.stringValue == "</details>…")
        #expect(item(item(cells["rows"], 1)?["cells"], 1)?["verdict"] == "error")
    }

    /// Test numbers of 2^62 and prompt numbers past any prompt list are rows like any other.
    @Test func hostileNumbersAreRenumbered() throws {
        let file: JSONValue = [
            "results": [
                ["testIdx": .int(1 << 62), "promptIdx": .int(Int64.max), "provider": "a", "success": true],
                ["testIdx": 7, "promptIdx": 0, "provider": "a", "success": false],
            ],
        ]
        let run = try EvalReport.run(fromResults: file)
        #expect(Set(run.results.map(\.testIndex)) == [0, 1] && run.testCount == 2)
        #expect(Set(run.results.map(\.promptIndex)) == [0, 1])
        #expect(EvalReport.html(run).contains("data-test"))
        #expect(run.providerSummaries.first?.passes == 1)
    }

    func item(_ value: JSONValue?, _ index: Int) -> JSONValue? {
        guard let array = value?.arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}
