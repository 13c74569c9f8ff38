import Embeddings

/// Runs the native encoder over a text once, in windows, and derives what the heads read: one pooled vector per
/// window (injection) and one feature row per word (PII).
struct GuardEncoder: Sendable {
    let embedder: MiniLMEmbedder
    /// Word-pieces per window, [CLS] and [SEP] excluded. Windows hold whole words and end at a sentence end when
    /// one falls in their second half, so a name or an instruction is rarely cut in two.
    var maxPieces = 126
    /// The layer whose token states the injection head pools (the last: sentence meaning).
    var injectionLayer = 6
    /// The layer whose token states the PII head labels (an early one: word identity and shape survive there better
    /// than in the last layer, tuned for sentence similarity; measured on the dev set, and cheaper).
    var piiLayer = 2

    /// One window: a run of words and the ids the encoder is fed for them.
    struct Window: Sendable {
        var words: Range<Int>
        var ids: [Int32]
        /// For each word of the window, the position (in `ids`) of its first piece.
        var firstPiece: [Int]
    }

    /// A text as the heads see it.
    struct Encoded: Sendable {
        var words: [GuardWord]
        var windows: [Window]
        /// Per window, the injection layer's states, `ids.count × hidden` row-major.
        var states: [[Float]]
        /// Per window, the PII layer's states, the same shape.
        var wordStates: [[Float]]
        var hidden: Int
    }

    func encode(_ text: String) -> Encoded {
        encode(batch: [text])[0]
    }

    /// Encodes several texts in one set of forward passes.
    func encode(batch texts: [String]) -> [Encoded] {
        encode(wordLists: texts.map(GuardWord.split))
    }

    /// Encodes runs of words (each with its offsets in its own text) in one set of forward passes. The states of
    /// every window are kept until the heads have read them, so callers bound the words per call.
    func encode(wordLists: [[GuardWord]]) -> [Encoded] {
        let tokenizer = embedder.tokenizer
        var perText: [(words: [GuardWord], windows: [Window])] = []
        var sequences: [[Int32]] = []
        for words in wordLists {
            let pieces = words.map { Array(tokenizer.pieces(ofWord: $0.text).prefix(maxPieces)) }
            let windows = Self.windows(words: words, pieces: pieces, maxPieces: maxPieces, classID: tokenizer.classID, separatorID: tokenizer.separatorID)
            perText.append((words, windows))
            sequences.append(contentsOf: windows.map(\.ids))
        }
        // One pass; each window's floats hold the injection layer's rows, then the PII layer's.
        let both = embedder.tokenStates(sequences, layers: [injectionLayer, piiLayer])
        let states = both.map { Array($0[..<($0.count / 2)]) }
        let wordStates = both.map { Array($0[($0.count / 2)...]) }
        var cursor = 0
        return perText.map { words, windows in
            defer { cursor += windows.count }
            let range = cursor..<cursor + windows.count
            return Encoded(words: words, windows: windows, states: Array(states[range]), wordStates: Array(wordStates[range]), hidden: embedder.hiddenSize)
        }
    }

    static func windows(words: [GuardWord], pieces: [[Int32]], maxPieces: Int, classID: Int32, separatorID: Int32) -> [Window] {
        var windows: [Window] = []
        var start = 0
        while start < words.count {
            var end = start
            var count = 0
            var lastSentenceEnd: Int?
            while end < words.count, end == start || count + pieces[end].count <= maxPieces {
                count += pieces[end].count
                if Self.endsSentence(words[end].text), end - start >= 1 { lastSentenceEnd = end + 1 }
                end += 1
            }
            if end < words.count, let cut = lastSentenceEnd, cut - start >= (end - start) / 2 { end = cut }
            var ids: [Int32] = [classID]
            var firstPiece: [Int] = []
            for index in start..<end {
                firstPiece.append(ids.count)
                ids.append(contentsOf: pieces[index].isEmpty ? [100] : pieces[index])
            }
            ids.append(separatorID)
            windows.append(Window(words: start..<end, ids: ids, firstPiece: firstPiece))
            start = end
        }
        if windows.isEmpty { windows.append(Window(words: 0..<0, ids: [classID, separatorID], firstPiece: [])) }
        return windows
    }

    private static func endsSentence(_ word: Substring) -> Bool {
        word == "." || word == "!" || word == "?" || word == "\n" || word == ";" || word == "。"
    }
}

extension GuardEncoder.Encoded {
    /// Mean of the window's token states, L2-normalised: the sentence embedding of that window.
    func pooled(window index: Int) -> [Float] {
        pooled(window: index, rows: 0..<windows[index].ids.count)
    }

    /// A part of a window: a sentence or a line, as token rows of the window.
    struct Segment {
        var window: Int
        var rows: Range<Int>
        var words: Range<Int>
    }

    /// The sentences and lines of each window that has more than one (at least `minimumWords` words each):
    /// an instruction injected into a document stands out in its own sentence more than in the window's mean.
    func segments(minimumWords: Int = 3) -> [Segment] {
        var segments: [Segment] = []
        for (w, window) in windows.enumerated() where window.words.count > minimumWords {
            var found: [Segment] = []
            var first = window.words.lowerBound
            func close(_ end: Int) {
                if end - first >= minimumWords {
                    let k0 = first - window.words.lowerBound, k1 = end - window.words.lowerBound
                    let rowEnd = k1 < window.firstPiece.count ? window.firstPiece[k1] : window.ids.count - 1
                    found.append(Segment(window: w, rows: window.firstPiece[k0]..<rowEnd, words: first..<end))
                }
                first = end
            }
            for index in window.words {
                if index > first, words[index].afterLineBreak { close(index) }
                let text = words[index].text
                if text == "." || text == "!" || text == "?" || text == "。" { close(index + 1) }
            }
            close(window.words.upperBound)
            if found.count > 1 { segments += found }
        }
        return segments
    }

    /// Mean of some of a window's token states, L2-normalised.
    func pooled(window index: Int, rows: Range<Int>) -> [Float] {
        var sum = [Double](repeating: 0, count: hidden)
        states[index].withUnsafeBufferPointer { buffer in
            for r in rows {
                for j in 0..<hidden { sum[j] += Double(buffer[r * hidden + j]) }
            }
        }
        var norm = 0.0
        for j in 0..<hidden { norm += sum[j] * sum[j] }
        let inverse = 1 / max(norm.squareRoot(), 1e-12)
        return sum.map { Float($0 * inverse) }
    }

    /// Per word: the state of its first piece, then the spelling of the word and of its two neighbours.
    func wordFeatures() -> [[Float]] {
        var rows: [[Float]] = []
        rows.reserveCapacity(words.count)
        let empty = [Float](repeating: 0, count: GuardWord.shapeWidth)
        for (w, window) in windows.enumerated() {
            for (k, wordIndex) in window.words.enumerated() {
                let position = window.firstPiece[k]
                var row = Array(wordStates[w][position * hidden..<(position + 1) * hidden])
                row += words[wordIndex].shape
                row += wordIndex > 0 ? words[wordIndex - 1].shape : empty
                row += wordIndex + 1 < words.count ? words[wordIndex + 1].shape : empty
                rows.append(row)
            }
        }
        return rows
    }
}
