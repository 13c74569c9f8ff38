import Foundation
import Testing

@testable import SwitchyardTesting

@Suite("Directive parsing")
struct MockScriptTests {
    @Test func parsesNamesValuesAndNestedJSON() {
        let directives = MockScript.directives(in: #"x [[reply: a b]] y [[JSON]] [[tool: f {"grid": [[1, 2], [3]], "s": "]]"}]]"#)
        #expect(directives.map(\.name) == ["reply", "json", "tool"])
        #expect(directives[0].value == "a b")
        #expect(directives[2].value == #"f {"grid": [[1, 2], [3]], "s": "]]"}"#)
    }

    @Test func replyForAnswersOnlyForThatModel() {
        let text = "[[reply: everyone]] [[reply-for Big-1: only big]]"
        #expect(MockScript(text: text, fault: nil, defaultChunkDelayMs: 0, model: "big-1").reply == "only big")
        #expect(MockScript(text: text, fault: nil, defaultChunkDelayMs: 0, model: "small-1").reply == "everyone")
        #expect(MockScript(text: text, fault: nil, defaultChunkDelayMs: 0).reply == "everyone")
    }

    @Test func unbalancedTextFallsBackToTheFirstClose() {
        let directives = MockScript.directives(in: #"[[reply: a { b]] [[stop: length]]"#)
        #expect(directives.map(\.name) == ["reply", "stop"])
        #expect(directives[0].value == "a { b")
    }

    @Test func scriptFromTextAndFault() {
        let script = MockScript(
            text: #"[[tool: f {"a": 1}]] [[tool: g]] [[error: 429 retry-after=2]] [[chunk-delay: 5]]"#, fault: "delay: 7",
            defaultChunkDelayMs: 1)
        #expect(script.toolCalls.map(\.name) == ["f", "g"])
        #expect(script.toolCalls.map(\.arguments) == [#"{"a": 1}"#, "{}"])
        #expect(script.error?.status == 429)
        #expect(script.error?.retryAfter == "2")
        #expect(script.chunkDelayMs == 5)
        #expect(script.delayMs == 7)
        #expect(MockScript(text: "", fault: nil, defaultChunkDelayMs: 9).chunkDelayMs == 9)
    }
}
