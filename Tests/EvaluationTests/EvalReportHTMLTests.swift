import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

@Suite struct EvalReportHTMLTests {
    let page = EvalReport.html(ReportFixtures.run())

    @Test func pageIsSelfContainedWithTheElementsTestsFind() {
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("<meta charset=\"utf-8\">"))
        #expect(page.contains("default-src 'none'"))
        for id in ["summary", "matrix", "chart", "bars"] { #expect(page.occurrences(of: "id=\"\(id)\"") == 1, "#\(id)") }
        #expect(!page.contains("http://") && !page.contains("https://"))
        #expect(!page.lowercased().contains("<script"))  // no script of ours, and none of the outputs'
        #expect(!page.contains("src="))
        #expect(page.contains("<title>Report fixture &lt;suite&gt; — Switchyard eval</title>"))
    }

    @Test func hostileTextIsEscaped() {
        #expect(!page.contains("alert(1)</script>"))
        #expect(page.contains("&lt;/details&gt;&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;, &#39;single&#39;"))
        #expect(!page.contains("\0"))
        #expect(page.contains("NUL:\u{FFFD} end"))
        #expect(page.contains("HTTP 500: upstream failed &lt;b&gt;"))
        #expect(page.contains("Strong &amp; &quot;best&quot;"))
        #expect(page.occurrences(of: "<details") == page.occurrences(of: "</details>"))
    }

    @Test func escapingReplacesWhatHTMLForbids() {
        #expect(HTMLText.escape("plain text") == "plain text")
        #expect(HTMLText.escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;")
        // Noncharacters cannot be written as literals; build them from scalars.
        var hostile = "x\0y\u{1B}z\u{85}w"
        hostile.unicodeScalars.append(Unicode.Scalar(0xFFFF)!)
        hostile += "v"
        hostile.unicodeScalars.append(Unicode.Scalar(0xFDD0)!)
        #expect(HTMLText.escape(hostile) == "x\u{FFFD}y\u{FFFD}z\u{FFFD}w\u{FFFD}v\u{FFFD}")
        #expect(HTMLText.escape("tab\tnew\nline\rcr") == "tab\tnew\nline&#13;cr")
        #expect(HTMLText.escape("é🙂") == "é🙂")
    }

    @Test func oneChartPointPerProvider() {
        #expect(page.occurrences(of: "class=\"provider-point\"") == 2)
        #expect(page.contains("<circle class=\"provider-point\" data-provider=\"openai:chat:cheap\""))
        #expect(page.contains("<circle class=\"provider-point\" data-provider=\"strong\""))
        #expect(page.contains("Mean cost per cell (USD)") && page.contains("Pass rate"))
    }

    @Test func verdictsAreMarkedPerCell() {
        #expect(page.occurrences(of: "<span class=\"verdict pass\"") == 4)
        #expect(page.occurrences(of: "<span class=\"verdict fail\"") == 1)
        #expect(page.occurrences(of: "<span class=\"verdict error\"") == 1)
        #expect(page.contains("<span class=\"verdict fail\" data-provider=\"openai:chat:cheap\" data-test=\"1\">"))
        #expect(page.contains("<span class=\"verdict error\" data-provider=\"strong\" data-test=\"2\">"))
        #expect(page.contains("<li>Expected output to contain &quot;safe&quot;</li>"))
        #expect(page.occurrences(of: "<th scope=\"col\" class=\"provider\" data-provider=") == 2)
    }

    @Test func summaryHasEachProvidersNumbers() throws {
        let start = try #require(page.range(of: "<table id=\"summary\">"))
        let end = try #require(page.range(of: "</table>", range: start.upperBound..<page.endIndex))
        let summary = String(page[start.lowerBound..<end.upperBound])
        #expect(summary.contains("<tr data-provider=\"openai:chat:cheap\"><th scope=\"row\"><span class=\"provider-name\">cheap</span><span class=\"provider-id\">openai:chat:cheap</span></th>"))
        #expect(summary.contains("<td class=\"rate\">66.7%</td><td>2</td><td>1</td><td>0</td><td>0.67</td><td>$0.000200</td>"))
        #expect(summary.contains("<td class=\"rate\">66.7%</td><td>2</td><td>0</td><td>1</td><td>0.67</td><td>$0.004000</td>"))
        #expect(summary.contains("<td>200 ms</td><td>300 ms</td><td>1</td>"))  // cheap: p50, p95, one cached cell
        #expect(summary.contains("<th scope=\"row\">All</th><td class=\"rate\">66.7%</td><td>4</td><td>1</td><td>1</td>"))
    }

    @Test func longOutputsAreCutAndThePageStaysBounded() {
        var run = ReportFixtures.run()
        run.results[0].response?.output = String(repeating: "<&>", count: 100_000)
        let page = EvalReport.html(run)
        #expect(page.contains("Full text (300000 bytes)"))
        #expect(page.contains("Cut at 20000 bytes; 280000 more bytes are in the JSON results."))
        #expect(page.utf8.count < 250_000)
    }

    @Test func fiveThousandCellsStayWithinThePageBudget() {
        let providers = (0..<5).map { EvalProvider(id: "p\($0)", model: "m\($0)") }
        let prompt = EvalPrompt(raw: "{{q}}")
        let output = String(repeating: "lorem ipsum ", count: 200)
        var results: [EvalResultRow] = []
        for test in 0..<1_000 {
            for provider in providers {
                results.append(
                    EvalResultRow(
                        testIndex: test, promptIndex: 0, provider: provider, prompt: prompt, renderedPrompt: "q\(test)", vars: ["q": .string("q\(test)")],
                        response: EvalResponse(output: output, costUSD: 0.001, latencyMs: 10),
                        grading: GradingResult(pass: test % 3 != 0, score: test % 3 != 0 ? 1 : 0, reason: "r")))
            }
        }
        let run = EvalRun(description: nil, providers: providers, prompts: [prompt], testCount: 1_000, results: results, startedAt: Date(), durationMs: 1)
        let page = EvalReport.html(run, limits: .init(pageBytes: 1_000_000))
        #expect(page.occurrences(of: "<span class=\"verdict ") == 5_000)
        #expect(page.occurrences(of: "<pre class=\"full\">") < 5_000)
        #expect(page.contains("This page holds at most 1 MB of outputs"))
        #expect(page.utf8.count < 8_000_000)
    }

    @Test func niceTicksCoverTheRange() {
        #expect(EvalReport.niceTicks(upTo: 0) == [0, 1])
        let small = EvalReport.niceTicks(upTo: 0.0021)
        #expect(small.count == 4 && zip(small, [0, 0.001, 0.002, 0.003]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(EvalReport.niceTicks(upTo: 7) == [0, 2, 4, 6, 8])
        #expect(EvalReport.niceTicks(upTo: .infinity) == [0, 1])
    }

    /// With SWITCHYARD_EVAL_REPORT_OUT=DIR set, writes this fixture's report.html and results.json there,
    /// so the browser test's checks can be tried without the CLI.
    @Test func writesTheFixtureReportWhenAsked() throws {
        guard let directory = ProcessInfo.processInfo.environment["SWITCHYARD_EVAL_REPORT_OUT"], !directory.isEmpty else { return }
        let folder = URL(fileURLWithPath: directory, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let run = ReportFixtures.run()
        try Data(EvalReport.html(run).utf8).write(to: folder.appendingPathComponent("report.html"))
        try Data(EvalReport.json(run).jsonString().utf8).write(to: folder.appendingPathComponent("results.json"))
        try Data(EvalReport.csv(run).utf8).write(to: folder.appendingPathComponent("results.csv"))
    }
}
