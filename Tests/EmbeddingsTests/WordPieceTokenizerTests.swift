import Testing
@testable import Embeddings

/// The tokenizer's rules on a small hand-made vocabulary (no model file needed).
@Suite("WordPiece tokenizer")
struct WordPieceTokenizerTests {
    static let vocabulary: [Substring] = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "hello", "world", ",", "!", "cafe", "naive", "un", "##aff", "##able", "中", "国", "$", "5",
        "a", "##a", "±", "ok", "the", "'", "s", "-", "##ok", "i",
    ]
    static let tokenizer = try! WordPieceTokenizer(vocabularyLines: vocabulary)

    func tokens(_ text: String, _ tokenizer: WordPieceTokenizer = tokenizer) -> [String] {
        let names = Self.vocabulary.map(String.init)
        return tokenizer.encode(text).map { names[Int($0)] }
    }

    @Test("special ids come from the vocabulary")
    func specialIDs() {
        #expect(Self.tokenizer.classID == 2 && Self.tokenizer.separatorID == 3 && Self.tokenizer.unknownID == 1 && Self.tokenizer.paddingID == 0)
        #expect(tokens("") == ["[CLS]", "[SEP]"])
    }

    @Test("lower-cases and splits punctuation into single tokens")
    func punctuation() {
        #expect(tokens("Hello, WORLD!") == ["[CLS]", "hello", ",", "world", "!", "[SEP]"])
        #expect(tokens("hello,world!!") == ["[CLS]", "hello", ",", "world", "!", "!", "[SEP]"])
        // ASCII symbols count as punctuation ($), non-ASCII symbols (±, Sm) do not.
        #expect(tokens("$5") == ["[CLS]", "$", "5", "[SEP]"])
        #expect(tokens("±") == ["[CLS]", "±", "[SEP]"])
        #expect(tokens("±5") == ["[CLS]", "[UNK]", "[SEP]"])
        // Unicode punctuation (Pd: EN DASH) splits; it is not in this vocabulary, so [UNK].
        #expect(tokens("ok\u{2013}ok") == ["[CLS]", "ok", "[UNK]", "ok", "[SEP]"])
    }

    @Test("strips accents (NFD, drop Mn), including precomposed and combining forms")
    func accents() {
        #expect(tokens("Café NAÏVE") == ["[CLS]", "cafe", "naive", "[SEP]"])
        #expect(tokens("Cafe\u{301}") == ["[CLS]", "cafe", "[SEP]"])
        #expect(tokens("İ") == ["[CLS]", "i", "[SEP]"])
    }

    @Test("CJK ideographs become single-character words")
    func cjk() {
        #expect(tokens("中国") == ["[CLS]", "中", "国", "[SEP]"])
        #expect(tokens("hello中world") == ["[CLS]", "hello", "中", "world", "[SEP]"])
    }

    @Test("greedy longest-match word-pieces; an uncoverable word is one [UNK]")
    func wordPieces() {
        #expect(tokens("unaffable") == ["[CLS]", "un", "##aff", "##able", "[SEP]"])
        #expect(tokens("unaffablex") == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(tokens("hello xyz world") == ["[CLS]", "hello", "[UNK]", "world", "[SEP]"])
    }

    @Test("words longer than 100 characters are [UNK]")
    func longWords() {
        #expect(tokens(String(repeating: "a", count: 100)) == ["[CLS]", "a"] + Array(repeating: "##a", count: 99) + ["[SEP]"])
        #expect(tokens(String(repeating: "a", count: 101)) == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test("whitespace of every kind separates; control and format characters vanish")
    func whitespaceAndControls() {
        #expect(tokens("\t hello \r\n world\u{00A0}ok\u{3000}") == ["[CLS]", "hello", "world", "ok", "[SEP]"])
        // ZERO WIDTH SPACE (Cf), SOFT HYPHEN (Cf), NUL, U+FFFD and BOM are removed, joining the word.
        #expect(tokens("hel\u{200B}lo wor\u{00AD}ld \u{0}ok\u{FFFD} \u{FEFF}ok") == ["[CLS]", "hello", "world", "ok", "ok", "[SEP]"])
        // U+0085 (NEL) is a control character, so it is removed rather than treated as a space.
        #expect(tokens("ok\u{85}ok") == ["[CLS]", "ok", "##ok", "[SEP]"])
        // U+2028 (LINE SEPARATOR) is whitespace.
        #expect(tokens("ok\u{2028}ok") == ["[CLS]", "ok", "ok", "[SEP]"])
    }

    @Test("truncates to [CLS] + the first maxLength-2 pieces + [SEP]")
    func truncation() throws {
        let short = try WordPieceTokenizer(vocabularyLines: Self.vocabulary, maxLength: 6)
        #expect(tokens("hello world hello world hello world", short) == ["[CLS]", "hello", "world", "hello", "world", "[SEP]"])
        // The cut may fall inside a word's pieces.
        #expect(tokens("hello hello hello unaffable", short) == ["[CLS]", "hello", "hello", "hello", "un", "[SEP]"])
        let ids = Self.tokenizer.encode(String(repeating: "hello ", count: 400))
        #expect(ids.count == 256 && ids.first == 2 && ids.last == 3)
    }
}
