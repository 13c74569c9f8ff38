import Foundation

public struct ChunkingOptions: Sendable, Hashable {
    /// Most tokens in a chunk, its heading line included. MiniLM reads 256 word-pieces ([CLS] and
    /// [SEP] included), so the default leaves room to spare.
    public var maxTokens: Int
    /// Tokens of the previous chunk's end (whole sentences) repeated at the start of the next one.
    public var overlapTokens: Int

    public init(maxTokens: Int = 200, overlapTokens: Int = 32) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
    }
}

/// A piece of a document, ready to embed.
public struct TextChunk: Sendable, Hashable {
    public var text: String
    /// 0-based order within the document.
    public var position: Int
    /// Headings above the chunk, outermost first.
    public var headingPath: [String]
    /// Tokens of `text` alone.
    public var tokenCount: Int
    /// The line embedded and indexed before the text: title and headings (may be empty).
    public var context: String

    /// What is embedded and keyword-indexed: the context line, then the text.
    public var indexedText: String { context.isEmpty ? text : context + "\n" + text }
}

/// Structure-aware recursive splitting: headings open sections (a chunk never spans two), then
/// paragraphs, then sentences (lines for code), then words, packed greedily to the token budget,
/// with whole trailing sentences of each chunk repeated at the start of the next.
public struct RecursiveChunker: Sendable {
    public var options: ChunkingOptions
    public var count: TokenCounter

    public init(options: ChunkingOptions = ChunkingOptions(), count: @escaping TokenCounter = TokenEstimate.wordPieces) {
        self.options = options
        self.count = count
    }

    public func chunks(of text: String, format: TextFormat, title: String? = nil) -> [TextChunk] {
        var result: [TextChunk] = []
        for section in Self.sections(of: text, format: format) {
            let context = TextChunk.context(title: title, headingPath: section.path) ?? ""
            // A very long heading line still leaves a quarter of the budget for text.
            let budget = max(max(1, options.maxTokens / 4), options.maxTokens - (context.isEmpty ? 0 : count(context) + 1))
            let units = self.units(of: section.blocks, format: format, budget: budget)
            for body in pack(units, budget: budget) {
                result.append(
                    TextChunk(text: body.text, position: result.count, headingPath: section.path, tokenCount: body.tokens, context: context))
            }
        }
        return result
    }

    // MARK: Sections and blocks

    struct Section {
        var path: [String]
        var blocks: [Block]
    }

    struct Block {
        var text: String
        /// Fenced code or a code file: split by lines, never by sentences.
        var isCode: Bool
    }

    static func sections(of text: String, format: TextFormat) -> [Section] {
        var sections: [Section] = []
        var path: [(level: Int, title: String)] = []
        var blocks: [Block] = []
        var lines: [Substring] = []
        var fenced = false
        var blockIsCode = format == .code

        func flushBlock() {
            let joined = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if !joined.isEmpty { blocks.append(Block(text: joined, isCode: blockIsCode)) }
            lines.removeAll()
            blockIsCode = format == .code
        }
        func flushSection() {
            flushBlock()
            if !blocks.isEmpty { sections.append(Section(path: path.map(\.title), blocks: blocks)) }
            blocks.removeAll()
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if format == .markdown, trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                if !fenced { flushBlock() }
                fenced.toggle()
                lines.append(line)
                blockIsCode = true
                if !fenced { flushBlock() }
                continue
            }
            if fenced {
                lines.append(line)
                continue
            }
            if format == .markdown, let heading = heading(trimmed) {
                flushSection()
                while let last = path.last, last.level >= heading.level { path.removeLast() }
                path.append(heading)
                continue
            }
            if trimmed.isEmpty {
                flushBlock()
                continue
            }
            lines.append(line)
        }
        flushSection()
        return sections
    }

    /// `## Title` → (2, "Title").
    static func heading(_ line: String) -> (level: Int, title: String)? {
        guard line.hasPrefix("#") else { return nil }
        let level = line.prefix { $0 == "#" }.count
        guard level <= 6 else { return nil }
        let rest = line.dropFirst(level)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var title = rest.trimmingCharacters(in: .whitespaces)
        while title.hasSuffix("#") { title.removeLast() }
        title = title.trimmingCharacters(in: .whitespaces)
        return title.isEmpty ? nil : (level, title)
    }

    // MARK: Units

    struct Unit {
        var text: String
        var tokens: Int
        var block: Int
        /// How it joins the previous unit of the same block.
        var joiner: String
    }

    func units(of blocks: [Block], format: TextFormat, budget: Int) -> [Unit] {
        var units: [Unit] = []
        for (index, block) in blocks.enumerated() {
            let tokens = count(block.text)
            if tokens <= budget {
                units.append(Unit(text: block.text, tokens: tokens, block: index, joiner: " "))
                continue
            }
            let pieces = block.isCode ? block.text.split(separator: "\n").map(String.init) : Self.sentences(block.text)
            let joiner = block.isCode ? "\n" : " "
            for piece in pieces {
                let pieceTokens = count(piece)
                if pieceTokens <= budget {
                    units.append(Unit(text: piece, tokens: pieceTokens, block: index, joiner: joiner))
                } else {
                    for words in wordWindows(piece, budget: budget) {
                        units.append(Unit(text: words.text, tokens: words.tokens, block: index, joiner: joiner))
                    }
                }
            }
        }
        return units
    }

    /// The last resort: runs of whole words up to the budget (a single over-long word is cut).
    func wordWindows(_ text: String, budget: Int) -> [(text: String, tokens: Int)] {
        var windows: [(String, Int)] = []
        var current: [Substring] = []
        var tokens = 0
        for word in text.split(whereSeparator: { $0.isWhitespace }) {
            var word = word
            var wordTokens = count(String(word))
            while wordTokens > budget {
                // A giant token (a hash, base64): cut it by characters.
                let cut = word.prefix(max(1, budget * 3))
                if !current.isEmpty { windows.append((current.joined(separator: " "), tokens)) }
                current = []
                tokens = 0
                windows.append((String(cut), count(String(cut))))
                word = word.dropFirst(cut.count)
                wordTokens = count(String(word))
            }
            if word.isEmpty { continue }
            if tokens + wordTokens > budget, !current.isEmpty {
                windows.append((current.joined(separator: " "), tokens))
                current = []
                tokens = 0
            }
            current.append(word)
            tokens += wordTokens
        }
        if !current.isEmpty { windows.append((current.joined(separator: " "), tokens)) }
        return windows
    }

    // MARK: Packing

    func pack(_ units: [Unit], budget: Int) -> [(text: String, tokens: Int)] {
        var bodies: [(String, Int)] = []
        var current: [Unit] = []
        var tokens = 0
        func render(_ units: [Unit]) -> String {
            var text = ""
            for (index, unit) in units.enumerated() {
                if index > 0 { text += units[index - 1].block == unit.block ? unit.joiner : "\n\n" }
                text += unit.text
            }
            return text
        }
        for unit in units {
            if !current.isEmpty, tokens + unit.tokens > budget {
                bodies.append((render(current), tokens))
                var tail = overlap(after: current)
                var tailTokens = tail.reduce(0) { $0 + $1.tokens }
                while !tail.isEmpty, tailTokens + unit.tokens > budget {
                    tailTokens -= tail.removeFirst().tokens
                }
                current = tail
                tokens = tailTokens
            }
            current.append(unit)
            tokens += unit.tokens
        }
        if !current.isEmpty { bodies.append((render(current), tokens)) }
        return bodies
    }

    /// Whole trailing sentences of a chunk, up to the overlap budget (never the whole chunk).
    func overlap(after chunk: [Unit]) -> [Unit] {
        guard options.overlapTokens > 0 else { return [] }
        var tail: [Unit] = []
        var tokens = 0
        for unit in chunk.reversed() {
            if tokens + unit.tokens <= options.overlapTokens, tail.count + 1 < chunk.count {
                tail.insert(unit, at: 0)
                tokens += unit.tokens
                continue
            }
            // Part of this unit: its last sentences.
            let sentences = Self.sentences(unit.text)
            guard sentences.count > 1 else { break }
            var taken: [String] = []
            for sentence in sentences.dropFirst().reversed() {
                let sentenceTokens = count(sentence)
                guard tokens + sentenceTokens <= options.overlapTokens else { break }
                taken.insert(sentence, at: 0)
                tokens += sentenceTokens
            }
            if !taken.isEmpty {
                tail.insert(
                    Unit(text: taken.joined(separator: " "), tokens: count(taken.joined(separator: " ")), block: unit.block, joiner: unit.joiner),
                    at: 0)
            }
            break
        }
        return tail
    }

    // MARK: Sentences

    private static let abbreviations: Set<String> = [
        "e.g", "i.e", "mr", "mrs", "ms", "dr", "prof", "vs", "etc", "fig", "no", "st", "jr", "sr", "inc", "ltd", "cf", "al",
    ]

    /// Splits prose at `.`, `!`, `?` followed by space and a capital, digit, quote or bracket
    /// (not after common abbreviations or initials), and before list items on their own lines.
    public static func sentences(_ text: String) -> [String] {
        var sentences: [String] = []
        let characters = Array(text)
        var start = 0
        var index = 0
        func emit(_ end: Int) {
            let sentence = String(characters[start..<end]).trimmingCharacters(in: .whitespacesAndNewlines)
            if !sentence.isEmpty { sentences.append(sentence) }
            start = end
        }
        while index < characters.count {
            let character = characters[index]
            if character == "\n" {
                // A list item or a new line that starts like a list marker begins a new sentence.
                var next = index + 1
                while next < characters.count, characters[next] == " " { next += 1 }
                if next < characters.count, ["-", "*", "+", "•"].contains(characters[next]) || isNumberedItem(characters, at: next) {
                    emit(index)
                }
                index += 1
                continue
            }
            if character == "." || character == "!" || character == "?" {
                var end = index + 1
                while end < characters.count, "\"')]”’".contains(characters[end]) { end += 1 }
                guard end < characters.count, characters[end].isWhitespace else {
                    index += 1
                    continue
                }
                var next = end
                while next < characters.count, characters[next].isWhitespace { next += 1 }
                guard next < characters.count else { break }
                let following = characters[next]
                let opensSentence = following.isUppercase || following.isNumber || "\"'([“‘".contains(following)
                if opensSentence, character != "." || !isAbbreviation(characters, endingAt: index) {
                    emit(end)
                }
                index = end
                continue
            }
            index += 1
        }
        emit(characters.count)
        return sentences
    }

    private static func isNumberedItem(_ characters: [Character], at index: Int) -> Bool {
        var cursor = index
        while cursor < characters.count, characters[cursor].isNumber { cursor += 1 }
        return cursor > index && cursor + 1 < characters.count && (characters[cursor] == "." || characters[cursor] == ")")
            && characters[cursor + 1] == " "
    }

    private static func isAbbreviation(_ characters: [Character], endingAt period: Int) -> Bool {
        var start = period
        while start > 0, characters[start - 1].isLetter || characters[start - 1] == "." { start -= 1 }
        let word = String(characters[start..<period]).lowercased()
        if word.count == 1 { return true }  // an initial: "J. Smith"
        return abbreviations.contains(word)
    }
}
