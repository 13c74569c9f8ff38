import Foundation

/// Credentials: provider API keys by their documented prefixes, JWTs, PEM private keys, bearer tokens and
/// high-entropy values after `api_key=` / `password:`-style keys.
extension PIIPatterns {
    /// Prefix, the characters allowed after it, and how many of them at least (and at most).
    private struct KeyShape {
        var prefix: [UInt32]
        var body: BodyScalars
        var minBody: Int
        var maxBody: Int
    }

    /// Which scalars a key's body is made of.
    private enum BodyScalars {
        case alnum, urlSafe, upperAlnum

        func contains(_ t: ScalarText, _ i: Int) -> Bool {
            switch self {
            case .alnum: return t.isASCIIAlnum(i)
            case .urlSafe: return PIIPatterns.urlSafe(t, i)
            case .upperAlnum: return t.isUpperASCII(i) || t.isDigit(i)
            }
        }
    }

    private static func urlSafe(_ t: ScalarText, _ i: Int) -> Bool { t.isASCIIAlnum(i) || t[i] == 0x2D || t[i] == 0x5F }

    private static let keyShapes: [KeyShape] = {
        func p(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
        return [
            KeyShape(prefix: p("sk-ant-"), body: .urlSafe, minBody: 20, maxBody: 200),
            KeyShape(prefix: p("sk-"), body: .urlSafe, minBody: 20, maxBody: 200),
            KeyShape(prefix: p("AKIA"), body: .upperAlnum, minBody: 16, maxBody: 16),
            KeyShape(prefix: p("ASIA"), body: .upperAlnum, minBody: 16, maxBody: 16),
            KeyShape(prefix: p("ghp_"), body: .alnum, minBody: 30, maxBody: 60),
            KeyShape(prefix: p("gho_"), body: .alnum, minBody: 30, maxBody: 60),
            KeyShape(prefix: p("ghu_"), body: .alnum, minBody: 30, maxBody: 60),
            KeyShape(prefix: p("ghs_"), body: .alnum, minBody: 30, maxBody: 60),
            KeyShape(prefix: p("ghr_"), body: .alnum, minBody: 30, maxBody: 60),
            KeyShape(prefix: p("github_pat_"), body: .urlSafe, minBody: 22, maxBody: 255),
            KeyShape(prefix: p("glpat-"), body: .urlSafe, minBody: 20, maxBody: 60),
            KeyShape(prefix: p("xoxb-"), body: .urlSafe, minBody: 10, maxBody: 255),
            KeyShape(prefix: p("xoxp-"), body: .urlSafe, minBody: 10, maxBody: 255),
            KeyShape(prefix: p("xoxa-"), body: .urlSafe, minBody: 10, maxBody: 255),
            KeyShape(prefix: p("xoxs-"), body: .urlSafe, minBody: 10, maxBody: 255),
            KeyShape(prefix: p("AIza"), body: .urlSafe, minBody: 35, maxBody: 35),
            KeyShape(prefix: p("sk_live_"), body: .alnum, minBody: 16, maxBody: 255),
            KeyShape(prefix: p("rk_live_"), body: .alnum, minBody: 16, maxBody: 255),
            KeyShape(prefix: p("hf_"), body: .alnum, minBody: 30, maxBody: 60),
        ]
    }()

    /// Scalars a secret can start with (both cases for the case-insensitive keys), to skip other words fast.
    private static let firstScalars: Set<UInt32> = {
        var set: Set<UInt32> = [0x2D, 0x65]  // "-----BEGIN", "eyJ"
        for shape in keyShapes { if let f = shape.prefix.first { set.insert(f) } }
        for key in secretKeys + [bearer] {
            if let f = key.first { set.insert(f | 0x20); set.insert(f & ~0x20) }
        }
        return set
    }()

    static func scanSecrets(_ t: ScalarText, into found: inout [Candidate]) {
        var i = 0
        var nextEnd: Int?
        while i < t.count {
            let c = t[i]
            guard firstScalars.contains(c) else { i += 1; continue }
            // Only positions that can start a secret: a letter or "-" not glued to a word before it.
            guard c == 0x2D || t.isASCIILetter(i), !t.isASCIIAlnum(i - 1), t[i - 1] != 0x5F, t[i - 1] != 0x2D else { i += 1; continue }
            if c == 0x2D, let end = privateKeyBlock(t, at: i, nextEnd: &nextEnd) {
                found.append(Candidate(start: i, end: end, type: .secret))
                i = end
                continue
            }
            if let end = prefixedKey(t, at: i) ?? jwt(t, at: i) {
                found.append(Candidate(start: i, end: end, type: .secret))
                i = end
                continue
            }
            if let (start, end) = assignedSecret(t, at: i) {
                found.append(Candidate(start: start, end: end, type: .secret))
                i = end
                continue
            }
            i += 1
        }
    }

    private static func matches(_ t: ScalarText, _ i: Int, _ prefix: [UInt32], caseInsensitive: Bool = false) -> Bool {
        guard i + prefix.count <= t.count else { return false }
        for (k, p) in prefix.enumerated() {
            let c = t[i + k]
            if c == p { continue }
            if caseInsensitive, c < 0x80, c | 0x20 == p | 0x20, (p | 0x20) >= 0x61, (p | 0x20) <= 0x7A { continue }
            return false
        }
        return true
    }

    private static func prefixedKey(_ t: ScalarText, at i: Int) -> Int? {
        let first = t[i]
        for shape in keyShapes where shape.prefix[0] == first && matches(t, i, shape.prefix) {
            var j = i + shape.prefix.count
            let bodyStart = j
            while j < t.count, shape.body.contains(t, j), j - bodyStart <= shape.maxBody { j += 1 }
            let length = j - bodyStart
            guard length >= shape.minBody, length <= shape.maxBody, !t.isASCIIAlnum(j) else { continue }
            // A real key mixes letters and digits; "sk-this-is-not-a-key-at-all" does not.
            guard (bodyStart..<j).contains(where: { t.isDigit($0) }) else { continue }
            return j
        }
        return nil
    }

    /// `eyJ…` header, payload and signature in base64url separated by dots.
    private static func jwt(_ t: ScalarText, at i: Int) -> Int? {
        guard t[i] == 0x65, t[i + 1] == 0x79, t[i + 2] == 0x4A else { return nil }
        var j = i
        for part in 0..<3 {
            let s = j
            while j < t.count, urlSafe(t, j), j - s < 8192 { j += 1 }
            guard j - s >= (part == 2 ? 8 : 10) else { return nil }
            if part < 2 {
                guard t[j] == 0x2E else { return nil }
                j += 1
            }
        }
        return j
    }

    private static let beginMarker = "-----BEGIN ".unicodeScalars.map(\.value)
    private static let endMarker = "-----END ".unicodeScalars.map(\.value)
    private static let privateKeyWord = "PRIVATE KEY-----".unicodeScalars.map(\.value)

    /// `-----BEGIN … PRIVATE KEY-----` through the next END line within 16 KB (or the BEGIN line alone,
    /// if the block is cut off). `nextEnd` remembers where the next END line is, so a text of many BEGIN
    /// lines is not searched again and again.
    private static func privateKeyBlock(_ t: ScalarText, at i: Int, nextEnd: inout Int?) -> Int? {
        guard matches(t, i, beginMarker) else { return nil }
        var j = i + beginMarker.count
        // The label: "RSA PRIVATE KEY-----", "OPENSSH PRIVATE KEY-----", "PRIVATE KEY-----".
        let labelLimit = min(t.count, j + 40)
        var headerEnd: Int?
        while j < labelLimit {
            if matches(t, j, privateKeyWord) { headerEnd = j + privateKeyWord.count; break }
            j += 1
        }
        guard let afterHeader = headerEnd else { return nil }
        if nextEnd == nil || nextEnd.map({ $0 != Int.max && $0 < afterHeader }) == true {
            var k = afterHeader
            while k < t.count, !matches(t, k, endMarker) { k += 1 }
            nextEnd = k < t.count ? k : Int.max
        }
        guard let k = nextEnd, k != Int.max, k - afterHeader <= 16_384 else { return afterHeader }
        var e = k + endMarker.count
        while e < min(t.count, k + 60) {
            if matches(t, e, privateKeyWord) { return e + privateKeyWord.count }
            e += 1
        }
        return afterHeader
    }

    private static let secretKeys = [
        "api_key", "apikey", "api-key", "secret_key", "secret", "client_secret", "access_token", "auth_token",
        "token", "password", "passwd", "pwd", "private_key", "access_key", "aws_secret_access_key",
    ].map { $0.unicodeScalars.map(\.value) }
    private static let bearer = "Bearer ".unicodeScalars.map(\.value)

    /// The value after `Bearer ` or after a key such as `api_key=` / `"password": "…"`, when it looks random.
    private static func assignedSecret(_ t: ScalarText, at i: Int) -> (Int, Int)? {
        var valueStart: Int?
        if t.lowerASCII(i) == 0x62, matches(t, i, bearer, caseInsensitive: true) {
            valueStart = i + bearer.count
        } else {
            let first = t.lowerASCII(i)
            for key in secretKeys where key[0] == first && matches(t, i, key, caseInsensitive: true) {
                var j = i + key.count
                guard !t.isASCIIAlnum(j), t[j] != 0x5F else { continue }
                if t[j] == 0x22 || t[j] == 0x27 { j += 1 }  // closing quote of a JSON key
                while t[j] == 0x20 { j += 1 }
                guard t[j] == 0x3D || t[j] == 0x3A else { continue }
                j += 1
                while t[j] == 0x20 { j += 1 }
                if t[j] == 0x22 || t[j] == 0x27 { j += 1 }
                valueStart = j
                break
            }
        }
        guard let s = valueStart else { return nil }
        var e = s
        while e < t.count, e - s < 512, isTokenScalar(t, e) { e += 1 }
        while e > s, t[e - 1] == 0x2E || t[e - 1] == 0x2C { e -= 1 }
        guard e - s >= 12, looksRandom(t, s..<e) else { return nil }
        return (s, e)
    }

    private static func isTokenScalar(_ t: ScalarText, _ i: Int) -> Bool {
        guard t[i] > 0x20, t[i] < 0x7F else { return false }
        switch t[i] {
        case 0x22, 0x27, 0x2C, 0x3B, 0x7D, 0x5D, 0x29, 0x3C, 0x3E: return false  // " ' , ; } ] ) < >
        default: return true
        }
    }

    /// At least two character classes and ≥ 3.5 bits of entropy per character: "password1234" is not a
    /// token, "q8Zr1xTmW0pL4sVb" is.
    static func looksRandom(_ t: ScalarText, _ range: Range<Int>) -> Bool {
        var counts: [UInt32: Int] = [:]
        var classes = Set<Int>()
        for k in range {
            counts[t[k], default: 0] += 1
            classes.insert(t.isDigit(k) ? 0 : t.isUpperASCII(k) ? 1 : t.isLowerASCII(k) ? 2 : 3)
        }
        let n = Double(range.count)
        var entropy = 0.0
        for (_, c) in counts {
            let p = Double(c) / n
            entropy -= p * log2(p)
        }
        return classes.count >= 2 && entropy >= 3.5
    }
}
