import Foundation
import SwitchyardCore
import Testing

/// `JSONValue.compactJSON()` writes what the fast path splices into answers: it must always be JSON that
/// reads back as the same value, whatever the strings and numbers hold.
@Suite struct CompactJSONTests {
    static let values: [JSONValue] = [
        .null, true, false, 0, -7, .int(Int64.max), .int(Int64.min), 0.1, 12.0, -0.0, 1e-05, 1e300, -2.5e-300, 123456789012345.0, 1e16,
        "", "plain", "quote \" backslash \\ slash / newline \n return \r tab \t", "\u{0} \u{1} \u{1F} \u{7F}", "é ü 漢字 🚀",
        [], [1, "two", [3.5, nil]], [:],
        ["b": 1, "a": ["z": true, "y": nil], "": "empty key", "é": 2, "A": 3, "\"": "quoted key"],
    ]

    @Test(arguments: values)
    func readsBackAsTheSameValue(_ value: JSONValue) throws {
        let text = value.compactJSON()
        let parsed = try #require(JSONValue.parse(text), "not JSON: \(text)")
        // Numbers may change case (12.0 is written 12) but not value.
        #expect(parsed.doubleValue == value.doubleValue && (parsed.doubleValue != nil || parsed == value), "\(text)")
    }

    @Test func aMegabyteStringAndDeepNestingAreWrittenWhole() throws {
        let big = String(repeating: "\"é\n", count: 350_000)  // over 1 MB once escaped
        let text = JSONValue.object(["s": .string(big)]).compactJSON()
        #expect(JSONValue.parse(text)?["s"]?.stringValue == big)
        var nested: JSONValue = 1
        for _ in 0..<100 { nested = ["k": nested, "n": .double(1e300)] }
        let parsed = try #require(JSONValue.parse(nested.compactJSON()))
        #expect(parsed == nested)
    }

    @Test func keysAreInByteOrderAndTheTextIsCompact() {
        let value: JSONValue = ["b": 1, "a": 2, "B": [1, 2]]
        #expect(value.compactJSON() == #"{"B":[1,2],"a":2,"b":1}"#)
        #expect(JSONValue.double(.nan).compactJSON() == "null")
        #expect(JSONValue.double(-.infinity).compactJSON() == "null")
        #expect(JSONValue.double(2.5).compactJSON() == "2.5")
        #expect(JSONValue.string("a\u{8}b").compactJSON() == #""a\u0008b""#)
    }
}
