import Foundation

/// Turns text into index terms for BM25: Unicode word split, lowercase, accent folding, optional
/// English stopwords and optional Porter stemming. Queries and documents go through the same steps.
public struct TextTokenizer: Sendable, Hashable, Codable {
    /// Drop the Lucene/Elasticsearch English stopword list (33 words, also bm25s' `"en"` list).
    public var removesStopwords: Bool
    public var stemming: Bool
    /// Shortest term kept, in characters; 2 matches bm25s' and scikit-learn's `\w\w+` pattern.
    public var minimumLength: Int

    public init(removesStopwords: Bool = true, stemming: Bool = true, minimumLength: Int = 2) {
        self.removesStopwords = removesStopwords
        self.stemming = stemming
        self.minimumLength = max(1, minimumLength)
    }

    public static let englishStopwords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    ]

    /// The terms of `text` in order (repeats kept: they are the term frequencies).
    public func terms(_ text: String) -> [String] {
        var terms: [String] = []
        for word in Self.words(text) {
            guard word.count >= minimumLength else { continue }
            if removesStopwords && Self.englishStopwords.contains(word) { continue }
            terms.append(stemming ? PorterStemmer.stem(word) : word)
        }
        return terms
    }

    /// Lowercased, accent-folded runs of letters, digits and underscores (Unicode's `\w`: letters,
    /// combining marks, decimal numbers, connector punctuation). Marks are dropped after canonical
    /// decomposition, so "Café" and "cafe" are the same word.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        var needsFolding = false

        func flush() {
            guard !current.isEmpty else { return }
            var word = String(current)
            if needsFolding { word = fold(word) }
            if !word.isEmpty { words.append(word) }
            current = String.UnicodeScalarView()
            needsFolding = false
        }

        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                switch value {
                case 0x61...0x7A, 0x30...0x39, 0x5F:  // a-z 0-9 _
                    current.append(scalar)
                case 0x41...0x5A:  // A-Z
                    current.append(Unicode.Scalar(value + 32)!)
                default:
                    flush()
                }
                continue
            }
            if isWordScalar(scalar) {
                current.append(scalar)
                needsFolding = true
            } else {
                flush()
            }
        }
        flush()
        return words
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic { return true }
        switch properties.generalCategory {
        case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// Lowercase, decompose (NFD), drop combining marks, recompose; "Ærø" stays letters, "é" → "e".
    static func fold(_ word: String) -> String {
        let decomposed = word.lowercased().decomposedStringWithCanonicalMapping
        var scalars = String.UnicodeScalarView()
        for scalar in decomposed.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: scalars.append(scalar)
            }
        }
        return String(scalars).precomposedStringWithCanonicalMapping
    }
}
