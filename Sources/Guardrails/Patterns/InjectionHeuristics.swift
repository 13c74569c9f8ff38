/// Cheap, deterministic signals for the injection detector: payloads hidden in encodings, a keyword score
/// from strong multilingual phrases, and a count of invisible characters.
///
/// These are features for the learned classifier and a fallback when it cannot run, not a verdict: the
/// keyword score stays low on texts that merely talk about ignoring things ("ignore case when sorting",
/// "make git ignore .env") and only rises on phrases aimed at an assistant's instructions.
public enum InjectionHeuristics {
    /// At most this many payloads are returned per text.
    public static let maxPayloads = 64
    /// Each payload's text is cut to this many bytes of UTF-8.
    public static let maxPayloadBytes = 4096

    // MARK: Invisible characters

    /// Unicode tag characters, zero-width characters and bidirectional overrides/isolates in `text`: the
    /// characters used to hide instructions from a human reader.
    public static func invisibleCharacterCount(_ text: String) -> Int {
        var n = 0
        for s in text.unicodeScalars where isInvisible(s.value) { n += 1 }
        return n
    }

    static func isInvisible(_ c: UInt32) -> Bool {
        switch c {
        case 0xE0000...0xE007F: return true  // tag characters
        case 0x200B...0x200F, 0x2060...0x2064, 0xFEFF, 0x180E, 0x034F: return true  // zero-width, LRM/RLM, joiners
        case 0x202A...0x202E, 0x2066...0x2069: return true  // bidi embeddings, overrides, isolates
        default: return false
        }
    }

    // MARK: Keyword score

    /// 0…1 from a small set of strong signals (English, German, French, Spanish, Italian): overriding
    /// previous instructions, persona switches ("you are now", DAN, developer mode), system-prompt
    /// extraction, fake system markers and notes addressed to an AI. Independent signals combine as
    /// `1 - Π(1 - wᵢ)`.
    public static func keywordScore(_ text: String) -> Double {
        let words = InjectionKeywords.words(of: text)
        var miss = 1.0
        for signal in InjectionKeywords.matchingSignals(words) { miss *= 1 - signal.weight }
        let t = ScalarText(text)
        for marker in InjectionKeywords.markers(in: t) { miss *= 1 - marker.weight }
        // "DAN" the persona is written in capitals; "Dan" is a name.
        if hasCapitalDAN(t) { miss *= 1 - 0.55 }
        return min(1, max(0, 1 - miss))
    }

    private static func hasCapitalDAN(_ t: ScalarText) -> Bool {
        var k = 0
        while k + 2 < t.count {
            if t[k] == 0x44, t[k + 1] == 0x41, t[k + 2] == 0x4E, !t.isLetter(k - 1), !t.isLetter(k + 3) { return true }
            k += 1
        }
        return false
    }
}
