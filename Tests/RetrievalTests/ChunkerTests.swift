import Testing

@testable import Retrieval

/// Counts whitespace-separated words: a token counter whose results are easy to check by hand.
let wordCount: TokenCounter = { $0.split(whereSeparator: { $0.isWhitespace }).count }

@Suite("Recursive chunker")
struct ChunkerTests {
    func chunker(max: Int, overlap: Int = 0) -> RecursiveChunker {
        RecursiveChunker(options: ChunkingOptions(maxTokens: max, overlapTokens: overlap), count: wordCount)
    }

    @Test func headingsOpenSectionsAndChunksNeverSpanThem() {
        let text = """
            # Guide
            Intro words here.

            ## Install
            Run the installer.

            ### Linux
            Use apt.

            ## Usage
            Call it.
            """
        let chunks = chunker(max: 100).chunks(of: text, format: .markdown)
        #expect(chunks.map(\.headingPath) == [["Guide"], ["Guide", "Install"], ["Guide", "Install", "Linux"], ["Guide", "Usage"]])
        #expect(chunks.map(\.text) == ["Intro words here.", "Run the installer.", "Use apt.", "Call it."])
        #expect(chunks.map(\.position) == [0, 1, 2, 3])
        #expect(chunks[2].context == "Guide › Install › Linux")
        #expect(chunks[2].indexedText == "Guide › Install › Linux\nUse apt.")
    }

    @Test func paragraphsStayWholeWhenTheyFit() {
        let first = Array(repeating: "alpha", count: 6).joined(separator: " ") + "."
        let second = Array(repeating: "beta", count: 6).joined(separator: " ") + "."
        let third = Array(repeating: "gamma", count: 3).joined(separator: " ") + "."
        let chunks = chunker(max: 10).chunks(of: [first, second, third].joined(separator: "\n\n"), format: .plain)
        // Two paragraphs of 6 words do not fit in 10; the third (3 words) joins the second.
        #expect(chunks.map(\.text) == [first, second + "\n\n" + third])
        #expect(chunks.allSatisfy { $0.tokenCount <= 10 })
    }

    @Test func longParagraphsSplitAtSentenceEnds() {
        let sentences = (1...12).map { "Sentence number \($0) is here." }
        let chunks = chunker(max: 12).chunks(of: sentences.joined(separator: " "), format: .plain)
        #expect(chunks.count == 6)
        for chunk in chunks {
            #expect(chunk.text.hasSuffix("here."))
            #expect(chunk.text.hasPrefix("Sentence number"))
            #expect(wordCount(chunk.text) <= 12)
        }
        // Every sentence appears, in order.
        #expect(chunks.map(\.text).joined(separator: " ") == sentences.joined(separator: " "))
    }

    @Test func abbreviationsAndInitialsDoNotEndSentences() {
        let split = RecursiveChunker.sentences("Dr. Smith met J. Doe, e.g. at noon. Then they left! Did they? Yes.")
        #expect(split == ["Dr. Smith met J. Doe, e.g. at noon.", "Then they left!", "Did they?", "Yes."])
    }

    @Test func overlapRepeatsWholeTrailingSentences() {
        let sentences = (1...12).map { "Sentence number \($0) is here." }
        let chunks = chunker(max: 16, overlap: 5).chunks(of: sentences.joined(separator: " "), format: .plain)
        #expect(chunks.count > 3)
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            let last = RecursiveChunker.sentences(previous.text).last!
            #expect(next.text.hasPrefix(last), "chunk \(next.position) should start with \(last)")
            #expect(wordCount(next.text) <= 16)
        }
    }

    @Test func wordsAreTheLastResortAndRespectTheBudget() {
        let sentence = Array(repeating: "word", count: 50).joined(separator: " ")
        let chunks = chunker(max: 20).chunks(of: sentence, format: .plain)
        #expect(chunks.map { wordCount($0.text) } == [20, 20, 10])
    }

    @Test func theHeadingLineCountsAgainstTheBudget() {
        let body = (1...40).map { "w\($0)" }.joined(separator: " ")
        let chunks = chunker(max: 20).chunks(of: "# One Two Three Four\n\n" + body, format: .markdown)
        // 4 words of context + 1 for the line break leave 15 for the text.
        #expect(chunks.allSatisfy { wordCount($0.text) <= 15 })
        #expect(chunks.allSatisfy { wordCount($0.indexedText) <= 20 })
    }

    @Test func fencedCodeSplitsByLinesNotSentences() {
        let code = (1...30).map { "let value\($0) = compute(\($0)). done" }.joined(separator: "\n")
        let chunks = chunker(max: 40).chunks(of: "# Code\n\n```swift\n" + code + "\n```", format: .markdown)
        #expect(chunks.count > 1)
        for chunk in chunks {
            for line in chunk.text.split(separator: "\n") where line.hasPrefix("let") {
                #expect(line.hasSuffix(". done"), "a code line was cut: \(line)")
            }
        }
    }

    @Test func estimateIsCloseToWordPiecesOnProse() {
        #expect(TokenEstimate.wordPieces("The cat sat on the mat.") == 7)
        #expect(TokenEstimate.wordPieces("internationalization") == 4)
        #expect(TokenEstimate.wordPieces("") == 0)
    }
}
