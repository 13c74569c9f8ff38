import SwitchyardCore
import Testing

@testable import Guardrails

@Suite("JSON schema validation")
struct JSONSchemaValidatorTests {
    let schema: JSONValue = [
        "type": "object",
        "properties": [
            "name": ["type": "string", "minLength": 2, "maxLength": 5],
            "age": ["type": "integer", "minimum": 0, "maximum": 150],
            "tags": ["type": "array", "items": ["type": "string", "enum": ["a", "b"]], "minItems": 1, "maxItems": 2],
            "kind": ["const": "person"],
            "code": ["type": "string", "pattern": "^[A-Z]{3}$"],
            "ref": ["$ref": "#/$defs/point"],
            "either": ["anyOf": [["type": "integer"], ["type": "null"]]],
            "one": ["oneOf": [["type": "number"], ["type": "integer"]]],
        ],
        "required": ["name", "age"],
        "additionalProperties": false,
        "$defs": ["point": ["type": "object", "properties": ["x": ["type": "number"]], "required": ["x"]]],
    ]

    @Test(arguments: [
        (#"{"name": "Al", "age": 3}"#, nil),
        (#"{"name": "🦊🦊", "age": 3.0, "tags": ["a"], "kind": "person", "code": "ABC", "ref": {"x": 1.5}, "either": null}"#, nil),
        (#"not json"#, "the answer is not valid JSON"),
        (#"{"age": 3}"#, "$: missing required property 'name'"),
        (#"{"name": "A", "age": 3}"#, "$.name: must be at least 2 characters long"),
        (#"{"name": "Alexander", "age": 3}"#, "$.name: must be at most 5 characters long"),
        (#"{"name": "Al", "age": 3.5}"#, "$.age: must be integer, not number"),
        (#"{"name": "Al", "age": -1}"#, "$.age: must be at least 0"),
        (#"{"name": "Al", "age": 3, "extra": 1}"#, "$: property 'extra' is not allowed"),
        (#"{"name": "Al", "age": 3, "tags": []}"#, "$.tags: must have at least 1 items"),
        (#"{"name": "Al", "age": 3, "tags": ["c"]}"#, #"$.tags[0]: must be one of ["a","b"]"#),
        (#"{"name": "Al", "age": 3, "kind": "robot"}"#, #"$.kind: must be "person""#),
        (#"{"name": "Al", "age": 3, "code": "abc"}"#, #"$.code: must match the pattern "^[A-Z]{3}$""#),
        (#"{"name": "Al", "age": 3, "ref": {}}"#, "$.ref: missing required property 'x'"),
        (#"{"name": "Al", "age": 3, "one": 2}"#, "$.one: must match exactly one of oneOf, matches 2"),
    ] as [(String, String?)])
    func validates(text: String, expected: String?) {
        let error = JSONSchemaValidator(schema: schema).firstError(text: text)
        if let expected {
            #expect(error?.hasPrefix(expected) == true, "\(error ?? "nil")")
        } else {
            #expect(error == nil)
        }
    }

    @Test func hostileSchemasGiveErrorsNotTraps() {
        // A $ref to itself, a deep chain, a huge minLength, a bad pattern.
        let selfReference: JSONValue = ["$ref": "#"]
        #expect(JSONSchemaValidator(schema: selfReference).firstError(.int(1))?.contains("too deep") == true)
        var deep: JSONValue = ["type": "integer"]
        for _ in 0..<200 { deep = ["items": deep] }
        var value: JSONValue = .string("x")
        for _ in 0..<200 { value = .array([value]) }
        #expect(JSONSchemaValidator(schema: deep).firstError(value)?.contains("too deep") == true)
        #expect(JSONSchemaValidator(schema: ["minLength": .double(1e300)]).firstError(.string("x")) != nil)
        #expect(JSONSchemaValidator(schema: ["pattern": "("]).firstError(.string("x"))?.contains("not a valid regular") == true)
        #expect(JSONSchemaValidator(schema: ["$ref": "#/nowhere"]).firstError(.int(1))?.contains("cannot be resolved") == true)
        #expect(JSONSchemaValidator(schema: .bool(false)).firstError(.int(1)) != nil)
    }
}
