/// The regular parts of street addresses: unit designators ("Apt. 12", "Suite 400"), US ZIP codes after
/// a state abbreviation, UK postcodes, and street lines in the English order ("1317 Kimberly Way") and the
/// European ones ("Hauptstraße 5", "Via Pisanelli 104"), extended over the ", postcode City" parts that
/// follow on the same line. Free-form addresses are left to the NER head.
extension PIIPatterns {
    private static func wordSet(_ words: [String]) -> Set<String> { Set(words.map { $0.lowercased() }) }

    static let unitWords = wordSet(["Apt", "Apartment", "Suite", "Ste", "Unit", "Floor", "Fl", "Room", "Rm", "Flat", "Bldg", "Building"])
    /// Street types that end an English-order street name.
    static let streetSuffixes = wordSet([
        "Street", "St", "Avenue", "Ave", "Av", "Road", "Rd", "Lane", "Ln", "Drive", "Dr", "Boulevard", "Blvd", "Way", "Court",
        "Ct", "Place", "Pl", "Terrace", "Ter", "Circle", "Cir", "Parkway", "Pkwy", "Highway", "Hwy", "Square", "Sq",
        "Crescent", "Cres", "Close", "Trail", "Plaza", "Alley", "Grove", "Gardens", "Str", "Strasse", "Straße", "Weg",
    ])
    /// Street types written before the name (Romance and Slavic languages).
    static let streetPrefixes = wordSet([
        "Via", "Viale", "Piazza", "Corso", "Largo", "Rue", "Avenue", "Boulevard", "Chemin", "Allée", "Calle", "Avenida",
        "Paseo", "Plaza", "Carrer", "Rua", "Travessa", "Praça", "Estrada", "ul", "ulica", "Ulica", "al", "Aleja", "C",
    ])
    /// Endings of one-word street names ("Hauptstraße", "Willem Pijperstraat", "Västerviksgatan").
    static let streetEndings = [
        "straße", "strasse", "gasse", "weg", "allee", "platz", "damm", "straat", "laan", "gracht", "plein", "vej",
        "gade", "gatan", "vägen", "veien", "katu", "utca",
    ]
    /// Lowercase words inside street and city names ("Rue de la Gare", "Neustadt an der Weinstraße").
    static let nameParticles = wordSet(["de", "la", "le", "les", "du", "des", "del", "della", "di", "da", "do", "dos", "das", "van", "der", "den", "an", "am", "im", "y", "e"])
    static let usStates: Set<String> = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD",
        "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI",
        "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR",
    ]

    /// A word of letters (any script) starting at `i`: its end, or nil.
    private static func wordEnd(_ t: ScalarText, _ i: Int) -> Int? {
        guard t.isLetter(i), !t.isLetter(i - 1) else { return nil }
        var e = i
        while e < t.count, t.isLetter(e) || (t[e] == 0x2D && t.isLetter(e + 1)) || (t[e] == 0x27 && t.isLetter(e + 1)), e - i < 40 { e += 1 }
        return t.isLetter(e) ? nil : e
    }

    /// Street types written as a word of their own after the name ("Grazer Strasse 10", "Alte Gasse 3").
    static let standaloneStreetWords = wordSet(["Strasse", "Straße", "Str", "Gasse", "Weg", "Allee", "Platz", "Damm", "Ring"])

    /// Start of the capitalised word before `i` when the street word at `i` is a standalone type.
    private static func nameStart(_ t: ScalarText, before i: Int, word: String) -> Int {
        guard standaloneStreetWords.contains(word), t[i - 1] == 0x20, t.isLetter(i - 2) else { return i }
        var s = i - 2
        while s > 0, t.isLetter(s - 1) || t[s - 1] == 0x2D { s -= 1 }
        return t.isUpperLetter(s) && i - 1 - s >= 3 ? s : i
    }

    static func scanAddresses(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        // End of the last address found here, so a name word taken from before a street is never in it.
        var lastEnd = 0
        while i < t.count {
            if t.isDigit(i), t.numberStartClear(i), let end = englishStreet(t, at: i) {
                let full = lineExtension(t, after: end)
                found.append(Candidate(start: i, end: full, type: .address, score: 0.8))
                lastEnd = full
                i = full
                continue
            }
            if let e = wordEnd(t, i) {
                if let end = unit(t, i, e) ?? europeanStreet(t, i, e) {
                    let isUnit = unitWords.contains(t.lowered(i..<e))
                    let full = t.isDigit(end - 1) && !isUnit ? lineExtension(t, after: end) : end
                    let start = isUnit ? i : max(lastEnd, nameStart(t, before: i, word: t.lowered(i..<e)))
                    found.append(Candidate(start: start, end: full, type: .address, score: 0.8))
                    lastEnd = full
                    i = full
                    continue
                }
                if let (s, end) = postcode(t, i, e) {
                    found.append(Candidate(start: s, end: end, type: .address, score: 0.8))
                    lastEnd = end
                    i = end
                    continue
                }
                i = e
                continue
            }
            i += 1
        }
    }

    /// "Apt. 12", "Suite 400", "Unit 5B", "Floor 11", "Room #919".
    private static func unit(_ t: ScalarText, _ i: Int, _ e: Int) -> Int? {
        guard t.isUpperLetter(i), unitWords.contains(t.lowered(i..<e)) else { return nil }
        // "FL 1335" after a city is Florida (or a Dutch postcode), not a floor.
        if e - i == 2, t.isUpperASCII(i + 1) { return nil }
        var j = e
        if t[j] == 0x2E { j += 1 }
        guard t[j] == 0x20 else { return nil }
        j += 1
        if t[j] == 0x23 { j += 1 }
        let d = t.digitsEnd(from: j)
        guard d - j >= 1, d - j <= 5 else { return nil }
        var end = d
        if t.isUpperASCII(end), !t.isAlnum(end + 1) { end += 1 }
        return t.numberEndClear(end) ? end : nil
    }

    /// A capitalised name word, an ordinal ("40th"), or a particle; returns its end.
    private static func nameWord(_ t: ScalarText, _ i: Int, allowParticle: Bool) -> Int? {
        if t.isDigit(i) {
            let d = t.digitsEnd(from: i)
            let suffix = t.lowered(d..<d + 2)
            guard d - i <= 3, ["st", "nd", "rd", "th"].contains(suffix), !t.isAlnum(d + 2) else { return nil }
            return d + 2
        }
        guard let e = wordEnd(t, i) else { return nil }
        // "Apt", "Suite"… start a unit, not another word of the street name.
        if t.isUpperLetter(i) { return unitWords.contains(t.lowered(i..<e)) ? nil : e }
        return allowParticle && nameParticles.contains(t.lowered(i..<e)) ? e : nil
    }

    /// "1317 Kimberly Way", "2767 40th Street", "4624 St Jean Baptiste St", "46 rue Nationale".
    private static func englishStreet(_ t: ScalarText, at i: Int) -> Int? {
        let d = t.digitsEnd(from: i)
        guard d - i <= 5 else { return nil }
        var j = d
        if t.isUpperASCII(j), t[j + 1] == 0x20 { j += 1 }  // "12B Baker Street"
        guard t[j] == 0x20 else { return nil }
        j += 1
        // Prefix street type after the number: "46 rue Nationale", "104 Via Pisanelli".
        if let e = wordEnd(t, j), streetPrefixes.contains(t.lowered(j..<e)), t[e] == 0x20 {
            var end = e
            var k = e + 1
            var names = 0
            while names < 4, let w = nameWord(t, k, allowParticle: true) {
                if t.isUpperLetter(k) || t.isDigit(k) { end = w; names += 1 }
                guard t[w] == 0x20 else { break }
                k = w + 1
            }
            return names > 0 ? end : nil
        }
        // Name words, then a street type.
        var k = j
        var words = 0
        while words < 5, let w = nameWord(t, k, allowParticle: false) {
            words += 1
            if words >= 2, streetSuffixes.contains(t.lowered(k..<w)) {
                // Not when the "suffix" starts a longer name ("St Jean Baptiste St"): look one word on.
                if t[w] == 0x20, let next = nameWord(t, w + 1, allowParticle: false), next > w + 1,
                    !streetSuffixes.contains(t.lowered(w + 1..<next)) || words == 1
                {
                    if let after = nameWord(t, next + 1, allowParticle: false), t[next] == 0x20,
                        streetSuffixes.contains(t.lowered(next + 1..<after))
                    {
                        return directional(t, after: after)
                    }
                }
                return directional(t, after: w)
            }
            guard t[w] == 0x20 else { break }
            k = w + 1
        }
        return nil
    }

    /// Canadian postal codes: "G0J 3H0", "T5J 2Z2" (letter digit letter, digit letter digit).
    private static func canadianPostcode(_ t: ScalarText, _ i: Int) -> Int? {
        guard !t.isAlnum(i - 1), t.isUpperASCII(i), t.isDigit(i + 1), t.isUpperASCII(i + 2), t[i + 3] == 0x20, t.isDigit(i + 4),
            t.isUpperASCII(i + 5), t.isDigit(i + 6), !t.isAlnum(i + 7)
        else { return nil }
        return i + 7
    }

    /// Extends "1600 Pennsylvania Avenue" over a compass suffix (" NW", " SE", " N").
    private static func directional(_ t: ScalarText, after end: Int) -> Int {
        // "Trikoupi Str., 2600 Klirou", "Str.\n": the abbreviation's dot belongs to it before a comma or line end.
        if t[end] == 0x2E, t[end + 1] == 0x2C || t[end + 1] == 0x0A || end + 1 >= t.count { return end + 1 }
        guard t[end] == 0x20, let e = wordEnd(t, end + 1), e - end - 1 <= 2 else { return end }
        return ["N", "S", "E", "W", "NE", "NW", "SE", "SW"].contains(String(decoding: (end + 1..<e).map { UInt8(truncatingIfNeeded: t[$0]) }, as: UTF8.self)) ? e : end
    }

    /// "Hauptstraße 5", "Willem Pijperstraat 79", "Via Pisanelli 104", "Rue de la Sarthe 45", "ul. Narewska 94".
    private static func europeanStreet(_ t: ScalarText, _ i: Int, _ e: Int) -> Int? {
        let word = t.lowered(i..<e)
        var k: Int
        if streetPrefixes.contains(word), t.isUpperLetter(i) || word == "ul" || word == "al" {
            k = e
            if t[k] == 0x2E || t[k] == 0x2F { k += 1 }  // "ul.", "C/"
            guard t[k] == 0x20 else { return nil }
            k += 1
            // Name words up to the house number.
            var names = 0
            while names < 5, let w = nameWord(t, k, allowParticle: true), t[w] == 0x20 {
                if t.isUpperLetter(k) { names += 1 }
                k = w + 1
                if t.isDigit(k) { break }
            }
            guard names > 0 else { return nil }
        } else {
            // The street word itself ends in a street type, possibly after other capitalised words.
            guard t.isUpperLetter(i), e - i >= 5, streetEndings.contains(where: { word.hasSuffix($0) }) else { return nil }
            k = e
            if t[k] == 0x2E { k += 1 }
            guard t[k] == 0x20 else { return nil }
            k += 1
        }
        let d = t.digitsEnd(from: k)
        guard d - k >= 1, d - k <= 4, t.digit(k) != 0 else { return nil }
        var end = d
        if t.isLowerASCII(end) || t.isUpperASCII(end), !t.isAlnum(end + 1) { end += 1 }  // "12a"
        return t.numberEndClear(end) || t[end] == 0x2E ? end : nil
    }

    /// US ZIP after a state abbreviation ("MI 49503" → "49503") and UK postcodes ("SW1A 1AA").
    private static func postcode(_ t: ScalarText, _ i: Int, _ e: Int) -> (Int, Int)? {
        if e - i == 2, t.isUpperASCII(i), t.isUpperASCII(i + 1), usStates.contains(t.lowered(i..<e).uppercased()), t[e] == 0x20,
            t.digitsEnd(from: e + 1) == e + 6, t.numberStartClear(e + 1)
        {
            var end = e + 6
            if t[end] == 0x2D, t.digitsEnd(from: end + 1) == end + 5 { end += 5 }
            if t.numberEndClear(end) { return (e + 1, end) }
        }
        return ukPostcode(t, i, e)
    }

    /// UK postcodes: outward code of 1–2 letters, a digit and an optional letter or digit; inward code of
    /// a digit and two letters ("SW1A 1AA", "NW1 6XE", "SY9 1UU").
    private static func ukPostcode(_ t: ScalarText, _ i: Int, _ e: Int) -> (Int, Int)? {
        var j = i
        while j < i + 2, t.isUpperASCII(j) { j += 1 }
        guard j > i, t.isDigit(j) else { return nil }
        j += 1
        if t.isUpperASCII(j) || t.isDigit(j) { j += 1 }
        guard t[j] == 0x20, t.isDigit(j + 1), t.isUpperASCII(j + 2), t.isUpperASCII(j + 3), !t.isAlnum(j + 4) else { return nil }
        return (i, j + 4)
    }

    /// Extends a street over ", 48020 Traversara", ", Grand Rapids, MI 49503", ", 75005 PARIS", ", Estonia":
    /// comma-separated segments of capitalised words and postcodes, at most three.
    static func lineExtension(_ t: ScalarText, after end: Int) -> Int {
        var result = end
        var j = end
        for _ in 0..<3 {
            guard t[j] == 0x2C, t[j + 1] == 0x20 else { break }
            var k = j + 2
            var segmentEnd = -1
            var parts = 0
            while parts < 6 {
                if t.isDigit(k) {
                    // Postcodes: "48020", "41-500", "388 61", "7570-198", "2711 CN"
                    var d = t.digitsEnd(from: k)
                    // Polish "15-166": two digits, a dash, three digits.
                    if d - k == 2, t[d] == 0x2D, t.digitsEnd(from: d + 1) == d + 4 {
                        d += 4
                    } else {
                        guard d - k >= 3, d - k <= 5 else { break }
                    }
                    if t[d] == 0x2D || t[d] == 0x20, t.isDigit(d + 1), t.digitsEnd(from: d + 1) - d - 1 <= 3, t.digitsEnd(from: d + 1) - d - 1 >= 2 {
                        d = t.digitsEnd(from: d + 1)
                    } else if t[d] == 0x20, t.isUpperASCII(d + 1), t.isUpperASCII(d + 2), !t.isAlnum(d + 3) {
                        d += 3
                    }
                    guard !t.isAlnum(d) else { break }
                    segmentEnd = d
                    k = d
                } else if let pcEnd = canadianPostcode(t, k) {
                    segmentEnd = pcEnd
                    k = pcEnd
                } else if let wEnd = wordEnd(t, k), let (_, pcEnd) = ukPostcode(t, k, wEnd) {
                    segmentEnd = pcEnd
                    k = pcEnd
                } else if let w = nameWord(t, k, allowParticle: parts > 0) {
                    if t.isUpperLetter(k) { segmentEnd = w }
                    k = w
                } else {
                    break
                }
                parts += 1
                guard t[k] == 0x20 else { break }
                k += 1
            }
            guard segmentEnd > j else { break }
            result = segmentEnd
            j = segmentEnd
        }
        return result
    }
}
