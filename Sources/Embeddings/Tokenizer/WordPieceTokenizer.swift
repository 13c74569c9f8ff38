import Foundation

/// BERT uncased WordPiece tokenizer, giving the same ids as the reference `BertTokenizer`.
public struct WordPieceTokenizer: Sendable {
    /// Longest word (in Unicode scalars) that is word-pieced; longer ones become [UNK].
    public static let maxCharactersPerWord = 100

    public let vocabulary: [String: Int32]
    public let unknownID: Int32
    public let classID: Int32
    public let separatorID: Int32
    public let paddingID: Int32
    /// Most ids one text produces, [CLS] and [SEP] included.
    public let maxLength: Int

    /// Builds a tokenizer from the lines of `vocab.txt` (one token a line; the id is the line number).
    public init(vocabularyLines: [Substring], maxLength: Int = 256) throws {
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(vocabularyLines.count)
        for (index, line) in vocabularyLines.enumerated() {
            let token = String(line)
            if vocabulary[token] == nil { vocabulary[token] = Int32(index) }
        }
        func id(_ token: String) throws -> Int32 {
            guard let value = vocabulary[token] else {
                throw EmbeddingsError(.invalidModel, "the vocabulary has no \(token) token")
            }
            return value
        }
        self.vocabulary = vocabulary
        self.unknownID = try id("[UNK]")
        self.classID = try id("[CLS]")
        self.separatorID = try id("[SEP]")
        self.paddingID = try id("[PAD]")
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        self.maxLength = maxLength
    }

    /// Loads `vocab.txt`.
    public init(vocabularyFile url: URL, maxLength: Int = 256) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw EmbeddingsError(.modelNotFound, "cannot read the vocabulary \(url.path): \(error.localizedDescription)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabularyLines: lines.map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }, maxLength: maxLength)
    }

    /// The ids the model is fed for `text`: [CLS], the first `maxLength - 2` word-pieces, [SEP].
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [classID]
        let budget = maxLength - 1
        var pieces: [Int32] = []
        for word in BertCharacters.words(text) {
            pieces.removeAll(keepingCapacity: true)
            wordPieces(word, into: &pieces)
            for piece in pieces {
                if ids.count >= budget { break }
                ids.append(piece)
            }
            if ids.count >= budget { break }
        }
        ids.append(separatorID)
        return ids
    }

    /// The word-piece ids of one word as the model sees it (normalised; punctuation inside it split off), without
    /// [CLS]/[SEP]: for heads that label words, which tokenise word by word to keep each word's offsets.
    public func pieces(ofWord word: Substring) -> [Int32] {
        var out: [Int32] = []
        for normalized in BertCharacters.words(String(word)) { wordPieces(normalized, into: &out) }
        return out
    }

    /// Greedy longest-match-first word-piecing; a word that cannot be fully covered is one [UNK].
    func wordPieces(_ word: [Unicode.Scalar], into out: inout [Int32]) {
        if word.count > Self.maxCharactersPerWord {
            out.append(unknownID)
            return
        }
        let firstCount = out.count
        var start = 0
        var candidate = String.UnicodeScalarView()
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append("#"); candidate.append("#") }
                candidate.append(contentsOf: word[start..<end])
                if let id = vocabulary[String(candidate)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                out.removeSubrange(firstCount...)
                out.append(unknownID)
                return
            }
            out.append(id)
            start = end
        }
    }
}
