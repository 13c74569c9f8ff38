import Foundation
import SwitchyardCore
import Testing

@testable import Evaluation

@Suite struct EvalReportCSVTests {
    let csv = EvalReport.csv(ReportFixtures.run())

    @Test func oneRowPerTestWithAColumnPerProvider() throws {
        let rows = parseCSV(csv)
        let header = try #require(rows.first)
        #expect(
            header == [
                "Description", "question", "topic", "cheap", "Strong & \"best\"",
                "cheap status", "cheap score", "cheap cost_usd", "cheap latency_ms",
                "Strong & \"best\" status", "Strong & \"best\" score", "Strong & \"best\" cost_usd", "Strong & \"best\" latency_ms",
            ])
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { $0.count == header.count })
        #expect(csv.hasSuffix("\r\n") && csv.occurrences(of: "\r\n") >= 4)

        let first = rows[1], second = rows[2], third = rows[3]
        #expect(first[0] == "capital" && first[3] == "[PASS] Paris is the capital." && first[4] == "[PASS] Paris.")
        #expect(first[5...8] == ["PASS", "1.00", "0.000100", "100"])
        #expect(second[3] == "[FAIL] Expected output to contain \"safe\"\n---\n" + ReportFixtures.hostileOutput.replacingOccurrences(of: "\0", with: "\u{FFFD}"))
        #expect(second[1] == "say \"hi\", then leave\nplease")
        #expect(second[4] == "[PASS] He said \"hi\", then\nleft. It is safe.")
        #expect(third[4] == "[ERROR] HTTP 500: upstream failed <b>")
        #expect(third[9...12] == ["ERROR", "0.00", "0.000000", ""])
        #expect(third[3] == "[PASS] =1+1 is safe")  // starts with "[", so never a formula
    }

    @Test func formulasAreDefused() throws {
        let rows = parseCSV(csv)
        #expect(rows[1][1] == "'" + ReportFixtures.formulaVar)
        #expect(rows[3][1] == "'@SUM(A1:A9)")
        #expect(rows[3][2] == "-5")  // a number stays a number
        #expect(!csv.contains("\0"))
    }

    @Test(arguments: [
        ("=1+1", "'=1+1"), ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"), ("  =HYPERLINK(1)", "'  =HYPERLINK(1)"), ("\u{200B}=1", "'\u{200B}=1"),
        ("\n=1", "'\n=1"), ("＝1+1", "'＝1+1"), ("-0x1p3", "'-0x1p3"), ("-inf", "'-inf"), ("+", "'+"),
        ("-5", "-5"), ("+1.5e3", "+1.5e3"), ("-0.25", "-0.25"), ("plain", "plain"), ("", ""), ("a=b", "a=b"), ("[PASS] =x", "[PASS] =x"),
    ])
    func defusingFormula(input: String, expected: String) {
        #expect(EvalReport.defusingFormula(input) == expected)
    }

    @Test func fieldsAreQuotedOnlyWhenNeeded() {
        #expect(EvalReport.csvField("plain") == "plain")
        #expect(EvalReport.csvField("a,b") == "\"a,b\"")
        #expect(EvalReport.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(EvalReport.csvField("two\nlines") == "\"two\nlines\"")
        #expect(EvalReport.csvField("crlf\r\nline") == "\"crlf\r\nline\"")
        #expect(EvalReport.csvField("=1,2") == "\"'=1,2\"")
    }

    @Test func overlongCellsAreCutToWhatExcelHolds() throws {
        var run = ReportFixtures.run()
        run.results[0].response?.output = String(repeating: "é🙂", count: 40_000)
        let rows = parseCSV(EvalReport.csv(run))
        let cell = rows[1][3]
        #expect(cell.utf16.count <= 32_767)
        #expect(cell.hasSuffix("more characters]"))
        #expect(cell.hasPrefix("[PASS] é🙂é🙂"))
    }

    @Test func byteOrderMarkOnlyWhenAsked() {
        #expect(!csv.hasPrefix("\u{FEFF}"))
        #expect(EvalReport.csv(ReportFixtures.run(), byteOrderMark: true).unicodeScalars.first == "\u{FEFF}")
    }

    @Test func severalPromptsAndRepeatsGetTheirColumns() throws {
        var run = ReportFixtures.run()
        let other = EvalPrompt(raw: "Other {{topic}}", label: "other")
        run.prompts.append(other)
        run.results += run.results.map { row in
            var row = row
            row.promptIndex = 1
            row.prompt = other
            return row
        }
        let rows = parseCSV(EvalReport.csv(run))
        #expect(rows[0][3] == "Prompt")
        #expect(rows.count == 7)
        #expect(rows[1][3] == "answer" && rows[2][3] == "other")
    }
}
