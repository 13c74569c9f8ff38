/// Martin Porter's 1980 suffix-stripping algorithm, as in his reference C implementation
/// (tartarus.org/martin/PorterStemmer, "release 1"), including its three documented departures from
/// the paper: `bli`→`ble` instead of `abli`→`able`, `logi`→`log`, and words of one or two letters
/// left as they are.
///
/// Works on lowercase ASCII letters; a word with any other character is returned unchanged.
public enum PorterStemmer {
    public static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        guard bytes.count > 2, bytes.allSatisfy({ $0 >= 97 && $0 <= 122 }) else { return word }
        var state = State(b: bytes)
        state.run()
        bytes = Array(state.b[0...state.k])
        return String(decoding: bytes, as: UTF8.self)
    }

    private struct State {
        var b: [UInt8]
        var k: Int
        var j = 0

        init(b: [UInt8]) {
            self.b = b
            k = b.count - 1
        }

        mutating func run() {
            guard k > 1 else { return }
            step1ab()
            if k > 0 {
                step1c()
                step2()
                step3()
                step4()
                step5()
            }
        }

        /// `b[i]` is a consonant; `y` is one at the start or after a vowel.
        func isConsonant(_ i: Int) -> Bool {
            switch b[i] {
            case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"): return false
            case UInt8(ascii: "y"): return i == 0 ? true : !isConsonant(i - 1)
            default: return true
            }
        }

        /// The number of vowel-consonant sequences in `b[0...j]` (the `m` of `[C](VC)^m[V]`).
        func measure() -> Int {
            var n = 0
            var i = 0
            while true {
                if i > j { return n }
                if !isConsonant(i) { break }
                i += 1
            }
            i += 1
            while true {
                while true {
                    if i > j { return n }
                    if isConsonant(i) { break }
                    i += 1
                }
                i += 1
                n += 1
                while true {
                    if i > j { return n }
                    if !isConsonant(i) { break }
                    i += 1
                }
                i += 1
            }
        }

        func vowelInStem() -> Bool {
            guard j >= 0 else { return false }
            for i in 0...j where !isConsonant(i) { return true }
            return false
        }

        func doubleConsonant(_ i: Int) -> Bool {
            i >= 1 && b[i] == b[i - 1] && isConsonant(i)
        }

        /// consonant-vowel-consonant ending at `i`, the last not `w`, `x` or `y` (e.g. `hop`).
        func cvc(_ i: Int) -> Bool {
            guard i >= 2, isConsonant(i), !isConsonant(i - 1), isConsonant(i - 2) else { return false }
            let c = b[i]
            return c != UInt8(ascii: "w") && c != UInt8(ascii: "x") && c != UInt8(ascii: "y")
        }

        mutating func ends(_ suffix: StaticString) -> Bool {
            let length = suffix.utf8CodeUnitCount
            guard length <= k + 1 else { return false }
            let start = suffix.utf8Start
            guard start[length - 1] == b[k] else { return false }
            for offset in 0..<length where b[k - length + 1 + offset] != start[offset] { return false }
            j = k - length
            return true
        }

        mutating func setTo(_ replacement: StaticString) {
            let length = replacement.utf8CodeUnitCount
            let start = replacement.utf8Start
            for offset in 0..<length {
                let position = j + 1 + offset
                if position < b.count { b[position] = start[offset] } else { b.append(start[offset]) }
            }
            k = j + length
        }

        mutating func replaceIfMeasured(_ replacement: StaticString) {
            if measure() > 0 { setTo(replacement) }
        }

        mutating func step1ab() {
            if b[k] == UInt8(ascii: "s") {
                if ends("sses") {
                    k -= 2
                } else if ends("ies") {
                    setTo("i")
                } else if b[k - 1] != UInt8(ascii: "s") {
                    k -= 1
                }
            }
            if ends("eed") {
                if measure() > 0 { k -= 1 }
            } else if (ends("ed") || ends("ing")) && vowelInStem() {
                k = j
                if ends("at") {
                    setTo("ate")
                } else if ends("bl") {
                    setTo("ble")
                } else if ends("iz") {
                    setTo("ize")
                } else if doubleConsonant(k) {
                    k -= 1
                    let c = b[k]
                    if c == UInt8(ascii: "l") || c == UInt8(ascii: "s") || c == UInt8(ascii: "z") { k += 1 }
                } else if measure() == 1 && cvc(k) {
                    setTo("e")
                }
            }
        }

        mutating func step1c() {
            if ends("y") && vowelInStem() { b[k] = UInt8(ascii: "i") }
        }

        mutating func step2() {
            guard k >= 1 else { return }
            switch b[k - 1] {
            case UInt8(ascii: "a"):
                if ends("ational") { replaceIfMeasured("ate") } else if ends("tional") { replaceIfMeasured("tion") }
            case UInt8(ascii: "c"):
                if ends("enci") { replaceIfMeasured("ence") } else if ends("anci") { replaceIfMeasured("ance") }
            case UInt8(ascii: "e"):
                if ends("izer") { replaceIfMeasured("ize") }
            case UInt8(ascii: "l"):
                if ends("bli") {
                    replaceIfMeasured("ble")
                } else if ends("alli") {
                    replaceIfMeasured("al")
                } else if ends("entli") {
                    replaceIfMeasured("ent")
                } else if ends("eli") {
                    replaceIfMeasured("e")
                } else if ends("ousli") {
                    replaceIfMeasured("ous")
                }
            case UInt8(ascii: "o"):
                if ends("ization") {
                    replaceIfMeasured("ize")
                } else if ends("ation") {
                    replaceIfMeasured("ate")
                } else if ends("ator") {
                    replaceIfMeasured("ate")
                }
            case UInt8(ascii: "s"):
                if ends("alism") {
                    replaceIfMeasured("al")
                } else if ends("iveness") {
                    replaceIfMeasured("ive")
                } else if ends("fulness") {
                    replaceIfMeasured("ful")
                } else if ends("ousness") {
                    replaceIfMeasured("ous")
                }
            case UInt8(ascii: "t"):
                if ends("aliti") {
                    replaceIfMeasured("al")
                } else if ends("iviti") {
                    replaceIfMeasured("ive")
                } else if ends("biliti") {
                    replaceIfMeasured("ble")
                }
            case UInt8(ascii: "g"):
                if ends("logi") { replaceIfMeasured("log") }
            default:
                break
            }
        }

        mutating func step3() {
            switch b[k] {
            case UInt8(ascii: "e"):
                if ends("icate") {
                    replaceIfMeasured("ic")
                } else if ends("ative") {
                    replaceIfMeasured("")
                } else if ends("alize") {
                    replaceIfMeasured("al")
                }
            case UInt8(ascii: "i"):
                if ends("iciti") { replaceIfMeasured("ic") }
            case UInt8(ascii: "l"):
                if ends("ical") { replaceIfMeasured("ic") } else if ends("ful") { replaceIfMeasured("") }
            case UInt8(ascii: "s"):
                if ends("ness") { replaceIfMeasured("") }
            default:
                break
            }
        }

        mutating func step4() {
            guard k >= 1 else { return }
            let matched: Bool
            switch b[k - 1] {
            case UInt8(ascii: "a"): matched = ends("al")
            case UInt8(ascii: "c"): matched = ends("ance") || ends("ence")
            case UInt8(ascii: "e"): matched = ends("er")
            case UInt8(ascii: "i"): matched = ends("ic")
            case UInt8(ascii: "l"): matched = ends("able") || ends("ible")
            case UInt8(ascii: "n"): matched = ends("ant") || ends("ement") || ends("ment") || ends("ent")
            case UInt8(ascii: "o"):
                if ends("ion") && j >= 0 && (b[j] == UInt8(ascii: "s") || b[j] == UInt8(ascii: "t")) {
                    matched = true
                } else {
                    matched = ends("ou")
                }
            case UInt8(ascii: "s"): matched = ends("ism")
            case UInt8(ascii: "t"): matched = ends("ate") || ends("iti")
            case UInt8(ascii: "u"): matched = ends("ous")
            case UInt8(ascii: "v"): matched = ends("ive")
            case UInt8(ascii: "z"): matched = ends("ize")
            default: matched = false
            }
            if matched && measure() > 1 { k = j }
        }

        mutating func step5() {
            j = k
            if b[k] == UInt8(ascii: "e") {
                let m = measure()
                if m > 1 || (m == 1 && !cvc(k - 1)) { k -= 1 }
            }
            if b[k] == UInt8(ascii: "l") && doubleConsonant(k) && measure() > 1 { k -= 1 }
        }
    }
}
