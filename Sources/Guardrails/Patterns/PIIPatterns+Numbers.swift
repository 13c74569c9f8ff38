/// Checksummed and range-checked numbers: IBANs (mod 97), payment cards (Luhn and issuer prefixes),
/// US social security numbers (area, group and serial rules) and IP addresses.
extension PIIPatterns {
    // MARK: IBAN

    /// IBAN lengths by country (SWIFT IBAN registry); a known country must have exactly its length.
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
        "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
        "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
        "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    /// `CCkk` + BBAN, compact ("DE89370400440532013000") or in groups of four ("DE89 3704 0044 0532 0130 00").
    static func scanIBANs(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i + 4 < t.count {
            guard t.isUpperASCII(i), t.isUpperASCII(i + 1), t.isDigit(i + 2), t.isDigit(i + 3),
                !t.isAlnum(i - 1)
            else { i += 1; continue }
            // Blocks of [A-Z0-9] separated by single spaces; `ends` holds where each block ends.
            var ends: [Int] = []
            var j = i
            var total = 0
            while total <= 34 {
                let blockStart = j
                while j < t.count, t.isUpperASCII(j) || t.isDigit(j), j - blockStart <= 34 { j += 1 }
                total += j - blockStart
                ends.append(j)
                // Grouped form: another block only after a full group of four.
                guard t.isSpace(j), t.isUpperASCII(j + 1) || t.isDigit(j + 1), j - blockStart == 4 else { break }
                j += 1
            }
            let country = String(decoding: [UInt8(t[i]), UInt8(t[i + 1])], as: UTF8.self)
            var matchedEnd: Int?
            var compactLength = 0
            for (index, end) in ends.enumerated() {
                let blockStart = index == 0 ? i : ends[index - 1] + 1
                compactLength += end - blockStart
                if let expected = ibanLengths[country] {
                    if compactLength == expected { if t.numberEndClear(end), ibanChecksumValid(t, i, end) { matchedEnd = end }; break }
                    if compactLength > expected { break }
                } else if compactLength >= 15, compactLength <= 34, t.numberEndClear(end), ibanChecksumValid(t, i, end) {
                    matchedEnd = end  // keep the longest valid prefix for countries not in the table
                }
            }
            if let end = matchedEnd {
                found.append(Candidate(start: i, end: end, type: .ibanCode))
                i = end
            } else {
                i += 1
            }
        }
    }

    /// ISO 13616 check: move the first four characters to the end, letters as 10...35, the number mod 97 is 1.
    static func ibanChecksumValid(_ t: ScalarText, _ start: Int, _ end: Int) -> Bool {
        var chars: [UInt32] = []
        for k in start..<end where t[k] != 0x20 { chars.append(t[k]) }
        guard chars.count >= 15 else { return false }
        let rotated = chars[4...] + chars[..<4]
        var remainder = 0
        for c in rotated {
            if c >= 0x30 && c <= 0x39 {
                remainder = (remainder * 10 + Int(c - 0x30)) % 97
            } else if c >= 0x41 && c <= 0x5A {
                remainder = (remainder * 100 + Int(c - 0x41 + 10)) % 97
            } else {
                return false
            }
        }
        return remainder == 1
    }

    // MARK: Payment cards

    /// 13–19 digits, contiguous or in groups separated by single spaces or dashes, Luhn-valid, with an
    /// issuer prefix of a major network.
    static func scanCards(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i < t.count {
            guard t.isDigit(i), t.numberStartClear(i) else { i += 1; continue }
            // Digit groups joined by one space or dash; stop once too long to be a card.
            var groupEnds: [Int] = []
            var digits: [Int] = []
            var j = i
            while true {
                while j < t.count, t.isDigit(j) { if digits.count <= 19 { digits.append(t.digit(j)) }; j += 1 }
                groupEnds.append(j)
                guard digits.count <= 19, t[j] == 0x20 || t[j] == 0x2D, t.isDigit(j + 1) else { break }
                j += 1
            }
            // The whole run, or a prefix of it that ends at a group boundary ("… 1111 exp 12/27").
            var digitCount = 0
            var best: Int?
            var prefixDigits = 0
            for (index, end) in groupEnds.enumerated() {
                let groupStart = index == 0 ? i : groupEnds[index - 1] + 1
                prefixDigits += end - groupStart
                guard prefixDigits <= 19 else { break }
                if prefixDigits >= 13, t.numberEndClear(end), isCardNumber(Array(digits.prefix(prefixDigits))) {
                    best = end
                    digitCount = prefixDigits
                }
            }
            if let end = best, digitCount > 0 {
                found.append(Candidate(start: i, end: end, type: .creditCard))
            }
            i = max(j, i + 1)
        }
    }

    /// Luhn plus the issuer prefix and length rules of Visa, Mastercard (51–55, 2221–2720), Amex,
    /// Discover, JCB, Diners Club and UnionPay.
    static func isCardNumber(_ d: [Int]) -> Bool {
        let n = d.count
        guard n >= 13, n <= 19, luhnValid(d) else { return false }
        func prefix(_ k: Int) -> Int { d.prefix(k).reduce(0) { $0 * 10 + $1 } }
        let p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6)
        if d[0] == 4 { return n == 13 || n == 16 || n == 19 }  // Visa
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return n == 16 }  // Mastercard
        if p2 == 34 || p2 == 37 { return n == 15 }  // American Express
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 || (622126...622925).contains(p6) {
            return n >= 16  // Discover
        }
        if (3528...3589).contains(p4) { return n >= 16 }  // JCB
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 || p4 == 3095 { return n >= 14 }  // Diners
        if p2 == 62 { return n >= 16 }  // UnionPay
        return false
    }

    static func luhnValid(_ d: [Int]) -> Bool {
        var sum = 0
        for (k, digit) in d.reversed().enumerated() {
            if k % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    // MARK: US SSN

    /// `ddd-dd-dddd` or `ddd dd dddd`; nine bare digits only after a word that says SSN.
    static func scanSSNs(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i + 8 < t.count {
            guard t.isDigit(i), t.numberStartClear(i) else { i += 1; continue }
            let run = t.digitsEnd(from: i)
            if run - i == 3, t[run] == 0x2D || t[run] == 0x20 {
                let sep = t[run]
                let g = run + 1
                if t.digitsEnd(from: g) == g + 2, t[g + 2] == sep, t.digitsEnd(from: g + 3) == g + 7, t.numberEndClear(g + 7),
                    ssnValid(t.number(i..<i + 3), t.number(g..<g + 2), t.number(g + 3..<g + 7))
                {
                    // Spaced SSN-shaped numbers are common in other data: ask for context as for bare digits.
                    if sep == 0x2D || hasSSNContext(t, before: i) {
                        found.append(Candidate(start: i, end: g + 7, type: .usSSN))
                    }
                    i = g + 7
                    continue
                }
            } else if run - i == 9, t.numberEndClear(run), hasSSNContext(t, before: i),
                ssnValid(t.number(i..<i + 3), t.number(i + 3..<i + 5), t.number(i + 5..<i + 9))
            {
                found.append(Candidate(start: i, end: run, type: .usSSN))
            }
            i = max(run, i + 1)
        }
    }

    /// Area 001–899 except 666, group 01–99, serial 0001–9999 (SSA rules since 2011).
    static func ssnValid(_ area: Int, _ group: Int, _ serial: Int) -> Bool {
        area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
    }

    private static let ssnContextWords = ["ssn", "social", "sozialversicherung", "ss#", "ss #", "ss no", "tax id", "taxpayer"]

    /// "SSN", "social security" within the 40 scalars before `start`.
    static func hasSSNContext(_ t: ScalarText, before start: Int) -> Bool {
        let window = t.lowered(max(0, start - 40)..<start)
        return ssnContextWords.contains { window.contains($0) }
    }

    // MARK: IP addresses

    static func scanIPs(_ t: ScalarText, into found: inout [Candidate]) {
        scanIPv4(t, into: &found)
        scanIPv6(t, into: &found)
    }

    /// Four dot-separated octets 0–255 without leading zeros, not part of a longer dotted number and
    /// not right after "version"/"v" ("firmware 3.10.257.12" fails the octet check anyway).
    static func scanIPv4(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i < t.count {
            guard t.isDigit(i), t.numberStartClear(i) else { i += 1; continue }
            var j = i
            var ok = true
            for part in 0..<4 {
                let end = t.digitsEnd(from: j)
                let len = end - j
                if len < 1 || len > 3 || (len > 1 && t[j] == 0x30) || t.number(j..<end) > 255 { ok = false; j = max(end, j + 1); break }
                j = end
                if part < 3 {
                    guard t[j] == 0x2E, t.isDigit(j + 1) else { ok = false; break }
                    j += 1
                }
            }
            // A port or a CIDR prefix length may follow ("10.0.0.1:8080", "10.0.0.0/8"); the address ends before it.
            let suffixEnd = t.digitsEnd(from: j + 1)
            let portFollows = t[j] == 0x3A && t.isDigit(j + 1) && !t.isHex(suffixEnd) && t[suffixEnd] != 0x3A
            let prefixFollows = t[j] == 0x2F && suffixEnd - j - 1 <= 2 && t.number(j + 1..<suffixEnd) <= 32 && t.numberEndClear(suffixEnd)
            if ok, t.numberEndClear(j) || portFollows || (t.isDigit(j + 1) && prefixFollows), !looksLikeVersion(t, before: i) {
                found.append(Candidate(start: i, end: j, type: .ipAddress))
                i = j
            } else {
                // Skip the rest of this dotted run so its tail is not read as a fresh address.
                var k = i
                while k < t.count, t.isDigit(k) || (t[k] == 0x2E && t.isDigit(k + 1)) { k += 1 }
                i = max(k, i + 1)
            }
        }
    }

    private static func looksLikeVersion(_ t: ScalarText, before start: Int) -> Bool {
        let window = t.lowered(max(0, start - 12)..<start)
        return window.hasSuffix("v") || window.contains("version") || window.contains("firmware") || window.contains("release")
    }

    /// Full and `::`-compressed IPv6 (with an optional dotted IPv4 tail), validated group by group.
    static func scanIPv6(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i < t.count {
            guard t.isHex(i) || t[i] == 0x3A, !t.isAlnum(i - 1), t[i - 1] != 0x3A, t[i - 1] != 0x5F else { i += 1; continue }
            var j = i
            var colons = 0
            while j < t.count, j - i < 60, t.isHex(j) || t[j] == 0x3A || (t[j] == 0x2E && t.isDigit(j + 1)) {
                if t[j] == 0x3A { colons += 1 }
                j += 1
            }
            var end = j
            // A sentence may end right after the address ("… at fe80::1:"), but "::" is part of it.
            if end > i, t[end - 1] == 0x3A, t[end - 2] != 0x3A { end -= 1 }
            if colons >= 2, !t.isAlnum(end), t[end] != 0x5F, isValidIPv6(t, i, end) {
                found.append(Candidate(start: i, end: end, type: .ipAddress))
            }
            i = max(j, i + 1)
        }
    }

    static func isValidIPv6(_ t: ScalarText, _ start: Int, _ end: Int) -> Bool {
        let text = String(decoding: (start..<end).map { UInt8(truncatingIfNeeded: t[$0]) }, as: UTF8.self)
        var body = Substring(text)
        var groupsNeeded = 8
        // An embedded IPv4 tail counts as two groups.
        if let lastColon = body.lastIndex(of: ":"), body[lastColon...].contains(".") {
            let v4 = body[body.index(after: lastColon)...]
            let octets = v4.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && (Int($0) ?? 256) <= 255 }) else { return false }
            body = body[..<body.index(after: lastColon)]
            if body.hasSuffix(":") && !body.hasSuffix("::") { body = body.dropLast() }
            groupsNeeded = 6
        }
        let halves = body.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ s: String) -> [Substring]? {
            if s.isEmpty { return [] }
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 }) else { return nil }
            return parts
        }
        if halves.count == 1 {
            guard let g = groups(halves[0]) else { return false }
            return g.count == groupsNeeded
        }
        guard let left = groups(halves[0]), let right = groups(halves[1]) else { return false }
        let total = left.count + right.count
        // "::" alone or a C++ scope ("a::b") is not an address: ask for digits or three groups.
        guard total < groupsNeeded, total >= 1 else { return false }
        let hasDigit = text.contains { $0.isNumber }
        return hasDigit && (total >= 2 || groupsNeeded == 6 || body.hasPrefix("::") || body.hasSuffix("::"))
    }
}
