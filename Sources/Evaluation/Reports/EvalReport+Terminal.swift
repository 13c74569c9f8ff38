import Foundation
import SwitchyardCore

extension EvalReport {
    /// What `switchyard eval run` prints when it finishes: a row per provider (pass rate, passes,
    /// failures, errors, mean score, cost, latency p50/p95, cached cells) aligned in columns, a row
    /// for all of them, then the first failing cells with why they failed.
    ///
    /// Text from the run (labels, reasons, vars) has control characters replaced, so a hostile output
    /// cannot move the cursor or recolour the terminal. `color` adds ANSI colours and bold.
    public static func terminalSummary(_ run: EvalRun, color: Bool, failingCellLimit: Int = 10) -> String {
        let matrix = EvalMatrix(run)
        var summaryRun = run
        summaryRun.providers = matrix.providers
        let style = TerminalStyle(enabled: color)

        let header = ["Provider", "Pass rate", "Pass", "Fail", "Error", "Score", "Cost", "p50", "p95", "Cached"]
        var rows: [[TerminalCell]] = summaryRun.providerSummaries.map { summary in
            [
                TerminalCell(terminalSafe(summary.provider.label, limit: 32), style: .bold),
                TerminalCell(formatPercent(summary.passRate), style: rateStyle(summary.passRate, cells: summary.cells)),
                TerminalCell("\(summary.passes)"),
                TerminalCell("\(summary.failures)", style: summary.failures > 0 ? .red : .plain),
                TerminalCell("\(summary.errors)", style: summary.errors > 0 ? .yellow : .plain),
                TerminalCell(formatScore(summary.meanScore)), TerminalCell(formatCost(summary.costUSD)),
                TerminalCell(formatMilliseconds(summary.latencyP50Ms)), TerminalCell(formatMilliseconds(summary.latencyP95Ms)),
                TerminalCell("\(summary.cachedCells)"),
            ]
        }
        let cells = run.results.count
        let latencies = run.results.compactMap { $0.response?.latencyMs }.sorted()
        let totalCost = run.results.reduce(0) { $0 + $1.costUSD }
        let totalRate = cells == 0 ? 0 : Double(run.successes) / Double(cells)
        rows.append([
            TerminalCell("All", style: .bold), TerminalCell(formatPercent(totalRate), style: rateStyle(totalRate, cells: cells)),
            TerminalCell("\(run.successes)"), TerminalCell("\(run.failures)", style: run.failures > 0 ? .red : .plain),
            TerminalCell("\(run.errors)", style: run.errors > 0 ? .yellow : .plain),
            TerminalCell(formatScore(cells == 0 ? 0 : run.results.reduce(0) { $0 + $1.score } / Double(cells))),
            TerminalCell(formatCost(totalCost)),
            TerminalCell(formatMilliseconds(EvalProviderSummary.percentile(latencies, 0.5))),
            TerminalCell(formatMilliseconds(EvalProviderSummary.percentile(latencies, 0.95))),
            TerminalCell("\(run.results.filter { $0.response?.cached ?? false }.count)"),
        ])

        let table = [header.map { TerminalCell($0, style: .dim) }] + rows
        let widths = header.indices.map { column in table.map { displayWidth($0[column].text) }.max() ?? 0 }
        let rule = style.apply(.dim, String(repeating: "─", count: widths.reduce(0, +) + 2 * (widths.count - 1)))
        var lines: [String] = []
        for (index, row) in table.enumerated() {
            if index == table.count - 1 && table.count > 2 { lines.append(rule) }
            lines.append(
                row.enumerated().map { column, cell in
                    let padding = String(repeating: " ", count: widths[column] - displayWidth(cell.text))
                    // The provider column reads left to right; numbers line up on the right.
                    return style.apply(cell.style, column == 0 ? cell.text + padding : padding + cell.text)
                }.joined(separator: "  "))
        }

        let failing = matrix.rows.flatMap { row in row.cells.compactMap { $0 }.filter { !$0.success } }
        if !failing.isEmpty {
            let shown = failing.prefix(max(failingCellLimit, 0))
            lines.append("")
            lines.append(style.apply(.bold, shown.count < failing.count ? "Failing cells (first \(shown.count) of \(failing.count)):" : "Failing cells:"))
            for cell in shown {
                let verdictText = verdict(cell)
                let verdictCell = style.apply(cell.failureReason == .error ? .yellow : .red, verdictText.padding(toLength: 5, withPad: " ", startingAt: 0))
                let test = terminalSafe("#\(cell.testIndex) " + testLabel(index: cell.testIndex, description: cell.description, vars: cell.vars), limit: 60)
                let reason = terminalSafe(failureReasons(cell).joined(separator: "; "), limit: 160)
                lines.append("  \(verdictCell) \(test) · \(terminalSafe(cell.provider.label, limit: 32)) — \(reason.isEmpty ? "(no reason given)" : reason)")
            }
        }
        lines.append("")
        lines.append(
            "\(run.successes) passed, \(run.failures) failed, \(run.errors) error\(run.errors == 1 ? "" : "s") in \(cells) cell\(cells == 1 ? "" : "s")"
                + " · \(formatCost(totalCost)) · \(formatMilliseconds(run.durationMs))")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func rateStyle(_ rate: Double, cells: Int) -> TerminalStyle.Kind {
        if cells == 0 { return .plain }
        return rate >= 0.999 ? .green : rate >= 0.5 ? .yellow : .red
    }

    /// One line of text safe to print: control characters (ESC included) become `�`, line breaks and
    /// tabs become spaces, and it is cut to `limit` characters.
    static func terminalSafe(_ text: String, limit: Int) -> String {
        var safe = ""
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            let isSpace = scalar == " " || scalar == "\n" || scalar == "\r" || scalar == "\t"
            if isSpace {
                if !lastWasSpace { safe.unicodeScalars.append(" ") }
            } else {
                safe.unicodeScalars.append(HTMLText.isForbidden(scalar) || scalar.properties.generalCategory == .format ? "\u{FFFD}" : scalar)
            }
            lastWasSpace = isSpace
        }
        safe = safe.trimmingCharacters(in: .whitespaces)
        return safe.count > limit ? String(safe.prefix(max(limit - 1, 0))) + "…" : safe
    }

    /// Columns a terminal gives the text: East Asian wide characters and emoji take two, combining
    /// marks none.
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { width, character in
            guard let first = character.unicodeScalars.first else { return width }
            let value = first.value
            let wide =
                (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value) || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value) || (0xFF00...0xFF60).contains(value)
                || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1F64F).contains(value) || (0x1F900...0x1F9FF).contains(value)
                || (0x20000...0x3FFFD).contains(value)
            return width + (wide ? 2 : 1)
        }
    }
}

/// A piece of a terminal table and how it is coloured.
struct TerminalCell {
    var text: String
    var style: TerminalStyle.Kind

    init(_ text: String, style: TerminalStyle.Kind = .plain) {
        self.text = text
        self.style = style
    }
}

/// ANSI styling, or none.
struct TerminalStyle {
    enum Kind { case plain, bold, dim, red, green, yellow }

    var enabled: Bool

    func apply(_ kind: Kind, _ text: String) -> String {
        guard enabled else { return text }
        let code: String
        switch kind {
        case .plain: return text
        case .bold: code = "1"
        case .dim: code = "2"
        case .red: code = "31"
        case .green: code = "32"
        case .yellow: code = "33"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
