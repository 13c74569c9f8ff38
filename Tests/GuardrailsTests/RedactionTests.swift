import Testing

@testable import Guardrails

/// Finds e-mail addresses by a plain scan (a word with `@` and a dot after it) and the names in
/// `names`; reports scalar offsets, as the real detectors do.
struct ScanningDouble {
    var names: [String] = ["Alice", "Bob"]

    func scan(_ text: String) -> [PIISpan] {
        let scalars = Array(text.unicodeScalars)
        var spans: [PIISpan] = []
        var index = 0
        func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-"
                || scalar == "@" || scalar == "+"
        }
        while index < scalars.count {
            guard isWordScalar(scalars[index]) else {
                index += 1
                continue
            }
            var end = index
            while end < scalars.count, isWordScalar(scalars[end]) { end += 1 }
            var word = String(String.UnicodeScalarView(scalars[index..<end]))
            var wordEnd = end
            while word.hasSuffix(".") {
                word.removeLast()
                wordEnd -= 1
            }
            if let at = word.firstIndex(of: "@"), word[at...].dropFirst().contains("."), at > word.startIndex {
                spans.append(PIISpan(start: index, end: wordEnd, type: .emailAddress))
            } else if names.contains(word) {
                spans.append(PIISpan(start: index, end: wordEnd, type: .person))
            }
            index = end
        }
        return spans
    }
}

@Suite("Redaction and masking")
struct RedactionTests {
    let detector = ScanningDouble()

    @Test func redactReplacesEachValueWithItsLabel() {
        let text = "Mail bob@example.com or alice@example.org, Alice."
        #expect(Redactor.redact(text, spans: detector.scan(text)) == "Mail [EMAIL_ADDRESS] or [EMAIL_ADDRESS], [PERSON].")
    }

    @Test func offsetsAreUnicodeScalarsNotUTF16() {
        // 🦊 is one scalar but two UTF-16 units; 🇫🇷 is two scalars but one Character.
        let text = "🦊🇫🇷 é bob@example.com 🦊"
        let spans = detector.scan(text)
        #expect(spans.first?.start == 6)
        #expect(Redactor.redact(text, spans: spans) == "🦊🇫🇷 é [EMAIL_ADDRESS] 🦊")
    }

    @Test func badSpansAreIgnoredNeverATrap() {
        let text = "short"
        let spans = [
            PIISpan(start: -1, end: 2, type: .person), PIISpan(start: 3, end: 99, type: .person), PIISpan(start: 2, end: 2, type: .person),
            PIISpan(start: 0, end: 3, type: .person), PIISpan(start: 1, end: 4, type: .emailAddress),
        ]
        #expect(Redactor.redact(text, spans: spans) == "[PERSON]rt")
    }

    @Test func maskGivesTheSameValueTheSamePlaceholderAcrossTexts() {
        var masker = Masker()
        let first = "Alice wrote to bob@example.com."
        let second = "Reply to bob@example.com and Bob, cc carol@example.com."
        let maskedFirst = masker.mask(first, spans: detector.scan(first))
        let maskedSecond = masker.mask(second, spans: detector.scan(second))
        #expect(maskedFirst == "[PERSON_1] wrote to [EMAIL_ADDRESS_1].")
        #expect(maskedSecond == "Reply to [EMAIL_ADDRESS_1] and [PERSON_2], cc [EMAIL_ADDRESS_2].")
        #expect(masker.originals["[EMAIL_ADDRESS_2]"] == "carol@example.com")
        #expect(masker.rehydrator.rehydrate(maskedSecond) == second)
    }

    @Test func maskSkipsPlaceholdersTheTextAlreadySpells() {
        var masker = Masker()
        let text = "[PERSON_1] is a literal; Alice is a name."
        let masked = masker.mask(text, spans: detector.scan(text))
        #expect(masked == "[PERSON_1] is a literal; [PERSON_2] is a name.")
        #expect(masker.rehydrator.rehydrate(masked) == text)
    }

    @Test func rehydrateLeavesUnknownBracketsAlone() {
        let rehydrator = Rehydrator(originals: ["[PERSON_1]": "Alice"])
        #expect(rehydrator.rehydrate("[[PERSON_1]] [PERSON_2] [x] [") == "[Alice] [PERSON_2] [x] [")
    }

    @Test(arguments: [1, 2, 3, 5, 7])
    func streamRehydratesPlaceholdersSplitAcrossDeltas(size: Int) {
        let rehydrator = Rehydrator(originals: ["[PERSON_1]": "Alice 🦊", "[EMAIL_ADDRESS_1]": "a@b.co"])
        let text = "Dear [PERSON_1], write [EMAIL_ADDRESS_1] [or] [PERSON_9] 🇫🇷 [PERS"
        let scalars = Array(text.unicodeScalars)
        var stream = rehydrator.stream()
        var output = ""
        var index = 0
        var maxHeld = 0
        while index < scalars.count {
            let end = min(scalars.count, index + size)
            output += stream.feed(String(String.UnicodeScalarView(scalars[index..<end])))
            maxHeld = max(maxHeld, stream.heldBack)
            index = end
        }
        output += stream.finish()
        #expect(output == rehydrator.rehydrate(text))
        #expect(output == "Dear Alice 🦊, write a@b.co [or] [PERSON_9] 🇫🇷 [PERS")
        #expect(maxHeld < "[EMAIL_ADDRESS_1]".count)
    }

    @Test func streamHoldsBackOnlyAPossiblePlaceholderPrefix() {
        var stream = Rehydrator(originals: ["[PERSON_1]": "Alice"]).stream()
        #expect(stream.feed("Hello [x") == "Hello [x")
        #expect(stream.feed(" and [PER") == " and ")
        #expect(stream.heldBack == 4)
        #expect(stream.feed("SON_1]!") == "Alice!")
    }
}

@Suite("Output windows")
struct OutputWindowTests {
    let detector = ScanningDouble()

    func run(_ text: String, size: Int, window: Int, treatment: OutputWindow.Treatment) -> (String, [PIISpan], Int) {
        var filter = OutputWindow(window: window, treatment: treatment)
        let scalars = Array(text.unicodeScalars)
        var output = ""
        var found: [PIISpan] = []
        var maxHeld = 0
        var index = 0
        while index < scalars.count {
            let end = min(scalars.count, index + size)
            let step = filter.feed(String(String.UnicodeScalarView(scalars[index..<end])), scan: detector.scan)
            output += step.text
            found += step.found
            maxHeld = max(maxHeld, filter.heldBack)
            index = end
        }
        let last = filter.finish(scan: detector.scan)
        return (output + last.text, found + last.found, maxHeld)
    }

    @Test(arguments: [1, 3, 8, 50])
    func valuesSplitAcrossDeltasAreRedacted(size: Int) {
        let text = String(repeating: "lorem ipsum ", count: 12) + "write to bob@example.com or 🦊 alice@example.org now. " + String(repeating: "dolor ", count: 20)
        let (output, found, maxHeld) = run(text, size: size, window: 32, treatment: .redact)
        #expect(output == Redactor.redact(text, spans: detector.scan(text)))
        #expect(!output.contains("@example"))
        #expect(found.count == 2)
        #expect(maxHeld <= 2 * 32 + size + "alice@example.org".count)
    }

    @Test func keepLetsTextThroughAndReportsFindings() {
        let text = "contact bob@example.com please " + String(repeating: "x ", count: 60)
        let (output, found, _) = run(text, size: 4, window: 16, treatment: .keep)
        #expect(output == text)
        #expect(found.map(\.type) == [.emailAddress])
    }
}
