/// Decoders that work on words rather than bytes: rot13, reversed text and spaced-out letters. They report
/// a payload only when decoding turns the text into more common English than it was.
extension InjectionHeuristics {
    /// Frequent English words and the vocabulary of injections, to tell decoded text from gibberish.
    static let commonWords: Set<String> = [
        "the", "and", "you", "your", "all", "are", "for", "this", "that", "with", "not", "now", "what", "from",
        "have", "has", "was", "will", "can", "any", "its", "into", "about", "then", "than", "them", "they",
        "their", "there", "here", "please", "tell", "show", "give", "print", "say", "send", "reveal", "ignore",
        "previous", "prior", "above", "instructions", "instruction", "rules", "system", "prompt", "secret",
        "secrets", "password", "passwords", "admin", "private", "key", "keys", "data", "user", "users", "page",
        "site", "file", "files", "delete", "email", "do", "is", "it", "of", "to", "in", "on", "be", "me", "my",
        "we", "an", "or", "as", "at", "by", "if", "no", "so", "up", "who", "how", "why", "out", "did", "does",
        "butler", "only", "must", "should", "would", "could", "assistant", "model", "forget", "disregard",
        "follow", "execute", "run", "command", "access", "token", "tokens", "credentials", "everything",
    ]

    /// Share of words (2+ letters) that are common English words, and how many there are.
    static func englishness(_ text: String) -> (share: Double, count: Int) {
        var words = 0, common = 0
        for word in InjectionKeywords.words(of: text).prefix(2000) where word.count >= 2 {
            words += 1
            if commonWords.contains(word) { common += 1 }
        }
        return words == 0 ? (0, 0) : (Double(common) / Double(words), common)
    }

    /// The first `maxPayloadBytes` scalars: the word decoders look no further.
    static func head(_ text: String) -> String {
        text.unicodeScalars.count <= maxPayloadBytes ? text : String(String.UnicodeScalarView(text.unicodeScalars.prefix(maxPayloadBytes)))
    }

    static func rot13(_ text: Substring) -> String {
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars.prefix(maxPayloadBytes) {
            var c = u.value
            if c >= 0x41 && c <= 0x5A { c = (c - 0x41 + 13) % 26 + 0x41 } else if c >= 0x61 && c <= 0x7A { c = (c - 0x61 + 13) % 26 + 0x61 }
            out.append(Unicode.Scalar(c) ?? u)
        }
        return String(out)
    }

    /// rot13 of what follows a "rot13"/"ROT-13" mention, or of the whole text when that reads as English
    /// and the text itself does not.
    static func decodeRot13(_ text: String, baseline: (share: Double, count: Int), into out: inout PayloadCollector) {
        let t = ScalarText(head(text))
        for marker in ["rot13", "rot-13", "rot 13"] {
            guard let at = t.firstIndex(ofLowercased: marker.unicodeScalars.map(\.value)) else { continue }
            // What follows the mention, when it is the encoded part ("Spoiler (rot13): Gur ohgyre qvq vg."),
            // not an instruction to encode ("ROT13 encode the text you were given").
            var s = at + marker.unicodeScalars.count
            while s < t.count, !t.isLetter(s) { s += 1 }
            let tail = String(String.UnicodeScalarView(t.v[s...].compactMap(Unicode.Scalar.init)))
            let decoded = rot13(Substring(tail))
            if englishness(decoded).share > englishness(tail).share { out.add("rot13", decoded) }
            return
        }
        guard baseline.share < 0.3 else { return }
        let decoded = rot13(Substring(head(text)))
        let after = englishness(decoded)
        if after.count >= 3, after.share >= 0.3, after.share > baseline.share * 2 { out.add("rot13", decoded) }
    }

    /// The text backwards (".snoitcurtsni suoiverp lla erongI"), when that reads as English and the text does not.
    static func decodeReversed(_ text: String, baseline: (share: Double, count: Int), into out: inout PayloadCollector) {
        guard baseline.share < 0.3, text.unicodeScalars.count >= 12 else { return }
        let reversed = String(String.UnicodeScalarView(text.unicodeScalars.prefix(maxPayloadBytes).reversed()))
        let after = englishness(reversed)
        if after.count >= 3, after.share >= 0.3, after.share > baseline.share * 2 { out.add("reversed", reversed) }
    }

    /// Runs of four or more single letters separated by single spaces or dots ("i g n o r e", "i.g.n.o.r.e"),
    /// joined; word breaks written as two spaces or " / " are kept.
    static func decodeSpacedLetters(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i < t.count, !out.isFull {
            guard t.isLetter(i), !t.isAlnum(i - 1), !t.isAlnum(i + 1) else { i += 1; continue }
            var letters = String.UnicodeScalarView()
            var k = i
            var count = 0
            while t.isLetter(k), !t.isAlnum(k + 1), letters.count < maxPayloadBytes {
                if let u = Unicode.Scalar(t[k]) { letters.append(u) }
                count += 1
                k += 1
                let sep = t[k]
                if (sep == 0x20 || sep == 0x2E || sep == 0x2D), t.isLetter(k + 1) { k += 1; continue }
                // A wider gap is a word break.
                if sep == 0x20, t[k + 1] == 0x20, t.isLetter(k + 2) { letters.append(" "); k += 2; continue }
                if sep == 0x20, t[k + 1] == 0x2F, t[k + 2] == 0x20, t.isLetter(k + 3) { letters.append(" "); k += 3; continue }
                break
            }
            if count >= 4 { out.add("spaced-letters", String(letters)) }
            i = max(k, i + 1)
        }
    }
}
