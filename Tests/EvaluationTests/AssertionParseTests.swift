import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct AssertionParseTests {
    func parseError(_ object: JSONValue, field: String = "tests[2].assert[0]") -> String? {
        do {
            _ = try Assertion.parse(object, field: field)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func readsEveryField() throws {
        let raw: JSONValue = [
            "type": "not-llm-rubric", "value": "is rude", "threshold": 0.5, "weight": 2, "metric": "tone",
            "provider": ["id": "judge-large", "config": ["temperature": 0]], "rubricPrompt": "Grade {{ output }}",
        ]
        let assertion = try Assertion.parse(raw, field: "tests[0].assert[0]")
        #expect(assertion.type == "llm-rubric")
        #expect(assertion.negated)
        #expect(assertion.value == "is rude")
        #expect(assertion.threshold == 0.5)
        #expect(assertion.weight == 2)
        #expect(assertion.metric == "tone")
        #expect(assertion.provider == "judge-large")
        #expect(assertion.rubricPrompt == "Grade {{ output }}")
        #expect(assertion.raw == raw)
    }

    @Test func defaults() throws {
        let assertion = try Assertion.parse(["type": "contains", "value": "x"], field: "a")
        #expect(!assertion.negated)
        #expect(assertion.weight == 1)
        #expect(assertion.threshold == nil)
        #expect(assertion.metric == nil)
    }

    @Test func everySupportedTypeParses() throws {
        for type in Assertion.supportedTypes {
            var object: [String: JSONValue] = ["type": .string(type)]
            switch type {
            case "cost", "latency": object["threshold"] = 1
            case "is-json", "contains-json", "is-valid-openai-tools-call", "llm-rubric": break
            case "regex": object["value"] = "a+"
            case "contains-any", "contains-all", "icontains-any", "icontains-all": object["value"] = ["a", "b"]
            default: object["value"] = "text"
            }
            #expect(throws: Never.self) { try Assertion.parse(.object(object), field: "f") }
            object["type"] = .string("not-" + type)
            #expect(throws: Never.self) { try Assertion.parse(.object(object), field: "f") }
        }
    }

    @Test func unknownTypesListTheSupportedOnes() throws {
        let message = try #require(parseError(["type": "contains-emoji"]))
        #expect(message.hasPrefix("tests[2].assert[0].type: unknown type 'contains-emoji'"))
        #expect(message.contains("supported: contains, contains-all"))
        let javascript = try #require(parseError(["type": "javascript", "value": "output.length > 3"]))
        #expect(javascript.contains("promptfoo type Switchyard does not grade"))
        #expect(try #require(parseError(["value": "x"])).contains(".type: write the assertion's type"))
        #expect(try #require(parseError("contains")).contains("an assertion is an object"))
    }

    @Test(arguments: [
        (JSONValue.string("0.8"), "write a number"),
        (.double(.nan), "finite"),
        (.double(.infinity), "finite"),
        (.double(-.infinity), "finite"),
        (.bool(true), "write a number"),
    ])
    func thresholdsMustBeFiniteNumbers(threshold: JSONValue, says: String) throws {
        let message = try #require(parseError(["type": "similar", "value": "x", "threshold": threshold]))
        #expect(message.hasPrefix("tests[2].assert[0].threshold: "))
        #expect(message.contains(says))
    }

    @Test func thresholdOf1e309IsRefused() throws {
        // 1e309 overflows a double: whatever the JSON reader makes of it (infinity, or no value), it is no threshold.
        let parsed = JSONValue.parse(#"{"type": "similar", "value": "x", "threshold": 1e309}"#)
        if let parsed { #expect(parseError(parsed) != nil) }
        #expect(parseError(["type": "similar", "value": "x", "threshold": .double(Double("1e309") ?? .infinity)]) != nil)
    }

    @Test func weightsMustBeFiniteAndNotNegative() throws {
        #expect(try #require(parseError(["type": "contains", "value": "x", "weight": -1])).contains("weight: must be 0 or more"))
        #expect(try #require(parseError(["type": "contains", "value": "x", "weight": .double(.nan)])).contains("weight: must be a finite number"))
        #expect(try #require(parseError(["type": "contains", "value": "x", "weight": .double(.infinity)])).contains(".weight"))
        #expect(try #require(parseError(["type": "contains", "value": "x", "weight": "heavy"])).contains(".weight: write a number"))
        #expect(try Assertion.parse(["type": "contains", "value": "x", "weight": 0], field: "f").weight == 0)
    }

    @Test func wrongTypedFieldsNameTheField() throws {
        #expect(try #require(parseError(["type": "contains", "value": "x", "metric": 3])).contains(".metric: write the name of a metric"))
        #expect(try #require(parseError(["type": "llm-rubric", "value": "x", "provider": 3])).contains(".provider: write the judge model"))
        #expect(try #require(parseError(["type": "llm-rubric", "value": "x", "rubricPrompt": 3])).contains(".rubricPrompt: write the grading prompt"))
        let badRole: JSONValue = ["type": "llm-rubric", "value": "x", "rubricPrompt": [["role": "judge", "content": "x"]]]
        #expect(try #require(parseError(badRole)).contains(".rubricPrompt[0].role"))
        #expect(try #require(parseError(["type": "contains", "value": ["a"]])).contains(".value: 'contains' needs a non-empty string"))
        #expect(try #require(parseError(["type": "contains"])).contains(".value: 'contains' needs a value"))
        #expect(try #require(parseError(["type": "contains-any", "value": [["a"]]])).contains(".value:"))
        #expect(try #require(parseError(["type": "contains-all", "value": #""unclosed, b"#])).contains("not closed"))
        #expect(try #require(parseError(["type": "similar", "value": 3])).contains(".value: 'similar' needs a string"))
        #expect(try #require(parseError(["type": "is-json", "value": "not: [a schema"])).contains(".value:"))
        #expect(try #require(parseError(["type": "is-json", "value": 5])).contains(".value: write a JSON schema"))
        #expect(try #require(parseError(["type": "contains", "value": "x", "colour": "red"])).contains(".colour: unknown field"))
        let transform: JSONValue = ["type": "contains", "value": "x", "transform": "output.trim()"]
        #expect(try #require(parseError(transform)).contains(".transform: transforms are JavaScript"))
    }

    @Test func regexPatternsAreCheckedUnlessTheyAreTemplates() throws {
        let message = try #require(parseError(["type": "regex", "value": "([a-z]"]))
        #expect(message.hasPrefix("tests[2].assert[0].value: /([a-z]/ is not a valid regular expression"))
        #expect(parseError(["type": "regex", "value": "{{ pattern }}"]) == nil)
    }

    @Test func costAndLatencyNeedAThreshold() throws {
        #expect(try #require(parseError(["type": "cost"])).contains(".threshold: 'cost' needs a threshold"))
        #expect(try #require(parseError(["type": "latency"])).contains("in milliseconds"))
        #expect(try #require(parseError(["type": "latency", "threshold": -5])).contains("0 or more"))
        #expect(try #require(parseError(["type": "cost", "threshold": 0.1, "value": 3])).contains("takes no value"))
    }

    @Test func schemaStringsAreParsedAtParseTimeButFileReferencesAreLeftToTheLoader() throws {
        #expect(parseError(["type": "is-json", "value": "type: object"]) == nil)
        #expect(parseError(["type": "contains-json", "value": "file://schema.json"]) == nil)
    }
}
