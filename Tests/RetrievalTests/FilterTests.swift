import SwitchyardCore
import Testing

@testable import Retrieval

@Suite("Metadata filters")
struct FilterTests {
    let document: [String: JSONValue] = ["source": "a.md", "year": 2021, "lang": "en", "tags": ["x", "y"], "score": 0.5]

    func matches(_ filter: String) throws -> Bool {
        try MetadataFilter.parse(JSONValue.parse(filter)!).matches { document[$0] }
    }

    @Test func equalsInAndRange() throws {
        #expect(try matches(#"{"source": "a.md", "year": {"gte": 2020}, "lang": {"in": ["en", "de"]}}"#))
        #expect(try !matches(#"{"source": "b.md"}"#))
        #expect(try matches(#"{"year": 2021.0}"#))
        #expect(try !matches(#"{"year": {"gt": 2021}}"#))
        #expect(try matches(#"{"year": {"gt": 2020, "lte": 2021}}"#))
        #expect(try !matches(#"{"year": {"lt": 2021}}"#))
        #expect(try !matches(#"{"lang": {"in": ["fr"]}}"#))
        #expect(try matches(#"{"tags": "y"}"#))
        #expect(try matches(#"{"missing": {"ne": 1}, "lang": {"ne": "de"}}"#))
        #expect(try !matches(#"{"missing": 1}"#))
        #expect(try !matches(#"{"missing": {"gte": 0}}"#))
        #expect(try matches(#"{"missing": {"exists": false}, "year": {"exists": true}}"#))
        #expect(try !matches(#"{"lang": {"gte": 3}}"#))  // a string against a number has no order
    }

    @Test func errorsNameTheField() {
        for (filter, param) in [
            (#"{"year": {"gte": [1]}}"#, "filter.year.gte"), (#"{"year": {"between": 1}}"#, "filter.year.between"),
            (#"{"lang": {"in": "en"}}"#, "filter.lang.in"), (#"{"lang": ["en"]}"#, "filter.lang"), (#"[1]"#, "filter"),
        ] {
            let error = #expect(throws: SwitchyardError.self) { try MetadataFilter.parse(JSONValue.parse(filter)!) }
            #expect(error?.param == param, "\(filter)")
            #expect(error?.status == 400)
        }
    }
}

@Suite("Context packing")
struct PackerTests {
    func hit(_ document: String, _ position: Int, _ score: Float, _ text: String) -> SearchHit {
        SearchHit(
            chunkID: Int64(position + 100 * Int(document.unicodeScalars.first!.value)), documentID: document, score: score, text: text,
            position: position, headingPath: [], tokenCount: wordCount(text), title: document.uppercased())
    }

    @Test func mergesNeighboursDropsDuplicatesAndKeepsTheBudget() {
        let hits = [
            hit("b", 0, 0.9, "Bravo facts about the second topic are listed here in full."),
            hit("a", 1, 0.8, "first part ends here. Then the middle sentence is long enough to overlap."),
            hit("a", 2, 0.7, "Then the middle sentence is long enough to overlap. And the last part."),
            hit("c", 0, 0.6, "Bravo facts about the second topic are listed here in full!"),  // near-duplicate of b
            hit("d", 5, 0.5, String(repeating: "filler ", count: 200)),  // does not fit
        ]
        let packed = ContextPacker(maxTokens: 80).pack(hits, query: "q")
        #expect(packed.passages.map(\.documentID) == ["b", "a"])
        #expect(packed.passages[1].text == "first part ends here. Then the middle sentence is long enough to overlap. And the last part.")
        #expect(packed.passages[1].hits.map(\.position) == [1, 2])
        #expect(packed.tokens <= 80)
        #expect(packed.rendered.contains("[1] B\nBravo facts"))
        #expect(packed.rendered.contains("[2] A\nfirst part"))
        #expect(!packed.rendered.contains("filler"))
    }

    @Test func neighboursInDifferentSectionsStayApart() {
        var first = hit("a", 0, 0.9, "Roll back with deploy --revert.")
        first.headingPath = ["Guide", "Rollback"]
        var second = hit("a", 1, 0.8, "Rotate keys every 90 days.")
        second.headingPath = ["Guide", "Secrets"]
        let packed = ContextPacker(maxTokens: 500).pack([first, second])
        #expect(packed.passages.count == 2)
        #expect(packed.rendered.contains("[1] A — Guide › Rollback\nRoll back"))
        #expect(packed.rendered.contains("[2] A — Guide › Secrets\nRotate"))
    }

    @Test func templateGetsContextAndQuery() {
        let packed = ContextPacker(maxTokens: 100, template: "Q: {query}\n---\n{context}").pack([hit("a", 0, 1, "Alpha.")], query: "what?")
        #expect(packed.rendered == "Q: what?\n---\n[1] A\nAlpha.")
    }
}
