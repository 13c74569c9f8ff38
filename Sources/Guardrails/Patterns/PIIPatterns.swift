/// The deterministic PII tier: hand-written scanners with checksums and context rules for the kinds of
/// personal data a pattern can find precisely (e-mail, IP, card, IBAN, SSN, phone, date, secrets and the
/// regular parts of street addresses). Names, places and free-form addresses are the NER head's job.
///
/// The scanners work on the text's Unicode scalars, so every offset is a code point offset, and they run
/// in linear time on any input (no regex back-tracking, bounded look-arounds).
public enum PIIPatterns {
    /// Personal data in `text`: non-overlapping spans sorted by start, offsets in Unicode scalars.
    ///
    /// Where two findings overlap, the more trustworthy kind wins (checksummed numbers before phones,
    /// dates before phones — "02.12.1935" is both), then the longer span.
    public static func find(in text: String) -> [PIISpan] {
        let t = ScalarText(text)
        guard t.count > 0 else { return [] }
        var found: [Candidate] = []
        scanSecrets(t, into: &found)
        scanEmails(t, into: &found)
        scanIBANs(t, into: &found)
        scanCards(t, into: &found)
        scanIPs(t, into: &found)
        scanSSNs(t, into: &found)
        scanDates(t, into: &found)
        scanPhones(t, into: &found)
        scanAddresses(t, into: &found)
        return resolve(found, length: t.count)
    }

    /// One finding before overlaps are settled.
    struct Candidate {
        var start: Int
        var end: Int
        var type: PIIType
        var score: Double = 1

        /// Higher wins an overlap.
        var rank: Int {
            switch type {
            case .secret: return 100
            case .emailAddress: return 90
            case .ibanCode: return 85
            case .creditCard: return 80
            case .ipAddress: return 75
            case .usSSN: return 70
            case .dateTime: return 60
            case .phoneNumber: return 50
            case .address: return 40
            default: return 10
            }
        }
    }

    /// Keeps the best of overlapping candidates: by rank, then length, then position.
    static func resolve(_ found: [Candidate], length: Int) -> [PIISpan] {
        guard !found.isEmpty else { return [] }
        let ordered = found.filter { $0.start >= 0 && $0.end <= length && $0.start < $0.end }.sorted {
            if $0.rank != $1.rank { return $0.rank > $1.rank }
            if ($0.end - $0.start) != ($1.end - $1.start) { return ($0.end - $0.start) > ($1.end - $1.start) }
            return $0.start < $1.start
        }
        // An occupancy map rather than pairwise checks: hostile texts can hold thousands of candidates.
        var used = [Bool](repeating: false, count: length)
        var taken: [Candidate] = []
        for c in ordered where !used[c.start..<c.end].contains(true) {
            for k in c.start..<c.end { used[k] = true }
            taken.append(c)
        }
        return taken.sorted { $0.start < $1.start }.map { PIISpan(start: $0.start, end: $0.end, type: $0.type, score: $0.score) }
    }

    // MARK: E-mail

    /// `local@domain.tld`, found from each `@` outwards.
    static func scanEmails(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        var lastEnd = 0
        while i < t.count {
            defer { i += 1 }
            guard t[i] == 0x40, i > lastEnd else { continue }
            // Local part: letters, digits and . _ % + - ' (at most 64, as RFC 5321 allows).
            var s = i
            while s > lastEnd, i - s < 64, isLocalPartScalar(t, s - 1) { s -= 1 }
            while s < i, t[s] == 0x2E { s += 1 }
            guard s < i, t[i - 1] != 0x2E else { continue }
            // Domain: dot-separated labels of letters, digits and hyphens.
            var e = i + 1
            var lastDot = -1
            while e < t.count, e - i < 255 {
                if t.isAlnum(e) || t[e] == 0x2D { e += 1; continue }
                if t[e] == 0x2E, t.isAlnum(e + 1), t[e - 1] != 0x2E, t[e - 1] != 0x40 { lastDot = e; e += 1; continue }
                break
            }
            while e > i + 1, t[e - 1] == 0x2D { e -= 1 }
            guard lastDot > i + 1, e - lastDot - 1 >= 2 else { continue }
            // The top-level domain is letters only (no "user@1.2").
            guard (lastDot + 1..<e).allSatisfy({ t.isLetter($0) }) else { continue }
            found.append(Candidate(start: s, end: e, type: .emailAddress))
            lastEnd = e
            i = e - 1
        }
    }

    private static func isLocalPartScalar(_ t: ScalarText, _ i: Int) -> Bool {
        if t.isAlnum(i) { return true }
        switch t[i] {
        case 0x2E, 0x5F, 0x25, 0x2B, 0x2D: return true  // . _ % + -
        default: return false
        }
    }
}
