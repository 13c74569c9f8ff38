/// Decoders for payloads hidden in a prompt. Each finds candidate runs in one linear pass, decodes at most
/// what fits in a payload, and keeps a result only when it reads as text (mostly printable UTF-8), so
/// hashes, images and random ids are not reported.
extension InjectionHeuristics {
    /// Hidden texts found in `text`: base64, hex (`49676e…`, `\x49\x67…`), `\uXXXX` runs, rot13 (when the
    /// text says so, or when it turns gibberish into English), ASCII85 `<~…~>`, Unicode tag characters,
    /// zero-width bit strings, reversed text, spaced-out letters and 8-bit binary.
    /// At most `maxPayloads`, each at most `maxPayloadBytes`; never traps.
    public static func decodedPayloads(in text: String) -> [DecodedPayload] {
        let t = ScalarText(text)
        var out = PayloadCollector()
        decodeTags(t, into: &out)
        decodeZeroWidth(t, into: &out)
        decodeASCII85(t, into: &out)
        decodeUnicodeEscapes(t, into: &out)
        decodeHex(t, into: &out)
        decodeBase64(t, into: &out)
        decodeBinary(t, into: &out)
        // Text that already reads as English is not rot13 or reversed as a whole (a marked rot13 part still counts).
        let baseline = englishness(head(text))
        decodeRot13(text, baseline: baseline, into: &out)
        decodeReversed(text, baseline: baseline, into: &out)
        decodeSpacedLetters(t, into: &out)
        return out.payloads
    }

    /// Applies the caps and drops duplicates.
    struct PayloadCollector {
        var payloads: [DecodedPayload] = []
        var isFull: Bool { payloads.count >= InjectionHeuristics.maxPayloads }

        mutating func add(_ encoding: String, _ text: String) {
            guard !isFull, !text.isEmpty else { return }
            var cut = text
            if cut.utf8.count > InjectionHeuristics.maxPayloadBytes {
                var bytes = 0
                var end = cut.startIndex
                for index in cut.unicodeScalars.indices {
                    let size = cut.unicodeScalars[index].utf8.count
                    if bytes + size > InjectionHeuristics.maxPayloadBytes { break }
                    bytes += size
                    end = cut.unicodeScalars.index(after: index)
                }
                cut = String(cut.unicodeScalars[..<end])
            }
            let payload = DecodedPayload(encoding: encoding, text: cut)
            if !payloads.contains(payload) { payloads.append(payload) }
        }
    }

    /// Most of it printable: letters, digits, punctuation, spaces; no control characters but tab/newline.
    static func readsAsText(_ s: String, minLength: Int = 4) -> Bool {
        var printable = 0, total = 0, letters = 0
        for u in s.unicodeScalars {
            total += 1
            if u.value == 0xFFFD { continue }
            if u.value == 0x09 || u.value == 0x0A || u.value == 0x0D || (u.value >= 0x20 && u.value < 0x7F) {
                printable += 1
            } else if u.value >= 0xA0, u.properties.isAlphabetic || u.properties.isWhitespace {
                printable += 1
            }
            if u.properties.isAlphabetic { letters += 1 }
        }
        guard total >= minLength else { return false }
        return Double(printable) >= 0.9 * Double(total) && Double(letters) >= 0.4 * Double(total)
    }

    private static func utf8Text(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    // MARK: Unicode tags and zero-width characters

    /// U+E0020…U+E007E carry invisible ASCII (U+E0041 is an invisible "A").
    static func decodeTags(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i < t.count, !out.isFull {
            guard t[i] >= 0xE0000, t[i] <= 0xE007F else { i += 1; continue }
            var bytes: [UInt8] = []
            while i < t.count, t[i] >= 0xE0000, t[i] <= 0xE007F {
                let c = t[i] - 0xE0000
                if c >= 0x20, c < 0x7F, bytes.count < maxPayloadBytes { bytes.append(UInt8(c)) }
                i += 1
            }
            if !bytes.isEmpty { out.add("unicode-tags", String(decoding: bytes, as: UTF8.self)) }
        }
    }

    private static func isZeroWidth(_ c: UInt32) -> Bool {
        c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 || c == 0xFEFF || c == 0x2062 || c == 0x2063
    }

    /// Two kinds: runs of zero-width characters that spell bits (two characters as 0 and 1, eight to a
    /// byte), and zero-width characters sprinkled inside words to break keyword filters ("ig\u{200B}nore").
    static func decodeZeroWidth(_ t: ScalarText, into out: inout PayloadCollector) {
        var sprinkled = 0
        var i = 0
        while i < t.count, !out.isFull {
            guard isZeroWidth(t[i]) else { i += 1; continue }
            let start = i
            while i < t.count, isZeroWidth(t[i]), i - start < 8 * maxPayloadBytes * 2 { i += 1 }
            if i - start < 16 { sprinkled += i - start; continue }
            var kinds: [UInt32: Int] = [:]
            for k in start..<i { kinds[t[k], default: 0] += 1 }
            let byFrequency = kinds.sorted { $0.value > $1.value }.map(\.key)
            guard byFrequency.count >= 2 else { continue }
            // Try both assignments of the two most common characters; anything else separates bytes.
            for (zero, one) in [(byFrequency[0], byFrequency[1]), (byFrequency[1], byFrequency[0])] {
                var bytes: [UInt8] = []
                var bits = 0, value = 0
                for k in start..<i {
                    let c = t[k]
                    guard c == zero || c == one else { bits = 0; value = 0; continue }
                    value = value << 1 | (c == one ? 1 : 0)
                    bits += 1
                    if bits == 8 { bytes.append(UInt8(value)); bits = 0; value = 0 }
                }
                if let s = utf8Text(bytes), readsAsText(s) { out.add("zero-width", s); break }
            }
        }
        if sprinkled >= 2 {
            var stripped = String.UnicodeScalarView()
            for k in 0..<min(t.count, maxPayloadBytes) where !isZeroWidth(t[k]) {
                if let u = Unicode.Scalar(t[k]) { stripped.append(u) }
            }
            out.add("zero-width", String(stripped))
        }
    }

    // MARK: ASCII85, \u escapes, hex, base64, binary

    /// Adobe ASCII85 between `<~` and `~>`.
    static func decodeASCII85(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i + 1 < t.count, !out.isFull {
            guard t[i] == 0x3C, t[i + 1] == 0x7E else { i += 1; continue }
            var j = i + 2
            var bytes: [UInt8] = []
            var group: [UInt32] = []
            var closed = false
            while j < t.count, bytes.count < maxPayloadBytes {
                let c = t[j]
                if c == 0x7E, t[j + 1] == 0x3E { closed = true; break }
                j += 1
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { continue }
                if c == 0x7A, group.isEmpty { bytes += [0, 0, 0, 0]; continue }
                guard c >= 0x21, c <= 0x75 else { break }
                group.append(c - 0x21)
                if group.count == 5 { bytes += ascii85Group(group, count: 4); group = [] }
            }
            if closed, !group.isEmpty, group.count > 1 {
                let n = group.count - 1
                while group.count < 5 { group.append(84) }
                bytes += ascii85Group(group, count: n)
            }
            if closed, let s = utf8Text(bytes), readsAsText(s) { out.add("ascii85", s) }
            i = max(j, i + 2)
        }
    }

    private static func ascii85Group(_ g: [UInt32], count: Int) -> [UInt8] {
        var value: UInt64 = 0
        for d in g { value = value * 85 + UInt64(d) }
        guard value <= UInt64(UInt32.max) else { return [] }
        let word = UInt32(value)
        return Array([UInt8(word >> 24), UInt8((word >> 16) & 0xFF), UInt8((word >> 8) & 0xFF), UInt8(word & 0xFF)].prefix(count))
    }

    /// Runs of two or more `\uXXXX` escapes (surrogate pairs joined).
    static func decodeUnicodeEscapes(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i < t.count, !out.isFull {
            guard isUnicodeEscape(t, i) else { i += 1; continue }
            var units: [UInt16] = []
            while isUnicodeEscape(t, i), units.count < maxPayloadBytes {
                units.append(UInt16(hexValue(t, i + 2, 4)))
                i += 6
            }
            if units.count >= 2 {
                let s = String(decoding: units, as: UTF16.self)
                if readsAsText(s, minLength: 2) { out.add("unicode-escape", s) }
            }
            while isUnicodeEscape(t, i) { i += 6 }  // past the cap
        }
    }

    private static func isUnicodeEscape(_ t: ScalarText, _ i: Int) -> Bool {
        t[i] == 0x5C && t[i + 1] == 0x75 && t.isHex(i + 2) && t.isHex(i + 3) && t.isHex(i + 4) && t.isHex(i + 5)
    }

    private static func hexValue(_ t: ScalarText, _ i: Int, _ n: Int) -> Int {
        var v = 0
        for k in i..<i + n {
            let c = t[k] | 0x20
            v = v * 16 + (c >= 0x61 ? Int(c) - 0x61 + 10 : Int(c) - 0x30)
        }
        return v
    }

    /// `49676e6f7265…` (16+ hex digits), `\x49\x67…` and `49 67 6e …` (6+ pairs).
    static func decodeHex(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i < t.count, !out.isFull {
            if t[i] == 0x5C, t[i + 1] == 0x78, t.isHex(i + 2), t.isHex(i + 3) {
                var bytes: [UInt8] = []
                while t[i] == 0x5C, t[i + 1] == 0x78, t.isHex(i + 2), t.isHex(i + 3) {
                    if bytes.count < maxPayloadBytes { bytes.append(UInt8(hexValue(t, i + 2, 2))) }
                    i += 4
                }
                if bytes.count >= 4, let s = utf8Text(bytes), readsAsText(s) { out.add("hex", s) }
                continue
            }
            guard t.isHex(i), !t.isASCIIAlnum(i - 1) else { i += 1; continue }
            // Contiguous digits, or pairs separated by single spaces.
            var j = i
            while j < t.count, t.isHex(j) { j += 1 }
            var bytes: [UInt8] = []
            if j - i >= 16, (j - i) % 2 == 0, !t.isASCIIAlnum(j) {
                var k = i
                while k + 1 < j, bytes.count < maxPayloadBytes { bytes.append(UInt8(hexValue(t, k, 2))); k += 2 }
            } else if j - i == 2 {
                var k = i
                while t.isHex(k), t.isHex(k + 1), !t.isASCIIAlnum(k + 2), bytes.count < maxPayloadBytes {
                    bytes.append(UInt8(hexValue(t, k, 2)))
                    k += 2
                    guard t[k] == 0x20, t.isHex(k + 1) else { break }
                    k += 1
                }
                if bytes.count < 6 { bytes = [] }
                j = max(j, k)
            }
            if !bytes.isEmpty, let s = utf8Text(bytes), readsAsText(s) { out.add("hex", s) }
            i = max(j, i + 1)
        }
    }

    private static func base64Value(_ c: UInt32) -> UInt8? {
        switch c {
        case 0x41...0x5A: return UInt8(c - 0x41)
        case 0x61...0x7A: return UInt8(c - 0x61 + 26)
        case 0x30...0x39: return UInt8(c - 0x30 + 52)
        case 0x2B, 0x2D: return 62  // + (and - in base64url)
        case 0x2F, 0x5F: return 63  // / (and _ in base64url)
        default: return nil
        }
    }

    /// Runs of 16+ base64 (or base64url) characters with optional `=` padding that decode to text.
    static func decodeBase64(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i < t.count, !out.isFull {
            guard base64Value(t[i]) != nil, !t.isASCIIAlnum(i - 1) else { i += 1; continue }
            var j = i
            var hasDigitOrCase = false
            while j < t.count, base64Value(t[j]) != nil {
                if t.isDigit(j) || t.isUpperASCII(j) { hasDigitOrCase = true }
                j += 1
            }
            let runEnd = j
            while t[j] == 0x3D, j - runEnd < 2 { j += 1 }
            // Plain words are base64 alphabet too: ask for length, and for digits or capitals inside.
            if runEnd - i >= 16, hasDigitOrCase {
                // Decode no more than a payload needs (4 output bytes per 3… per 4 input characters).
                let usable = min(runEnd - i, (maxPayloadBytes / 3 + 1) * 4)
                var bytes: [UInt8] = []
                bytes.reserveCapacity(usable * 3 / 4)
                var buffer: UInt32 = 0, bits = 0
                for k in i..<i + usable {
                    guard let v = base64Value(t[k]) else { break }
                    buffer = (buffer << 6) | UInt32(v)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        bytes.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
                    }
                }
                if let s = utf8Text(bytes) ?? utf8Text(Array(bytes.dropLast())), readsAsText(s, minLength: 8) {
                    out.add("base64", s)
                }
            }
            i = max(j, i + 1)
        }
    }

    /// Four or more space-separated 8-bit groups ("01001000 01101001").
    static func decodeBinary(_ t: ScalarText, into out: inout PayloadCollector) {
        var i = 0
        while i < t.count, !out.isFull {
            guard t[i] == 0x30 || t[i] == 0x31, !t.isASCIIAlnum(i - 1) else { i += 1; continue }
            var bytes: [UInt8] = []
            var k = i
            while bytes.count < maxPayloadBytes, (0..<8).allSatisfy({ t[k + $0] == 0x30 || t[k + $0] == 0x31 }), !t.isASCIIAlnum(k + 8) {
                var v: UInt8 = 0
                for b in 0..<8 { v = v << 1 | UInt8(t[k + b] - 0x30) }
                bytes.append(v)
                k += 8
                guard t[k] == 0x20 else { break }
                k += 1
            }
            if bytes.count >= 4, let s = utf8Text(bytes), readsAsText(s, minLength: 2) { out.add("binary", s) }
            i = max(k, i + 1)
        }
    }
}
