import Foundation

/// The character rules of BERT's uncased tokenizer (the Rust `BertNormalizer` + `BertPreTokenizer`
/// that the reference library uses), as pure functions over Unicode scalars.
package enum BertCharacters {
    /// Removed before anything else: NUL, U+FFFD and "other" categories (Cc, Cf, Cn, Co, Cs),
    /// except tab, newline and carriage return, which count as whitespace.
    package static func isRemoved(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v == 0 || v == 0xFFFD { return true }
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        if v < 0x80 { return v < 0x20 || v == 0x7F }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// Rust's `char::is_whitespace` (the Unicode White_Space property) plus \t \n \r.
    package static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// BERT's punctuation: every ASCII non-alphanumeric printable character, plus Unicode P*.
    package static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        if v < 0x80 { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT splits into single-character words (Rust tokenizers' table).
    package static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Splits `text` into the words WordPiece sees: cleaned, CJK-isolated, accent-stripped,
    /// lower-cased, split on whitespace and with each punctuation character as its own word.
    static func words(_ text: String) -> [[Unicode.Scalar]] {
        // 1. clean: drop control/format characters, map whitespace to a space, isolate CJK.
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.unicodeScalars.count)
        var isASCII = true
        for s in text.unicodeScalars {
            if isRemoved(s) { continue }
            if isWhitespace(s) { cleaned.append(" "); continue }
            if s.value >= 0x80 {
                isASCII = false
                if isCJK(s) {
                    cleaned.append(" ")
                    cleaned.append(s)
                    cleaned.append(" ")
                    continue
                }
            }
            cleaned.append(s)
        }
        // 2. strip accents (NFD, drop Mn), then lower-case each character (full mapping).
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(cleaned.count)
        if isASCII {
            for s in cleaned {
                let v = s.value
                normalized.append((65...90).contains(v) ? Unicode.Scalar(v + 32)! : s)
            }
        } else {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: cleaned)
            let decomposed = String(view).decomposedStringWithCanonicalMapping
            for s in decomposed.unicodeScalars {
                if s.properties.generalCategory == .nonspacingMark { continue }
                if s.value < 0x80 {
                    let v = s.value
                    normalized.append((65...90).contains(v) ? Unicode.Scalar(v + 32)! : s)
                } else if s.properties.changesWhenLowercased {
                    normalized.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                } else {
                    normalized.append(s)
                }
            }
        }
        // 3. pre-tokenize: split on whitespace, isolate punctuation.
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in normalized {
            if isWhitespace(s) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if isPunctuation(s) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([s])
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
