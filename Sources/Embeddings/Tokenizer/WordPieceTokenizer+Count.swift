import SwitchyardCore

extension WordPieceTokenizer {
    /// Word-pieces of `text` without [CLS]/[SEP] and without truncation: what a chunker budgets with.
    public func pieceCount(_ text: String) -> Int {
        var count = 0
        var pieces: [Int32] = []
        for word in BertCharacters.words(text) {
            pieces.removeAll(keepingCapacity: true)
            wordPieces(word, into: &pieces)
            count += pieces.count
        }
        return count
    }
}

extension MiniLMEmbedder: TokenCountingEmbedder {
    public func tokenCount(_ text: String) -> Int { tokenizer.pieceCount(text) }
}
