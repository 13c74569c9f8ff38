/// Counts the tokens a text costs.
public typealias TokenCounter = @Sendable (String) -> Int

/// An estimate of BERT word-pieces, for models whose tokenizer is not in-process: every punctuation
/// mark is one piece, every word one piece plus one per 6 characters beyond its first 6 (long and
/// rare words split into several). On English prose it lands within ~10% of MiniLM's real count.
public enum TokenEstimate {
    public static let wordPieces: TokenCounter = { text in
        var count = 0
        var run = 0
        func close() {
            if run > 0 { count += 1 + max(0, run - 1) / 6 }
            run = 0
        }
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                run += 1
            } else {
                close()
                if !scalar.properties.isWhitespace { count += 1 }
            }
        }
        close()
        return count
    }
}
