/// Text made safe to place in an HTML page, as element content or a quoted attribute value.
enum HTMLText {
    /// Escapes `& < > " '` and replaces what HTML forbids in a document (NUL, other C0 and C1
    /// controls, noncharacters) with U+FFFD, so hostile model output cannot close an element, open a
    /// script or break the parser.
    static func escape(_ text: String) -> String {
        // Most text needs nothing: checking bytes first keeps 5,000-cell pages quick to write.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x26 && $0 != 0x3C && $0 != 0x3E && $0 != 0x22 && $0 != 0x27 }) {
            return text
        }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\t", "\n": escaped.unicodeScalars.append(scalar)
            // A lone CR would be folded into a newline by the parser anyway; keep text as written.
            case "\r": escaped += "&#13;"
            default:
                escaped.unicodeScalars.append(isForbidden(scalar) ? "\u{FFFD}" : scalar)
            }
        }
        return escaped
    }

    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || (0xFDD0...0xFDEF).contains(value) || value & 0xFFFE == 0xFFFE
    }
}
