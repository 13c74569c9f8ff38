import Embeddings

/// A word of a scanned text, as the encoder's pre-tokenizer splits it (runs of letters and digits; each
/// punctuation character alone), with its place in the text in Unicode scalars.
struct GuardWord: Sendable, Equatable {
    var start: Int
    var end: Int
    var text: Substring
    /// A line break stands between this word and the one before it.
    var afterLineBreak = false

    /// Splits `text` into words. CJK ideographs are one word each, as the encoder sees them.
    static func split(_ text: String) -> [GuardWord] {
        var words: [GuardWord] = []
        var offset = 0
        var wordStart: (offset: Int, index: String.Index)?
        var sawLineBreak = false
        var index = text.unicodeScalars.startIndex
        func close(at end: Int, _ endIndex: String.Index) {
            if let open = wordStart {
                words.append(GuardWord(start: open.offset, end: end, text: text[open.index..<endIndex], afterLineBreak: sawLineBreak))
                wordStart = nil
                sawLineBreak = false
            }
        }
        while index < text.unicodeScalars.endIndex {
            let scalar = text.unicodeScalars[index]
            let next = text.unicodeScalars.index(after: index)
            if BertCharacters.isWhitespace(scalar) || BertCharacters.isRemoved(scalar) {
                close(at: offset, index)
                if scalar == "\n" || scalar == "\r" || scalar == "\u{2028}" || scalar == "\u{2029}" { sawLineBreak = true }
            } else if BertCharacters.isPunctuation(scalar) || BertCharacters.isCJK(scalar) {
                close(at: offset, index)
                words.append(GuardWord(start: offset, end: offset + 1, text: text[index..<next], afterLineBreak: sawLineBreak))
                sawLineBreak = false
            } else if wordStart == nil {
                wordStart = (offset, index)
            }
            offset += 1
            index = next
        }
        close(at: offset, text.endIndex)
        return words
    }

    /// Spelling features the uncased encoder cannot see: capitals, digits, length.
    var shape: [Float] {
        var letters = 0, uppers = 0, digits = 0
        var firstUpper = false
        for (position, scalar) in text.unicodeScalars.enumerated() {
            let properties = scalar.properties
            if properties.isAlphabetic {
                letters += 1
                if properties.isUppercase {
                    uppers += 1
                    if position == 0 { firstUpper = true }
                }
            } else if ("0"..."9").contains(scalar) {
                digits += 1
            }
        }
        let count = max(1, end - start)
        let isPunctuation = letters == 0 && digits == 0
        return [
            firstUpper ? 1 : 0,
            letters > 1 && uppers == letters ? 1 : 0,
            digits > 0 ? 1 : 0,
            digits == count ? 1 : 0,
            isPunctuation ? 1 : 0,
            Float(min(count, 20)) / 20,
            letters > 0 && digits > 0 ? 1 : 0,
        ]
    }

    static let shapeWidth = 7
}
