/// A text as an array of Unicode scalar values, so that every index is a code-point offset — the unit
/// `PIISpan` reports — and the scanners can look around a position in O(1) instead of walking `String`
/// indices.
struct ScalarText {
    let v: [UInt32]
    var count: Int { v.count }

    init(_ text: String) {
        var values: [UInt32] = []
        values.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { values.append(scalar.value) }
        v = values
    }

    /// The scalar at `i`, or 0 outside the text, so that look-arounds need no bounds checks.
    @inline(__always) subscript(_ i: Int) -> UInt32 { i >= 0 && i < v.count ? v[i] : 0 }

    @inline(__always) func isDigit(_ i: Int) -> Bool { let c = self[i]; return c >= 0x30 && c <= 0x39 }
    @inline(__always) func digit(_ i: Int) -> Int { Int(self[i]) - 0x30 }
    @inline(__always) func isUpperASCII(_ i: Int) -> Bool { let c = self[i]; return c >= 0x41 && c <= 0x5A }
    @inline(__always) func isLowerASCII(_ i: Int) -> Bool { let c = self[i]; return c >= 0x61 && c <= 0x7A }
    @inline(__always) func isASCIILetter(_ i: Int) -> Bool { isUpperASCII(i) || isLowerASCII(i) }
    @inline(__always) func isASCIIAlnum(_ i: Int) -> Bool { isDigit(i) || isASCIILetter(i) }
    @inline(__always) func isHex(_ i: Int) -> Bool {
        let c = self[i] | 0x20
        return isDigit(i) || (c >= 0x61 && c <= 0x66)
    }
    @inline(__always) func isSpace(_ i: Int) -> Bool { self[i] == 0x20 }
    @inline(__always) func `is`(_ i: Int, _ ch: Character) -> Bool { self[i] == ch.unicodeScalars.first?.value }

    /// Letters in any script (names and street words are often not ASCII: "Jäämerentie", "Κλεομένους").
    func isLetter(_ i: Int) -> Bool {
        let c = self[i]
        if c < 0x80 { return isASCIILetter(i) }
        guard let scalar = Unicode.Scalar(c) else { return false }
        return scalar.properties.isAlphabetic
    }

    func isUpperLetter(_ i: Int) -> Bool {
        let c = self[i]
        if c < 0x80 { return isUpperASCII(i) }
        guard let scalar = Unicode.Scalar(c) else { return false }
        return scalar.properties.isUppercase
    }

    func isAlnum(_ i: Int) -> Bool { isDigit(i) || isLetter(i) }

    /// A number may start at `i`: nothing alphanumeric glued to its left, and no `-`, `.` or `/` after a
    /// letter or digit that would make it the tail of a longer token ("ORD-2025-230781", "v3.10"), nor a
    /// `:` right after a digit ("10:30"). Commas separate fields ("Doe,4111…,1985-03-14"), and a colon
    /// after a word is a label ("SSN:123-45-6789").
    func numberStartClear(_ i: Int) -> Bool {
        if i <= 0 { return true }
        if isAlnum(i - 1) || self[i - 1] == 0x5F { return false }
        let c = self[i - 1]
        if c == 0x2D || c == 0x2E || c == 0x2F, isAlnum(i - 2) { return false }
        if c == 0x3A, isDigit(i - 2) { return false }
        return true
    }

    /// A number may end at `end` (exclusive): nothing alphanumeric glued to its right, and no `-`, `.`,
    /// `/` or `:` followed by another digit ("3.10.257.12", "12-34"). A comma may follow (CSV fields).
    func numberEndClear(_ end: Int) -> Bool {
        if end >= count { return true }
        if isAlnum(end) || self[end] == 0x5F { return false }
        let c = self[end]
        if c == 0x2D || c == 0x2E || c == 0x2F || c == 0x3A, isDigit(end + 1) { return false }
        return true
    }

    /// End of the digit run starting at `i`.
    func digitsEnd(from i: Int) -> Int {
        var j = i
        while j < count && isDigit(j) { j += 1 }
        return j
    }

    /// Integer value of the digits in `range` (at most 18 digits are read, so no overflow).
    func number(_ range: Range<Int>) -> Int {
        var n = 0
        for k in range.prefix(18) { n = n * 10 + digit(k) }
        return n
    }

    /// ASCII-lowercased text of `range`, for context words (non-ASCII scalars kept as they are).
    func lowered(_ range: Range<Int>) -> String {
        let lo = max(0, range.lowerBound), hi = min(count, range.upperBound)
        guard lo < hi else { return "" }
        var s = String.UnicodeScalarView()
        for k in lo..<hi {
            var c = v[k]
            if c >= 0x41 && c <= 0x5A { c += 0x20 }
            if let scalar = Unicode.Scalar(c) { s.append(scalar) }
        }
        return String(s)
    }

    /// Whether `word` (lowercase) occurs in `range` at the start of a word, ASCII case-insensitively:
    /// "ring" in "ring me" but not in "string". A longer word may follow ("calling", "phone:").
    func containsWord(_ word: [UInt32], in range: Range<Int>) -> Bool {
        let lo = max(0, range.lowerBound), hi = min(count, range.upperBound)
        guard let first = word.first, hi - lo >= word.count else { return false }
        var k = lo
        while k + word.count <= hi {
            defer { k += 1 }
            guard lowerASCII(k) == first, k == lo || !isAlnum(k - 1) || !isAlnum(k) else { continue }
            var ok = true
            for (n, w) in word.enumerated() where lowerASCII(k + n) != w { ok = false; break }
            if ok { return true }
        }
        return false
    }

    @inline(__always) func lowerASCII(_ i: Int) -> UInt32 {
        let c = self[i]
        return c >= 0x41 && c <= 0x5A ? c + 0x20 : c
    }

    /// First position of `needle` (lowercase) at or after `from`, ASCII case-insensitively.
    func firstIndex(ofLowercased needle: [UInt32], from: Int = 0) -> Int? {
        guard let first = needle.first, needle.count <= count else { return nil }
        var k = max(0, from)
        while k + needle.count <= count {
            if lowerASCII(k) == first {
                var ok = true
                for n in 1..<needle.count where lowerASCII(k + n) != needle[n] { ok = false; break }
                if ok { return k }
            }
            k += 1
        }
        return nil
    }
}
