import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct ExpectedShorthandTests {
    func read(_ text: String) throws -> Assertion { try Assertion.fromExpected(text, field: "tests.csv row 3 __expected") }

    @Test func plainTextMustBeEqual() throws {
        let assertion = try read("  Paris  ")
        #expect(assertion.type == "equals")
        #expect(assertion.value == "Paris")
        #expect(try read("contains is a word").type == "equals")
        #expect(try read("foo:bar").value == "foo:bar")
    }

    @Test(arguments: [
        ("contains:Paris", "contains", false, JSONValue.string("Paris")),
        ("icontains: paris ", "icontains", false, .string("paris")),
        ("not-contains:sorry", "contains", true, .string("sorry")),
        ("regex:^\\d+$", "regex", false, .string("^\\d+$")),
        ("starts-with:Yes", "starts-with", false, .string("Yes")),
        ("contains-any:a, b", "contains-any", false, .string("a, b")),
        ("not-icontains-all:x,y", "icontains-all", true, .string("x,y")),
        ("equals:Paris", "equals", false, .string("Paris")),
    ])
    func prefixes(text: String, type: String, negated: Bool, value: JSONValue) throws {
        let assertion = try read(text)
        #expect(assertion.type == type)
        #expect(assertion.negated == negated)
        #expect(assertion.value == value)
    }

    @Test func jsonTypes() throws {
        let isJSON = try read("is-json")
        #expect(isJSON.type == "is-json")
        #expect(isJSON.value == nil)
        #expect(try read("not-contains-json").negated)
        #expect(try read(#"is-json:{"type": "object"}"#).value == .string(#"{"type": "object"}"#))
    }

    @Test func similarTakesPromptfoosCSVDefaultOrTheWrittenThreshold() throws {
        let plain = try read("similar:The capital is Paris")
        #expect(plain.type == "similar")
        #expect(plain.value == "The capital is Paris")
        #expect(plain.threshold == 0.8)
        #expect(try read("similar(0.65):Paris").threshold == 0.65)
        #expect(try read("not-similar(0.9):Paris").negated)
        #expect(try read("similar(abc):Paris").type == "equals")
    }

    @Test func rubrics() throws {
        let grade = try read("grade: is polite")
        #expect(grade.type == "llm-rubric")
        #expect(grade.value == "is polite")
        #expect(try read("llm-rubric:mentions a city").value == "mentions a city")
    }

    @Test func costAndLatencyTakeTheirThresholdInParentheses() throws {
        #expect(try read("cost(0.002)").threshold == 0.002)
        #expect(try read("latency(1500)").threshold == 1500)
        #expect(throws: EvalSuiteError.self) { try read("latency") }
    }

    @Test(arguments: ["fn:output.length < 10", "javascript: output.includes('x')", "eval:1", "python: len(output) > 3", "file://check.py:grade"])
    func codeIsRefusedWithAMessage(text: String) throws {
        let error = try #require(throws: EvalSuiteError.self) { try read(text) }
        #expect(error.message.hasPrefix("tests.csv row 3 __expected: "))
        #expect(error.message.contains("Switchyard does not run") || error.message.contains("not run by Switchyard"))
    }

    @Test func knownButUnsupportedTypesAreNamed() throws {
        let error = try #require(throws: EvalSuiteError.self) { try read("rouge-n(0.5):the text") }
        #expect(error.message.contains("'rouge-n' is a promptfoo type Switchyard does not grade"))
        #expect(throws: EvalSuiteError.self) { try read("not-levenshtein:abc") }
    }

    @Test func shorthandValuesAreStillTemplates() async throws {
        let assertion = try read("contains:{{ city }}")
        let result = await AssertionGrader.grade(assertion, context: Fixture.context("In Paris", vars: ["city": "Paris"]))
        #expect(result.pass)
    }
}
