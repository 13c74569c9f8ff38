import Foundation

/// Answers and values as verdict reasons show them: quoted, on one line, and cut short, so a 2 MB answer
/// does not become a 2 MB reason.
enum OutputText {
    /// `"first LIMIT characters…" (N bytes)` with newlines and tabs shown as escapes.
    static func quoted(_ text: String, limit: Int = 120) -> String {
        let end = text.index(text.startIndex, offsetBy: limit, limitedBy: text.endIndex) ?? text.endIndex
        var shown = String(text[..<end])
        shown = shown.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\t", with: "\\t")
        guard end < text.endIndex else { return "\"\(shown)\"" }
        return "\"\(shown)…\" (\(text.utf8.count) bytes)"
    }

    /// A score as reasons print it (two decimals).
    static func score(_ value: Double) -> String { String(format: "%.2f", value) }
}
