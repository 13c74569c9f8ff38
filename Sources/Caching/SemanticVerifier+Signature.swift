import Foundation

extension SemanticVerifier {
    /// What the checks compare, read from one text in one linear pass (plus one for spans). The
    /// cache keeps one per semantic entry, so a lookup reads only the new request.
    public struct Signature: Sendable, Hashable {
        /// First letters of the words in order, lowercased: an acronym missing from the other text
        /// may be spelt out there ("ML" / "machine learning").
        public private(set) var initials = ""
        /// Backtick spans, lowercased, whitespace collapsed, a trailing `()` dropped.
        public private(set) var codeSpans: Set<String> = []
        /// Double-quoted strings (straight, curly or guillemets), normalised like code spans.
        public private(set) var quotes: Set<String> = []
        /// Every token, lowercased, as written (no stemming), plus the parts of hyphenated ones
        /// that are not identifiers.
        public private(set) var words: Set<String> = []
        /// Code-like tokens, lowercased.
        public private(set) var identifiers: Set<String> = []
        /// Numbers as digits (`1,000` → `1000`; `two` → `2`).
        public private(set) var numbers: Set<String> = []
        /// The numbers written with digits (a spelt-out "two" may be "a pair" or "both" elsewhere).
        public private(set) var digitNumbers: Set<String> = []
        /// The last parts of qualified identifiers (`datasets.AudioClassification` → audioclassification).
        public private(set) var qualifiedTails: Set<String> = []
        /// Identifiers that are acronyms (all capitals), lowercased.
        public private(set) var acronyms: Set<String> = []
        /// How many negations the text makes ("not only", "or not" are none).
        public private(set) var negations = 0
        public var negated: Bool { negations > 0 }
        /// Stems of capitalised words not at the start of a sentence (and not identifiers).
        public private(set) var entities: Set<String> = []
        /// Stems of every word.
        public private(set) var stems: Set<String> = []
        /// Stems of the words that are not stop words.
        public private(set) var contentStems: Set<String> = []

        public init(_ text: String) {
            let scalars = Array(text.unicodeScalars)
            (codeSpans, quotes) = Self.spans(scalars)
            var token: [Unicode.Scalar] = []
            var sentenceStart = true
            var previous = ""  // the last word, lowercased, for the negation's idioms
            var pendingNot = false  // a "not" whose next word decides
            var index = 0
            while index <= scalars.count {
                let scalar: Unicode.Scalar? = index < scalars.count ? scalars[index] : nil
                // A thousands separator joins its number: "1,000" (not "1,2,3").
                let groupSeparator = scalar == "," && token.last.map(Self.isDigit) == true && index + 3 < scalars.count
                    && scalars[(index + 1)...(index + 3)].allSatisfy(Self.isDigit) && (index + 4 == scalars.count || !Self.isDigit(scalars[index + 4]))
                if let scalar, Self.isTokenScalar(scalar) || groupSeparator {
                    token.append(scalar)
                    index += 1
                    continue
                }
                // A separator (or the end): the token is complete.
                let call = scalar == "(" && index + 1 < scalars.count && scalars[index + 1] == ")"
                if !token.isEmpty, let (word, endsSentence) = add(token, sentenceStart: sentenceStart, call: call, before: scalar) {
                    // "No, it doesn't." answers with the negation that follows: the "No," is not another one.
                    let answerParticle = word == "no" && sentenceStart && scalar == ","
                    sentenceStart = endsSentence
                    // "not only … but", "not just", "whether … or not" do not negate the statement.
                    if pendingNot, !Self.notIdioms.contains(word) { negations += 1 }
                    pendingNot = false
                    if !answerParticle, Self.negationWords.contains(word) || word.hasSuffix("n't") || word.hasSuffix("n\u{2019}t") {
                        if word == "not" { pendingNot = previous != "or" } else { negations += 1 }
                    }
                    previous = word
                } else if !token.isEmpty {
                    sentenceStart = sentenceStart || token.contains(".") || token.contains(":")
                }
                token.removeAll(keepingCapacity: true)
                if let scalar, Self.startsSentence(after: scalar) { sentenceStart = true }
                index += 1
            }
            if pendingNot { negations += 1 }
        }

        /// Adds one raw token followed by the separator `before`; returns the word, lowercased, and
        /// whether it ends a sentence (nil when the token was punctuation only).
        private mutating func add(_ raw: [Unicode.Scalar], sentenceStart: Bool, call: Bool, before separator: Unicode.Scalar?) -> (String, Bool)? {
            var start = 0
            var end = raw.count
            let leadingDot = raw.first == "."
            while start < end, Self.isJoiner(raw[start]) { start += 1 }
            var trailing: [Unicode.Scalar] = []
            while end > start, Self.isJoiner(raw[end - 1]) { end -= 1; trailing.append(raw[end]) }
            guard start < end else { return nil }
            let endsSentence = trailing.contains(".") || trailing.contains(":")
            var body = Array(raw[start..<end])
            // Possessive 's: "Arrow's" is Arrow.
            if body.count > 2, body[body.count - 1] == "s" || body[body.count - 1] == "S",
                body[body.count - 2] == "'" || body[body.count - 2] == "\u{2019}"
            {
                body.removeLast(2)
            }
            let lower = String(String.UnicodeScalarView(body)).lowercased()
            // "1)" and "2)" number the parts of a list; they are not quantities.
            if !(separator == ")" && trailing.isEmpty && body.allSatisfy({ $0.isASCII && $0.properties.numericType != nil })) {
                addNumbers(body)
            }
            if let first = lower.unicodeScalars.first, first.properties.isAlphabetic { initials.unicodeScalars.append(first) }
            let identifier = call || (leadingDot && body.first?.properties.isAlphabetic == true) || Self.isIdentifier(body)
            if identifier {
                identifiers.insert(lower)
                if let tail = lower.split(whereSeparator: { $0 == "." || $0 == ":" || $0 == "/" }).last, tail.count < lower.count {
                    qualifiedTails.insert(String(tail))
                }
                if body.allSatisfy({ !$0.properties.isAlphabetic || $0.properties.isUppercase }) { acronyms.insert(lower) }
            }
            words.insert(lower)
            // Parts of hyphenated or slashed words count as words too ("data-loaders"); not those of an
            // identifier: `devices` is not named by `jax.devices()`.
            let parts = lower.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." || $0 == "'" || $0 == "\u{2019}" })
            if parts.count > 1, !identifier { for part in parts { words.insert(String(part)) } }
            // A capitalised name: not the first word of a sentence, not an acronym or identifier.
            let name = !identifier && !sentenceStart && body.first?.properties.isUppercase == true && body.count > 1
                && !Self.stopWords.contains(lower)
            for part in parts where part.unicodeScalars.contains(where: { $0.properties.isAlphabetic }) {
                let stem = Self.stem(String(part))
                stems.insert(stem)
                if !Self.stopWords.contains(String(part)) && part.count > 1 { contentStems.insert(stem) }
                if name { entities.insert(stem) }
            }
            return (lower, endsSentence)
        }

        private mutating func addNumbers(_ body: [Unicode.Scalar]) {
            if let word = Self.numberWords[String(String.UnicodeScalarView(body)).lowercased()] {
                numbers.insert(word)
                return
            }
            var index = 0
            while index < body.count {
                guard body[index].properties.numericType != nil, body[index].isASCII else { index += 1; continue }
                var digits = String.UnicodeScalarView()
                while index < body.count {
                    let scalar = body[index]
                    if scalar.isASCII, scalar.properties.numericType != nil {
                        digits.append(scalar)
                    } else if scalar == "." && index + 1 < body.count && body[index + 1].isASCII && body[index + 1].properties.numericType != nil {
                        digits.append(scalar)
                    } else if scalar != "," || !(index + 1 < body.count && body[index + 1].isASCII && body[index + 1].properties.numericType != nil) {
                        break
                    }
                    index += 1
                }
                numbers.insert(String(digits))
                digitNumbers.insert(String(digits))
            }
        }

        /// The words of a span (already lowercased), split and trimmed as the text's tokens are.
        static func words(of span: String) -> [String] {
            span.unicodeScalars.split { !isTokenScalar($0) }.compactMap { token -> String? in
                var scalars: Substring.UnicodeScalarView = token
                while let first = scalars.first, isJoiner(first) { scalars = scalars.dropFirst() }
                while let last = scalars.last, isJoiner(last) { scalars = scalars.dropLast() }
                return scalars.isEmpty ? nil : String(String.UnicodeScalarView(scalars))
            }
        }

        // MARK: Classes of characters and tokens

        static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.isASCII && scalar.properties.numericType != nil }

        static func isTokenScalar(_ scalar: Unicode.Scalar) -> Bool {
            let properties = scalar.properties
            return properties.isAlphabetic || properties.numericType != nil || properties.generalCategory == .nonspacingMark
                || isJoiner(scalar)
        }

        /// Characters that join the parts of one token (`snake_case`, `a.b`, `state-of-the-art`,
        /// `can't`, `src/main.py`, `std::vec`, `#tag`, `$HOME`) and are trimmed at its ends.
        static func isJoiner(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case "_", ".", "-", "'", "\u{2019}", "/", ":", "#", "$", "@", "%", "+", "~": return true
            default: return false
            }
        }

        static func startsSentence(after scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case "!", "?", "\n", "\r", "\"", "\u{201C}", "\u{00AB}", "(", "[", "*", ">", "|", ";", "\u{2022}": return true
            default: return false
            }
        }

        /// Snake_case, camelCase, dotted.names, letters with digits, acronyms of two or more capitals.
        static func isIdentifier(_ body: [Unicode.Scalar]) -> Bool {
            var letters = 0
            var digits = 0
            var uppercase = 0
            var lowerThenUpper = false
            var previousLower = false
            for (offset, scalar) in body.enumerated() {
                let properties = scalar.properties
                if scalar == "_" { return body.count > 1 }
                // dotted.names and paths::like; not abbreviations of one-letter parts ("e.g", "U.S").
                if scalar == "." || scalar == ":", offset > 0, offset + 1 < body.count,
                    body[offset + 1].properties.isAlphabetic, body[offset - 1] != ".",
                    body.split(whereSeparator: { $0 == "." || $0 == ":" }).contains(where: { $0.count > 1 })
                {
                    return true
                }
                if properties.isAlphabetic {
                    letters += 1
                    if properties.isUppercase {
                        uppercase += 1
                        if previousLower { lowerThenUpper = true }
                    }
                    previousLower = properties.isLowercase
                } else {
                    if properties.numericType != nil { digits += 1 }
                    previousLower = false
                }
            }
            if letters > 0 && digits > 0 { return true }
            if lowerThenUpper { return true }
            return uppercase >= 2 && uppercase == letters
        }

        /// Light suffix stripping, enough that "loads", "loaded" and "loading" meet.
        static func stem(_ word: String) -> String {
            var word = Substring(word)
            if word.count > 4, word.hasSuffix("ies") { return String(word.dropLast(3)) + "y" }
            if word.count > 4, word.hasSuffix("sses") { word = word.dropLast(2) }
            else if word.count > 3, word.hasSuffix("s"), !word.hasSuffix("ss"), !word.hasSuffix("us"), !word.hasSuffix("is") {
                word = word.dropLast()
            }
            if word.count > 5, word.hasSuffix("ing") { word = word.dropLast(3) }
            else if word.count > 4, word.hasSuffix("ed") { word = word.dropLast(2) }
            if word.count > 3, word.hasSuffix("e") { word = word.dropLast() }
            return String(word)
        }

        /// Code spans (between runs of backticks) and double-quoted strings.
        static func spans(_ scalars: [Unicode.Scalar]) -> (code: Set<String>, quotes: Set<String>) {
            var code: Set<String> = []
            var quotes: Set<String> = []
            var openCode: Int?
            var openQuote: (index: Int, close: Unicode.Scalar)?
            var index = 0
            while index < scalars.count {
                let scalar = scalars[index]
                if scalar == "`" {
                    var end = index
                    while end < scalars.count, scalars[end] == "`" { end += 1 }
                    if let start = openCode {
                        if let span = normalised(scalars[start..<index]) { code.insert(span) }
                        openCode = nil
                    } else {
                        openCode = end
                    }
                    index = end
                    continue
                }
                if openCode == nil {
                    if let open = openQuote, scalar == open.close {
                        if let quote = normalised(scalars[(open.index + 1)..<index]) { quotes.insert(quote) }
                        openQuote = nil
                    } else if openQuote == nil {
                        switch scalar {
                        case "\"": openQuote = (index, "\"")
                        case "\u{201C}": openQuote = (index, "\u{201D}")
                        case "\u{00AB}": openQuote = (index, "\u{00BB}")
                        default: break
                        }
                    }
                }
                index += 1
            }
            return (code, quotes)
        }

        static func normalised(_ scalars: ArraySlice<Unicode.Scalar>) -> String? {
            var text = String.UnicodeScalarView()
            var space = false
            for scalar in scalars {
                if scalar.properties.isWhitespace { space = !text.isEmpty; continue }
                if space { text.append(" "); space = false }
                text.append(scalar)
            }
            var string = String(text).lowercased()
            if string.hasSuffix("()") { string.removeLast(2) }
            return string.isEmpty ? nil : string
        }

        /// Words that negate a statement. Not "without", "unable" or "lack": paraphrases trade those for
        /// "no-code", "non-streaming", "in the absence of" too freely to be told apart from a real negation.
        static let negationWords: Set<String> = ["not", "no", "never", "none", "neither", "nor", "cannot"]

        static let notIdioms: Set<String> = ["only", "just", "merely", "simply", "necessarily"]

        static let numberWords: [String: String] = [
            "zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
            "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
        ]

        /// English function words and the commonest verbs of phrasing ("can", "use", "allow").
        static let stopWords: Set<String> = [
            "a", "an", "the", "and", "or", "but", "if", "then", "else", "when", "while", "of", "at", "by", "for", "with",
            "about", "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from",
            "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "once", "here", "there", "where",
            "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "only", "own",
            "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "should", "now", "i", "me", "my", "we",
            "our", "you", "your", "he", "him", "his", "she", "her", "it", "its", "they", "them", "their", "what", "which",
            "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be", "been", "being",
            "have", "has", "had", "having", "do", "does", "did", "doing", "would", "could", "might", "must", "shall",
            "may", "also", "as", "via", "using", "use", "used", "uses", "allow", "allows", "allowed", "able", "ability",
            "let", "lets", "provide", "provides", "provided", "one", "way", "ways", "e.g", "i.e", "etc", "yes",
            // Negation is its own check; contractions split at the apostrophe leave these.
            "not", "no", "never", "cannot", "don", "doesn", "isn", "aren", "wasn", "weren", "won", "couldn", "shouldn",
            "wouldn", "hasn", "haven", "hadn", "didn", "mustn", "ll", "ve", "re",
        ]
    }
}
