import Foundation
import SwitchyardCore
import Testing

/// The fast path forwards a body as bytes only when this scan vouches for it: it must refuse
/// everything `JSONDecoder` would refuse at the top level, and find members exactly.
@Suite struct JSONScannerTests {
    static func scan(_ text: String) -> [String: String]? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw -> [String: String]? in
            guard let (members, closing) = JSONScanner.members(raw) else { return nil }
            #expect(raw[closing] == UInt8(ascii: "}"))
            var out: [String: String] = [:]
            for member in members {
                out[String(decoding: raw[member.key], as: UTF8.self)] = String(decoding: raw[member.value], as: UTF8.self)
            }
            return out
        }
    }

    @Test func findsTopLevelMembersOnly() {
        let found = Self.scan(#" { "model" : "gpt-4o", "tools": [{"parameters": {"model": "x"}}], "n": -1.5e3, "s": "a\"b\\c\u00e9", "t": true, "u": null } "#)
        #expect(found?["model"] == #""gpt-4o""#)
        #expect(found?["tools"] == #"[{"parameters": {"model": "x"}}]"#)
        #expect(found?["n"] == "-1.5e3")
        #expect(found?["s"] == #""a\"b\\c\u00e9""#)
        #expect(found?.count == 6)
        #expect(Self.scan("{}")?.isEmpty == true)
    }

    @Test(arguments: [
        "", "[]", "\"x\"", "{", "{\"a\": 1,}", "{\"a\" 1}", "{\"a\": 01}", "{\"a\": 1.}", "{\"a\": .5}", "{\"a\": -}", "{\"a\": 1e}",
        "{\"a\": tru}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12G4\"}", "{\"a\": \"\u{01}\"}", "{\"a\": 1} x", "{\"a\": [1, 2}", "{\"a\": 1}{}",
        "{\"model\": \"a\", \"model\": \"b\"}", "{a: 1}", "{\"a\": NaN}", "{\"a\": Infinity}", "{\"a\": \"unterminated}",
    ])
    func refusesWhatIsNotOneStrictObject(_ text: String) {
        #expect(Self.scan(text) == nil, "\(text)")
    }

    static func elements(_ text: String) -> [String]? {
        Array(text.utf8).withUnsafeBytes { raw in
            JSONScanner.elements(raw)?.map { String(decoding: raw[$0], as: UTF8.self) }
        }
    }

    @Test func stringsMustBeUTF8() {
        func scans(_ bytes: [UInt8]) -> Bool {
            (Array(#"{"a": ""#.utf8) + bytes + Array(#""}"#.utf8)).withUnsafeBytes { JSONScanner.members($0) != nil }
        }
        // é, 中, 😀 and the last scalar: fine.
        for good: [UInt8] in [[0xC3, 0xA9], [0xE4, 0xB8, 0xAD], [0xF0, 0x9F, 0x98, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xEF, 0xBF, 0xBD]] {
            #expect(scans(good), "\(good)")
        }
        // A stray continuation, overlong forms, a surrogate, past U+10FFFF, cut sequences, bytes never in UTF-8.
        for bad: [UInt8] in [
            [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xC3], [0xE4, 0xB8], [0xF0, 0x9F, 0x98], [0xC3, 0x41], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE],
        ] {
            #expect(!scans(bad), "\(bad)")
        }
    }

    @Test func findsArrayElements() {
        #expect(Self.elements(#" [ {"a": [1, 2]} , "x,y" ,3, null,[] ] "#) == [#"{"a": [1, 2]}"#, #""x,y""#, "3", "null", "[]"])
        #expect(Self.elements("[]") == [])
        for broken in ["", "{}", "[", "[1,]", "[,1]", "[1 2]", "[1] x", "[\"a]", "[tru]"] {
            #expect(Self.elements(broken) == nil, "\(broken)")
        }
        let deep = String(repeating: "[", count: JSONScanner.maxDepth + 2) + String(repeating: "]", count: JSONScanner.maxDepth + 2)
        #expect(Self.elements(deep) == nil)
    }

    @Test func boundsItsDepth() {
        let deep = "{\"a\": " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(Self.scan(deep) == nil)
        let fine = "{\"a\": " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(Self.scan(fine) != nil)
    }

    @Test func hostileSizesAndNumbersAreScannedNotTrusted() {
        // A 1 MB string, 100,000 members, and numbers no Int or Double holds: valid JSON, scanned in one pass.
        let big = String(repeating: "x", count: 1 << 20)
        #expect(Self.scan("{\"model\": \"\(big)\"}")?["model"]?.utf8.count == (1 << 20) + 2)
        let many = "{" + (0..<100_000).map { "\"k\($0)\": \($0)" }.joined(separator: ",") + "}"
        #expect(Self.scan(many)?.count == 100_000)
        let numbers = Self.scan(#"{"a": 1e300, "b": 1e309, "c": -1, "d": 99999999999999999999}"#)
        #expect(numbers?["b"] == "1e309" && numbers?["c"] == "-1")
        let bytes = Array("1e309 -1 99999999999999999999".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(JSONScanner.integer(0..<5, in: raw) == nil)
            #expect(JSONScanner.integer(6..<8, in: raw) == nil)
            #expect(JSONScanner.integer(9..<29, in: raw) == nil)
        }
    }

    @Test func integersAreCheckedNotTrapped() {
        let bytes = Array("123 99999999999999999999 1.5 -3 0".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(JSONScanner.integer(0..<3, in: raw) == 123)
            #expect(JSONScanner.integer(4..<24, in: raw) == nil)
            #expect(JSONScanner.integer(25..<28, in: raw) == nil)
            #expect(JSONScanner.integer(29..<31, in: raw) == nil)
            #expect(JSONScanner.integer(32..<33, in: raw) == 0)
        }
    }

    /// Whatever the scan accepts, `JSONSerialization` accepts too (random mutations of a chat body).
    @Test func agreesWithFoundationOnMutatedBodies() {
        let base = Array(#"{"model": "m", "messages": [{"role": "user", "content": "hi \"there\""}], "max_tokens": 5, "stream": false}"#.utf8)
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("{}[]\":,\\ 0123456789.eE-+tfnaulrsx".utf8)
        for _ in 0..<3_000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[index] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
                if bytes.isEmpty { break }
            }
            let scanned = bytes.withUnsafeBytes { JSONScanner.members($0) != nil }
            if scanned {
                let parsed = try? JSONSerialization.jsonObject(with: Data(bytes))
                #expect(parsed is [String: Any], "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }
}
