import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite struct JSONAssertionTests {
    static let personSchema: JSONValue = [
        "type": "object", "required": ["name", "age"],
        "properties": ["name": ["type": "string"], "age": ["type": "integer", "minimum": 0]],
    ]

    @Test func isJSON() async throws {
        #expect(try await Fixture.grade(["type": "is-json"], #"{"a": 1}"#).pass)
        #expect(try await Fixture.grade(["type": "is-json"], " [1, 2] \n").pass)
        let prose = try await Fixture.grade(["type": "is-json"], "Sure! {\"a\": 1}")
        #expect(!prose.pass)
        #expect(prose.reason.contains("does not parse"))
        #expect(try await Fixture.grade(["type": "not-is-json"], "plain words").pass)
        #expect(!(try await Fixture.grade(["type": "not-is-json"], "{}").pass))
    }

    @Test func isJSONWithASchema() async throws {
        #expect(try await Fixture.grade(["type": "is-json", "value": Self.personSchema], #"{"name": "Ada", "age": 36}"#).pass)
        let wrong = try await Fixture.grade(["type": "is-json", "value": Self.personSchema], #"{"name": "Ada", "age": -1}"#)
        #expect(!wrong.pass)
        #expect(wrong.reason.contains("$.age"))
        let missing = try await Fixture.grade(["type": "is-json", "value": Self.personSchema], #"{"name": "Ada"}"#)
        #expect(!missing.pass)
    }

    @Test func aSchemaWrittenAsTextIsParsed() async throws {
        let yaml = "type: object\nrequired: [answer]\nproperties:\n  answer: {type: string}\n"
        #expect(try await Fixture.grade(["type": "is-json", "value": .string(yaml)], #"{"answer": "yes"}"#).pass)
        #expect(!(try await Fixture.grade(["type": "is-json", "value": .string(yaml)], #"{"answer": 1}"#).pass))
        let json = #"{"type": "array", "items": {"type": "number"}}"#
        #expect(try await Fixture.grade(["type": "is-json", "value": .string(json)], "[1, 2.5]").pass)
        #expect(!(try await Fixture.grade(["type": "is-json", "value": .string(json)], #"[1, "two"]"#).pass))
    }

    @Test func containsJSON() async throws {
        #expect(try await Fixture.grade(["type": "contains-json"], #"Here you go: {"a": [1, 2]} — enjoy"#).pass)
        #expect(try await Fixture.grade(["type": "contains-json"], "Result:\n```json\n{\"ok\": true}\n```\nDone.").pass)
        #expect(try await Fixture.grade(["type": "contains-json"], #"a list [1, "x]", {"b": "}"}] inside"#).pass)
        let none = try await Fixture.grade(["type": "contains-json"], "no braces, or a broken one { here")
        #expect(!none.pass)
        #expect(try await Fixture.grade(["type": "not-contains-json"], "just words").pass)
    }

    @Test func containsJSONWithASchemaLooksAtEveryCandidate() async throws {
        let output = #"First {"name": 1} then {"name": "Ada", "age": 36}."#
        #expect(try await Fixture.grade(["type": "contains-json", "value": Self.personSchema], output).pass)
        let none = try await Fixture.grade(["type": "contains-json", "value": Self.personSchema], #"Only {"name": 1} here"#)
        #expect(!none.pass)
        #expect(none.reason.contains("none matches"))
    }

    @Test func fencedJSONIsPreferredOverProse() throws {
        let found = JSONAssertions.jsonCandidates(in: "Use [this] form:\n```json\n{\"x\": 1}\n```")
        #expect(found.first == ["x": 1])
    }
}

@Suite struct ToolCallAssertionTests {
    static let tools: JSONValue = [
        [
            "type": "function",
            "function": [
                "name": "get_weather",
                "parameters": ["type": "object", "required": ["city"], "properties": ["city": ["type": "string"], "days": ["type": "integer"]]],
            ],
        ],
        ["type": "function", "function": ["name": "get_time", "parameters": ["type": "object", "properties": [:]]]],
    ]

    static func call(_ name: String, _ arguments: String) -> JSONValue {
        ["id": "call_1", "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
    }

    func grade(_ toolCalls: JSONValue?, output: String = "", negated: Bool = false, tools: JSONValue? = tools) async throws -> GradingResult {
        let assertion = try Fixture.assertion(["type": negated ? "not-is-valid-openai-tools-call" : "is-valid-openai-tools-call"])
        let response = EvalResponse(output: output, toolCalls: toolCalls, finishReason: "tool_calls")
        return await AssertionGrader.grade(assertion, context: Fixture.context(output, response: response, tools: tools))
    }

    @Test func validCallsPass() async throws {
        let result = try await grade([Self.call("get_weather", #"{"city": "Paris", "days": 3}"#), Self.call("get_time", "")])
        #expect(result.pass, "\(result.reason)")
        #expect(result.reason.contains("get_weather, get_time"))
        #expect(!(try await grade([Self.call("get_weather", #"{"city": "Paris"}"#)], negated: true).pass))
    }

    @Test func anUnofferedFunctionFails() async throws {
        let result = try await grade([Self.call("delete_everything", "{}")])
        #expect(!result.pass)
        #expect(result.reason.contains("delete_everything"))
        #expect(result.reason.contains("get_time, get_weather"))
    }

    @Test func argumentsMustParseAndMatchTheParameters() async throws {
        let broken = try await grade([Self.call("get_weather", #"{"city": "Par"#)])
        #expect(!broken.pass)
        #expect(broken.reason.contains("not valid JSON"))
        let wrongType = try await grade([Self.call("get_weather", #"{"city": 42}"#)])
        #expect(!wrongType.pass)
        #expect(wrongType.reason.contains("$.city"))
        let missing = try await grade([Self.call("get_weather", #"{"days": 2}"#)])
        #expect(!missing.pass)
    }

    @Test func noCallsFailsAndNegatedPasses() async throws {
        #expect(!(try await grade(nil, output: "It is sunny.").pass))
        #expect(!(try await grade(.array([])).pass))
        #expect(try await grade(nil, output: "It is sunny.", negated: true).pass)
    }

    @Test func callsWrittenAsTheAnswerTextAreRead() async throws {
        let text = JSONValue.array([Self.call("get_weather", #"{"city": "Oslo"}"#)]).jsonString()
        #expect(try await grade(nil, output: text).pass)
    }

    @Test func noOfferedToolsIsAFailureEvenWhenNegated() async throws {
        let result = try await grade([Self.call("get_weather", "{}")], tools: nil)
        #expect(!result.pass)
        #expect(result.reason.contains("config.tools"))
        #expect(!(try await grade([Self.call("get_weather", "{}")], negated: true, tools: nil).pass))
    }
}
