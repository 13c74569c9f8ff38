import Foundation
import Synchronization
import SwitchyardCore
import Testing

@testable import Evaluation

@Suite struct EvalReportTerminalTests {
    @Test func providersAlignedWithTotalsAndFailingCells() throws {
        let text = EvalReport.terminalSummary(ReportFixtures.run(), color: false)
        let lines = text.components(separatedBy: "\n")
        #expect(lines[0].hasPrefix("Provider") && lines[0].contains("Pass rate") && lines[0].hasSuffix("Cached"))
        #expect(lines[1].hasPrefix("cheap ") && lines[2].hasPrefix("Strong & \"best\" "))
        #expect(lines[3].allSatisfy { $0 == "─" })
        #expect(lines[4].hasPrefix("All "))
        // Aligned: every row of the table is as wide as the header.
        let width = EvalReport.displayWidth(lines[0])
        #expect(lines[0...4].allSatisfy { EvalReport.displayWidth($0) == width })
        let cheap = lines[1].split(separator: " ", omittingEmptySubsequences: true)
        #expect(cheap == ["cheap", "66.7%", "2", "1", "0", "0.67", "$0.000200", "200", "ms", "300", "ms", "1"])
        #expect(lines[4].contains("66.7%") && lines[4].contains("$0.004200"))

        #expect(text.contains("Failing cells:"))
        #expect(text.contains("  FAIL  #1 question=say \"hi\", then leave please, topic=hostile · cheap — Expected output to contain \"safe\""))
        #expect(text.contains("  ERROR #2 question=@SUM(A1:A9), topic=-5 · Strong & \"best\" — HTTP 500: upstream failed <b>"))
        #expect(text.hasSuffix("4 passed, 1 failed, 1 error in 6 cells · $0.004200 · 1234 ms\n"))
        #expect(!text.contains("\u{1B}"))
    }

    @Test func colourIsOnlyOurs() {
        var run = ReportFixtures.run()
        run.results[5].error = "boom \u{1B}[2J\u{1B}]0;pwned\u{07} done\nnext line"
        let text = EvalReport.terminalSummary(run, color: true)
        #expect(text.contains("\u{1B}[31m"))  // failures in red
        #expect(!text.contains("\u{1B}[2J") && !text.contains("\u{1B}]0;"))
        #expect(text.contains("boom \u{FFFD}[2J\u{FFFD}]0;pwned\u{FFFD} done next line"))
    }

    @Test func failingListIsCappedWithACount() {
        var run = ReportFixtures.run()
        run.results = (0..<30).map { test in
            ReportFixtures.row(
                test: test, provider: ReportFixtures.cheap, vars: ["topic": .string("t\(test)")], output: "no",
                grading: GradingResult(pass: false, score: 0, reason: "nope \(test)"))
        }
        let text = EvalReport.terminalSummary(run, color: false)
        #expect(text.contains("Failing cells (first 10 of 30):"))
        #expect(text.contains("nope 9") && !text.contains("nope 10"))
    }

    @Test func terminalSafeTextIsOneBoundedLine() {
        #expect(EvalReport.terminalSafe("a\n\n b\tc\u{1B}[0m\u{202E}x", limit: 100) == "a b c\u{FFFD}[0m\u{FFFD}x")
        #expect(EvalReport.terminalSafe(String(repeating: "x", count: 50), limit: 10) == "xxxxxxxxx…")
        #expect(EvalReport.displayWidth("漢字ab") == 6)
        #expect(EvalReport.displayWidth("e\u{301}") == 1)
    }
}

@Suite struct EvalProgressTests {
    final class Output: Sendable {
        let text = Mutex("")
        var value: String { text.withLock { $0 } }
        func write(_ chunk: String) { text.withLock { $0 += chunk } }
    }

    final class FakeClock: Sendable {
        let now = Mutex(0.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
        var seconds: Double { now.withLock { $0 } }
    }

    static let rows = ReportFixtures.run().results

    @Test func logsALineAtEachTenthWhenNotATerminal() {
        let output = Output()
        let clock = FakeClock()
        let progress = EvalProgress(total: 20, isTerminal: false, elapsed: { clock.seconds }, write: output.write)
        for index in 0..<20 {
            clock.advance(0.5)
            progress.cellFinished(Self.rows[index % Self.rows.count])
        }
        progress.finish()
        let lines = output.value.split(separator: "\n")
        #expect(lines.count == 10)
        #expect(lines.first == "eval: 2/20 cells (10%), 2 passed, 0 failed, 0 errors, 1.0 s, 2.0 cells/s, ~9 s left")
        #expect(lines.last?.hasPrefix("eval: 20/20 cells (100%), 14 passed, 3 failed, 3 errors, 10.0 s") == true)
        #expect(!output.value.contains("\r") && !output.value.contains("\u{1B}"))
        #expect(progress.counts == .init(completed: 20, passes: 14, failures: 3, errors: 3))
    }

    @Test func redrawsInPlaceAtMostTenTimesASecondOnATerminal() {
        let output = Output()
        let clock = FakeClock()
        let progress = EvalProgress(total: 100, isTerminal: true, elapsed: { clock.seconds }, write: output.write)
        for index in 0..<100 {
            clock.advance(0.01)
            progress.cellFinished(Self.rows[index % Self.rows.count])
        }
        progress.finish()
        let draws = output.value.components(separatedBy: "\r").filter { !$0.isEmpty }
        #expect(draws.count >= 9 && draws.count <= 12)  // one per 0.1 s of the 1 s run and the last; finish adds only a newline
        #expect(draws.last?.hasPrefix("[" + String(repeating: "█", count: 24) + "]  100/100 (100%)  ✓ 67  ✗ 17  ! 16  1.0 s") == true)
        #expect(output.value.hasSuffix("\u{1B}[K\n"))
        progress.cellFinished(Self.rows[0])  // after finish: ignored
        #expect(progress.counts.completed == 100)
    }

    @Test func countsEveryCellFromConcurrentTasks() async {
        let output = Output()
        let progress = EvalProgress(total: 2_000, isTerminal: false, write: output.write)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<2_000 {
                group.addTask { progress.cellFinished(Self.rows[index % Self.rows.count]) }
            }
        }
        #expect(progress.counts.completed == 2_000)
        let percents = output.value.split(separator: "\n").compactMap { line in
            line.split(separator: "(").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        }
        #expect(percents == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])  // in order, none twice
    }
}
