/// Calendar dates and dates of birth: numeric (ISO, day-first, month-first with `/`, `.` or `-`) and
/// with month names in English, German, French, Spanish and Italian, each with an optional time of day.
/// Bare years, weekdays, ages and relative times are not dates here.
extension PIIPatterns {
    /// Lowercased month names and abbreviations → month number.
    static let monthNames: [String: Int] = {
        var table: [String: Int] = [:]
        let lists: [[String]] = [
            ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"],
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
            ["januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "dezember"],
            ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
            ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"],
            ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"],
        ]
        for list in lists { for (k, name) in list.enumerated() { table[name] = k + 1 } }
        for (name, month) in ["sept": 9, "jän": 1, "maerz": 3, "okt": 10, "dez": 12, "fevrier": 2, "aout": 8, "decembre": 12, "setiembre": 9] {
            table[name] = month
        }
        return table
    }()

    /// The first two scalars of every month name, lowercased, as `initialsKey` packs them.
    static let monthInitials: Set<UInt64> = Set(monthNames.keys.map { name in
        let v = Array(name.unicodeScalars.prefix(2)).map { UInt64($0.value) }
        return v[0] << 21 | v[1]
    })

    static func initialsKey(_ t: ScalarText, _ i: Int) -> UInt64 {
        func lower(_ c: UInt32) -> UInt64 {
            if c >= 0x41 && c <= 0x5A { return UInt64(c + 0x20) }
            if c >= 0xC0 && c <= 0xDE && c != 0xD7 { return UInt64(c + 0x20) }  // Latin-1 capitals: "März" → "mä"
            return UInt64(c)
        }
        return lower(t[i]) << 21 | lower(t[i + 1])
    }

    /// Full English month names: the only ones that make a date with a year alone ("March 1985").
    static let fullEnglishMonths: Set<String> = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    ]

    static func scanDates(_ t: ScalarText, into found: inout [Candidate]) {
        scanNumericDates(t, into: &found)
        scanNamedMonthDates(t, into: &found)
    }

    // MARK: Numeric

    /// `yyyy-mm-dd`, `dd.mm.yyyy`, `dd/mm/yyyy`, `mm/dd/yyyy`, `d-m-yyyy` and `m/d/yy`; the two separators agree.
    static func scanNumericDates(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i < t.count {
            guard t.isDigit(i), t.numberStartClear(i) else { i += 1; continue }
            let e1 = t.digitsEnd(from: i)
            let sep = t[e1]
            guard e1 - i <= 4, sep == 0x2D || sep == 0x2E || sep == 0x2F, t.isDigit(e1 + 1) else { i = max(e1, i + 1); continue }
            let e2 = t.digitsEnd(from: e1 + 1)
            guard t[e2] == sep, t.isDigit(e2 + 1) else { i = max(e1, i + 1); continue }
            let e3 = t.digitsEnd(from: e2 + 1)
            let a = t.number(i..<e1), b = t.number(e1 + 1..<e2), c = t.number(e2 + 1..<e3)
            let la = e1 - i, lb = e2 - e1 - 1, lc = e3 - e2 - 1
            var valid = false
            if la == 4, lb <= 2, lc <= 2 {
                valid = plausibleYear(a) && isDayMonth(day: c, month: b)  // ISO order
            } else if la <= 2, lb <= 2, lc == 4 {
                valid = plausibleYear(c) && (isDayMonth(day: a, month: b) || isDayMonth(day: b, month: a))
            } else if la <= 2, lb <= 2, lc == 2, sep == 0x2F {
                valid = isDayMonth(day: a, month: b) || isDayMonth(day: b, month: a)  // "6/22/75": slashes only
            }
            // ISO date-times glue the time on with a "T".
            let end = timeExtension(t, after: e3)
            if valid, t.numberEndClear(e3) || (t[e3] == 0x54 && end > e3) {
                found.append(Candidate(start: i, end: end, type: .dateTime))
                i = e3
            } else {
                i = max(e1, i + 1)
            }
        }
    }

    static func plausibleYear(_ y: Int) -> Bool { y >= 1800 && y <= 2199 }
    static func isDayMonth(day: Int, month: Int) -> Bool { day >= 1 && day <= 31 && month >= 1 && month <= 12 }

    /// Extends a date over a following time of day: " 09:00", " at 10:30", "T10:30:00Z", " 3:15 pm".
    static func timeExtension(_ t: ScalarText, after end: Int) -> Int {
        var j = end
        if t[j] == 0x54 || t[j] == 0x20 {  // "T" or " "
            j += 1
        } else {
            return end
        }
        if t[j] == 0x61, t[j + 1] == 0x74, t[j + 2] == 0x20 { j += 3 }  // "at "
        let hEnd = t.digitsEnd(from: j)
        guard hEnd - j >= 1, hEnd - j <= 2, t.number(j..<hEnd) <= 23, t[hEnd] == 0x3A else { return end }
        let mEnd = t.digitsEnd(from: hEnd + 1)
        guard mEnd - hEnd - 1 == 2, t.number(hEnd + 1..<mEnd) <= 59 else { return end }
        var k = mEnd
        if t[k] == 0x3A, t.digitsEnd(from: k + 1) == k + 3 { k += 3 }
        if t[k] == 0x2E, t.isDigit(k + 1) { k = t.digitsEnd(from: k + 1) }
        if t[k] == 0x5A { k += 1 }  // Z
        else if t[k] == 0x2B || (t[k] == 0x2D && t.isDigit(k + 1)), t.digitsEnd(from: k + 1) == k + 3, t[k + 3] == 0x3A,
            t.digitsEnd(from: k + 4) == k + 6
        {
            k += 6
        }
        // am / pm / a.m. / p.m.
        var m = k
        if t[m] == 0x20 { m += 1 }
        let c = t[m] | 0x20
        if c == 0x61 || c == 0x70 {
            if t[m + 1] | 0x20 == 0x6D, !t.isAlnum(m + 2) { return m + 2 }
            if t[m + 1] == 0x2E, t[m + 2] | 0x20 == 0x6D, t[m + 3] == 0x2E { return m + 4 }
        }
        guard t.numberEndClear(k) else { return end }
        return k
    }

    // MARK: Month names

    /// "March 14, 1985", "Mar. 14 1985", "14 March 1985", "14th of March, 1985", "14. März 1985",
    /// "14 de marzo de 1985", "March 14th", "March 1985".
    static func scanNamedMonthDates(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        while i < t.count {
            guard t.isLetter(i), !t.isLetter(i - 1) else { i += 1; continue }
            var e = i
            while e < t.count, t.isLetter(e), e - i < 12 { e += 1 }
            if t.isLetter(e) { while e < t.count, t.isLetter(e) { e += 1 }; i = e; continue }
            // Most words are not months: check the first two letters before building a string.
            guard e - i >= 3, e - i <= 10, monthInitials.contains(initialsKey(t, i)) else { i = e; continue }
            let word = t.lowered(i..<e)
            guard let month = monthNames[word] else { i = e; continue }
            // "may", "mars", "mar" are words too: a short or ambiguous name must be capitalised.
            let capitalised = t.isUpperLetter(i)
            if !capitalised, word.count <= 4 || word == "march" || word == "mars" { i = e; continue }
            _ = month
            var afterMonth = e
            if t[afterMonth] == 0x2E { afterMonth += 1 }  // "Mar."
            var start = i
            var end = -1

            // Day before the month: "14 March", "14th of March", "14. März", "14 de marzo".
            if let dayStart = dayBefore(t, monthStart: i) {
                start = dayStart
                end = afterMonth
                if let yearEnd = yearAfter(t, from: afterMonth, allowDe: true) { end = yearEnd }
            }
            // Day after the month: "March 14", "March 14th, 1985".
            if end < 0, let (dayEnd, _) = dayAfter(t, from: afterMonth) {
                end = dayEnd
                if let yearEnd = yearAfter(t, from: dayEnd, allowDe: false) { end = yearEnd }
            }
            // Month and year alone, for full English names only ("March 1985", not "Mars 2020").
            if end < 0, capitalised, fullEnglishMonths.contains(word), let yearEnd = yearAfter(t, from: e, allowDe: false) {
                end = yearEnd
            }
            if end > start {
                let withTime = end == afterMonth ? end : timeExtension(t, after: end)
                found.append(Candidate(start: start, end: withTime, type: .dateTime))
                i = withTime
            } else {
                i = e
            }
        }
    }

    /// Start of "14 ", "14th ", "14th of ", "14. ", "14 de " right before a month name at `monthStart`.
    static func dayBefore(_ t: ScalarText, monthStart: Int) -> Int? {
        var j = monthStart
        guard t[j - 1] == 0x20 else { return nil }
        j -= 1
        // "of " / "de "
        if (t[j - 2] == 0x6F && t[j - 1] == 0x66) || (t[j - 2] == 0x64 && t[j - 1] == 0x65), t[j - 3] == 0x20 { j -= 3 }
        if t[j - 1] == 0x2E { j -= 1 }
        // Ordinal suffix
        if j >= 2, t.isLowerASCII(j - 1), t.isLowerASCII(j - 2) {
            let suffix = t.lowered(j - 2..<j)
            guard ["st", "nd", "rd", "th"].contains(suffix) else { return nil }
            j -= 2
        } else if t[j - 1] == 0xBA {  // "1º"
            j -= 1
        }
        var d = j
        while d > 0, t.isDigit(d - 1), j - d < 3 { d -= 1 }
        guard j - d >= 1, j - d <= 2, t.numberStartClear(d) else { return nil }
        let day = t.number(d..<j)
        return day >= 1 && day <= 31 ? d : nil
    }

    /// End of " 14", " 14th", " 14," after a month name.
    static func dayAfter(_ t: ScalarText, from j: Int) -> (Int, Int)? {
        guard t[j] == 0x20, t.isDigit(j + 1) else { return nil }
        let e = t.digitsEnd(from: j + 1)
        guard e - j - 1 <= 2 else { return nil }
        let day = t.number(j + 1..<e)
        guard day >= 1 && day <= 31 else { return nil }
        var end = e
        let suffix = t.lowered(e..<min(t.count, e + 2))
        if ["st", "nd", "rd", "th"].contains(suffix), !t.isLetter(e + 2) { end = e + 2 }
        // "March 14:30" or "March 14-16" are not this shape.
        guard !t.isAlnum(end), !(t[end] == 0x3A && t.isDigit(end + 1)) else { return nil }
        return (end, day)
    }

    /// End of ", 1985", " 1985" (or " de 1985") after a day or month.
    static func yearAfter(_ t: ScalarText, from j: Int, allowDe: Bool) -> Int? {
        var k = j
        if t[k] == 0x2C { k += 1 }
        guard t[k] == 0x20 else { return nil }
        k += 1
        if allowDe, t[k] == 0x64, t[k + 1] == 0x65, t[k + 2] == 0x20 { k += 3 }
        let e = t.digitsEnd(from: k)
        guard e - k == 4, plausibleYear(t.number(k..<e)), t.numberEndClear(e) else { return nil }
        return e
    }
}
