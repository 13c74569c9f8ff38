/// Phone numbers: international (`+CC …`), North American, trunk-prefixed national numbers
/// ("0151 23456789", "(02) 9876 5432") and, next to a word that says phone, short local numbers.
///
/// What must not become a phone: invalid SSNs ("681-53-0000"), order and tracking numbers, ISBNs,
/// amounts, dates and card-like numbers. So bare digit groups count only with a phone word around
/// them, and numbers near "order", "ISBN", "invoice"… never do.
extension PIIPatterns {
    /// One run of digit groups as a phone number would be written.
    struct DigitRun {
        var start: Int
        var plus = false
        /// Each group's range and whether it was in parentheses.
        var groups: [(range: Range<Int>, paren: Bool)] = []
        /// The separator scalar before each group after the first (0 when none, as after ")").
        var seps: [UInt32] = []
        var end: Int { groups.last?.range.upperBound.advanced(by: groups.last?.paren == true ? 1 : 0) ?? start }
        var digitCount: Int { groups.reduce(0) { $0 + $1.range.count } }
    }

    static func scanPhones(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i < t.count {
            let c = t[i]
            let startsRun = ((c == 0x2B || c == 0x28) && t.isDigit(i + 1)) || t.isDigit(i)
            // A digit right after "+" belongs to the run that starts at the "+".
            guard startsRun, t.numberStartClear(i), t[i - 1] != 0x2B else { i += 1; continue }
            let run = readRun(t, from: i)
            // The whole run only: a prefix of a longer digit run (an IBAN's or a card's groups) is not a phone.
            var matched = false
            if t.numberEndClear(run.end), isPhone(t, run) {
                found.append(Candidate(start: run.start, end: run.end, type: .phoneNumber))
                i = run.end
                matched = true
            }
            if !matched { i = max(run.end, i + 1) }
        }
    }

    /// Reads `+`, digit groups, `(ddd)` groups and single separators (space, dash, dot, slash).
    static func readRun(_ t: ScalarText, from start: Int) -> DigitRun {
        var run = DigitRun(start: start)
        var j = start
        if t[j] == 0x2B { run.plus = true; j += 1 }
        var pendingSep: UInt32 = 0
        while run.groups.count < 12 {
            if t[j] == 0x28, t.isDigit(j + 1) {
                let e = t.digitsEnd(from: j + 1)
                guard t[e] == 0x29, e - j - 1 <= 5 else { break }
                if !run.groups.isEmpty { run.seps.append(pendingSep) }
                run.groups.append((j + 1..<e, true))
                j = e + 1
            } else if t.isDigit(j) {
                let e = t.digitsEnd(from: j)
                if !run.groups.isEmpty { run.seps.append(pendingSep) }
                run.groups.append((j..<e, false))
                let longGroup = e - j > 15
                j = e
                if longGroup { break }
            } else {
                break
            }
            // A separator counts only when another group follows it.
            let s = t[j]
            if s == 0x20 || s == 0x2D || s == 0x2E || s == 0x2F, t.isDigit(j + 1) || (t[j + 1] == 0x28 && t.isDigit(j + 2)) {
                pendingSep = s
                j += 1
            } else if run.groups.last?.paren == true, t.isDigit(j) {
                pendingSep = 0
            } else {
                break
            }
        }
        return run
    }

    static func isPhone(_ t: ScalarText, _ run: DigitRun) -> Bool {
        let lengths = run.groups.map { $0.range.count }
        let digits = run.digitCount
        let seps = Set(run.seps)
        guard !lengths.isEmpty, lengths.allSatisfy({ $0 <= 12 }) else { return false }
        // Slashes belong to dates and fractions, not to the phone formats handled here.
        if seps.contains(0x2F) { return false }

        if run.plus {
            // E.164: country code + national number, 8–15 digits; a country code never starts with 0.
            guard t[run.start + 1] != 0x30, digits >= 8, digits <= 15 else { return false }
            if lengths.count == 1 && digits < 10 { return false }
            // Dots in international numbers only as the dotted-pairs style; never mixed with dashes.
            if seps.contains(0x2E) && seps.contains(0x2D) { return false }
            return !hasNonPhoneContext(t, before: run.start)
        }

        if isNANP(t, run, lengths) { return !hasNonPhoneContext(t, before: run.start) }

        // "00" is the international prefix outside North America: "0049 30 1234567".
        if t[run.start] == 0x30, t[run.start + 1] == 0x30, t[run.start + 2] != 0x30, lengths.count >= 2, lengths[0] >= 3,
            digits >= 11, digits <= 17, !seps.contains(0x2E)
        {
            return !hasNonPhoneContext(t, before: run.start)
        }

        // Shapes that are something else, whatever the context says: SSN-like 3-2-4, dotted version-like runs.
        if lengths == [3, 2, 4] { return false }
        let dottedPairs = seps == [0x2E] && lengths.allSatisfy { $0 == 2 } && lengths.count >= 4
        if seps.contains(0x2E) && !dottedPairs { return false }

        // National numbers with a trunk prefix: "0151 23456789", "07700 900123", "(02) 9876 5432", "02.36.65.22.11".
        let firstDigit = t[run.groups[0].range.lowerBound]
        if firstDigit == 0x30, lengths.count >= 2, lengths[0] >= 2, lengths[0] <= 5, digits >= 9, digits <= 12 {
            return !hasNonPhoneContext(t, before: run.start)
        }

        // Anything else needs a phone word before or after it.
        guard digits >= 6, digits <= 13 else { return false }
        if lengths.count == 1 ? digits < 7 : !lengths.allSatisfy({ $0 >= 2 }) { return false }
        return hasPhoneContext(t, run) && !hasNonPhoneContext(t, before: run.start)
    }

    static func isNANP(_ t: ScalarText, _ run: DigitRun, _ lengths: [Int]) -> Bool {
        var groups = run.groups
        var seps = run.seps
        if lengths.count == 4, lengths[0] == 1, t[groups[0].range.lowerBound] == 0x31 {
            groups.removeFirst()
            seps.removeFirst()
        }
        guard groups.count == 3, groups.map({ $0.range.count }) == [3, 3, 4], !groups[1].paren, !groups[2].paren else { return false }
        guard t.digit(groups[0].range.lowerBound) >= 2 else { return false }
        if groups[0].paren { return seps[1] != 0x2E || seps[0] == 0x2E }
        // Without parentheses the two separators agree ("555-123-4567", not "555 123-4567").
        return seps[0] == seps[1] && seps[0] != 0
    }


    private static func words(_ list: [String]) -> [[UInt32]] { list.map { $0.unicodeScalars.map(\.value) } }

    private static let phoneWords = words([
        "phone", "tel", "mobile", "cell", "fax", "call", "text", "sms", "whatsapp", "contact", "reach",
        "ring", "dial", "handy", "telefon", "téléphone", "portable", "teléfono", "telefono", "cellulare", "móvil",
    ])
    private static let phoneWordsAfter = words(["office", "fax", "mobile", "cell", "home", "work", "phone", "tel"])
    private static let possessiveNumber = words([
        "my number", "his number", "her number", "your number", "their number", "our number", "number:",
    ])
    private static let nonPhoneWords = words([
        "order", "invoice", "isbn", "tracking", "batch", "serial", "reference", "account", "acct", "ticket",
        "policy", "customer", "member", "booking", "confirmation", "version", "firmware", "build", "sku",
        "total", "amount", "price", "balance", "$", "€", "£", "eur", "usd", "ssn", "social security", "card",
        "iban", "id:", "no.", "#",
    ])

    /// A phone word at a word start in the 32 scalars before (same sentence; "Phone:\n" counts) or a line
    /// label like "office"/"mobile" right after. "Her number is" counts; "order number is" does not.
    static func hasPhoneContext(_ t: ScalarText, _ run: DigitRun) -> Bool {
        let before = sentenceStart(t, before: run.start, length: 32)..<run.start
        if phoneWords.contains(where: { t.containsWord($0, in: before) }) { return true }
        if possessiveNumber.contains(where: { t.containsWord($0, in: before) }) { return true }
        var a = run.end
        if t[a] == 0x20 { a += 1 }
        return phoneWordsAfter.contains { t.containsWord($0, in: a..<a + $0.count) }
    }

    static func hasNonPhoneContext(_ t: ScalarText, before start: Int) -> Bool {
        let before = sentenceStart(t, before: start, length: 24)..<start
        return nonPhoneWords.contains { t.containsWord($0, in: before) }
    }

    /// Where the window of `length` scalars before `start` begins, cut at the last sentence end (". ", "? ", "! ").
    static func sentenceStart(_ t: ScalarText, before start: Int, length: Int) -> Int {
        var s = start
        while s > 0, start - s < length {
            let c = t[s - 1]
            if (c == 0x2E || c == 0x3F || c == 0x21), t[s] == 0x20 || t[s] == 0x0A { break }
            s -= 1
        }
        return s
    }
}
