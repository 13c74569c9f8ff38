import Foundation
import Guardrails
import SwitchyardCore

extension JSONAssertions {
    /// `is-valid-openai-tools-call`: the answer called at least one tool, every call names a function the request
    /// offered, and its arguments parse as JSON and match that function's `parameters` schema.
    static func validToolsCall(context: AssertionContext) -> CheckOutcome {
        let expectation = "call offered tools with valid arguments"
        guard let offered = context.tools?.arrayValue, !offered.isEmpty else {
            return .unable("the call offered no tools to check against: set the provider's config.tools", expectation: expectation)
        }
        var functions: [String: JSONValue] = [:]
        for tool in offered {
            // OpenAI's `{type: function, function: {name, parameters}}`, or a bare `{name, parameters}`.
            let function = tool["function"] ?? tool
            if let name = function["name"]?.stringValue { functions[name] = function["parameters"] ?? .object([:]) }
        }
        let offeredNames = functions.keys.sorted().prefix(20).joined(separator: ", ")
        guard let calls = toolCalls(context), !calls.isEmpty else {
            return .binary(false, expectation: expectation, finding: "it called no tools; it answered \(OutputText.quoted(context.output))")
        }
        for (index, call) in calls.enumerated() {
            let label = "tool_calls[\(index)]"
            if let type = call["type"]?.stringValue, type != "function" {
                return .binary(false, expectation: expectation, finding: "\(label) has type \(OutputText.quoted(type, limit: 40)), not function")
            }
            guard let function = call["function"], let name = function["name"]?.stringValue else {
                return .binary(false, expectation: expectation, finding: "\(label) has no function name: \(OutputText.quoted(call.jsonString()))")
            }
            guard let parameters = functions[name] else {
                return .binary(
                    false, expectation: expectation,
                    finding: "\(label) calls \(OutputText.quoted(name, limit: 60)), which was not offered (offered: \(offeredNames))")
            }
            let arguments: JSONValue
            switch function["arguments"] {
            case .string(let text):
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                // A call without arguments may send "" for a function that takes none.
                guard let parsed = trimmed.isEmpty ? .object([:]) : JSONValue.parse(trimmed) else {
                    return .binary(
                        false, expectation: expectation,
                        finding: "\(label) (\(name)) arguments are not valid JSON: \(OutputText.quoted(text))")
                }
                arguments = parsed
            case .object(let object):
                arguments = .object(object)
            case nil, .null:
                arguments = .object([:])
            case let other?:
                return .binary(
                    false, expectation: expectation, finding: "\(label) (\(name)) arguments are \(Assertion.describe(other)), not a JSON string")
            }
            if let problem = JSONSchemaValidator(schema: parameters).firstError(arguments) {
                return .binary(false, expectation: expectation, finding: "\(label) (\(name)) arguments do not match its parameters: \(problem)")
            }
        }
        let names = calls.compactMap { $0["function"]?["name"]?.stringValue }
        return .binary(true, expectation: expectation, finding: "it called \(names.prefix(10).joined(separator: ", "))")
    }

    /// The response's `tool_calls`; when it has none, the answer text as a JSON list of calls (or an object with
    /// `tool_calls`), which some providers return instead.
    private static func toolCalls(_ context: AssertionContext) -> [JSONValue]? {
        if let calls = context.response.toolCalls {
            return calls.arrayValue ?? calls["tool_calls"]?.arrayValue
        }
        guard let parsed = JSONValue.parse(context.output) else { return nil }
        return parsed.arrayValue ?? parsed["tool_calls"]?.arrayValue
    }
}
