import Foundation
import SwitchyardCore

extension EvalReport {
    /// Excel refuses cells longer than 32,767 characters (and spills them into the next rows).
    static let csvCellLimit = 32_000

    /// The matrix as CSV (RFC 4180, CRLF rows): one row per test × prompt (× repeat), columns for the
    /// description (when any test has one), each var, the prompt (when there are several), then one
    /// column per provider (its label) holding `[PASS] output`, `[FAIL] reason⏎---⏎output` or
    /// `[ERROR] error`, as promptfoo's CSV did; then per provider its status, score, cost and latency
    /// as plain columns a spreadsheet can sum.
    ///
    /// Written to be opened in a spreadsheet: a cell that would run as a formula (starting `=`, `+`,
    /// `-`, `@`, tab or CR, also after leading spaces) gets a leading `'`; numbers are left alone.
    ///
    /// - Parameter byteOrderMark: starts the text with U+FEFF, which Excel needs to read UTF-8 (other
    ///   readers see it as part of the first header).
    public static func csv(_ run: EvalRun, byteOrderMark: Bool = false) -> String {
        let matrix = EvalMatrix(run)
        var header: [String] = []
        if matrix.hasDescriptions { header.append("Description") }
        header += matrix.varNames
        if matrix.showsPrompt { header.append("Prompt") }
        if matrix.showsRepeat { header.append("Repeat") }
        header += matrix.providers.map(\.label)
        for provider in matrix.providers {
            header += ["\(provider.label) status", "\(provider.label) score", "\(provider.label) cost_usd", "\(provider.label) latency_ms"]
        }

        var lines = [csvLine(header)]
        lines.reserveCapacity(matrix.rows.count + 1)
        for row in matrix.rows {
            var fields: [String] = []
            if matrix.hasDescriptions { fields.append(row.description ?? "") }
            fields += matrix.varNames.map { name in row.vars[name].map(text(of:)) ?? "" }
            if matrix.showsPrompt { fields.append(row.prompt.label) }
            if matrix.showsRepeat { fields.append(String(row.key.repeatIndex)) }
            fields += row.cells.map { $0.map(csvCellText) ?? "" }
            for cell in row.cells {
                guard let cell else {
                    fields += ["", "", "", ""]
                    continue
                }
                fields += [
                    verdict(cell), formatScore(cell.score), String(format: "%.6f", cell.costUSD),
                    cell.response == nil ? "" : String(format: "%.0f", cell.latencyMs),
                ]
            }
            lines.append(csvLine(fields))
        }
        return (byteOrderMark ? "\u{FEFF}" : "") + lines.joined()
    }

    /// promptfoo's cell text: the verdict, then why it failed (several reasons joined by ` --- `, as
    /// promptfoo joins them), then what the model said.
    static func csvCellText(_ row: EvalResultRow) -> String {
        let output = row.response.map(outputText) ?? ""
        switch row.failureReason {
        case .none: return "[PASS] \(output)"
        case .assertion: return "[FAIL] \(failureReasons(row).joined(separator: " --- "))\n---\n\(output)"
        case .error: return "[ERROR] \(row.error ?? "")"
        }
    }

    static func csvLine(_ fields: [String]) -> String {
        fields.map { csvField($0) }.joined(separator: ",") + "\r\n"
    }

    /// One field: truncated to what Excel holds, defused, NUL-free, quoted when RFC 4180 says so.
    static func csvField(_ raw: String) -> String {
        var text = raw.contains("\0") ? raw.replacingOccurrences(of: "\0", with: "\u{FFFD}") : raw
        if text.utf16.count > csvCellLimit {
            // Cut by characters so a surrogate pair or an emoji's parts are never split.
            var kept = ""
            var used = 0
            for character in text {
                let size = character.utf16.count
                if used + size > csvCellLimit - 60 { break }
                kept.append(character)
                used += size
            }
            text = kept + "… [cut: \(text.count - kept.count) more characters]"
        }
        text = defusingFormula(text)
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A leading `'` on text a spreadsheet would run as a formula (CWE-1236). Leading spaces and
    /// zero-width characters are looked past, as spreadsheets strip them; full-width `＝＋－＠` count
    /// too. A plain signed number (`-3.5`) is data, not a formula, and is left alone.
    static func defusingFormula(_ text: String) -> String {
        guard let first = text.unicodeScalars.first else { return text }
        if first == "\t" || first == "\r" { return "'" + text }
        let skippable: Set<Unicode.Scalar> = [" ", "\n", "\u{00A0}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{FEFF}", "\u{3000}"]
        let rest = String(text.unicodeScalars.drop { skippable.contains($0) })
        guard let trigger = rest.unicodeScalars.first else { return text }
        switch trigger {
        case "=", "@", "\u{FF1D}", "\u{FF20}", "\t", "\r": return "'" + text
        case "+", "-", "\u{FF0B}", "\u{FF0D}":
            // Decimal digits only: `Double` also reads `-0x1p3` and `-inf`, which a spreadsheet would not.
            let candidate = rest.trimmingCharacters(in: .whitespaces)
            let decimal = candidate.unicodeScalars.allSatisfy { "0123456789.eE+-".unicodeScalars.contains($0) }
            let isNumber = decimal && (trigger == "+" || trigger == "-") && Double(candidate)?.isFinite == true
            return isNumber ? text : "'" + text
        default: return text
        }
    }
}
