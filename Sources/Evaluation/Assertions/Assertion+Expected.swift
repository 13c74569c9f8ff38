import Foundation
import SwitchyardCore

extension Assertion {
    /// promptfoo's CSV default for `similar:` without a threshold (its YAML default is 0.75).
    public static let expectedColumnSimilarityThreshold = 0.8

    /// Reads the CSV `__expected` column shorthand as promptfoo does: `TYPE:VALUE` or `TYPE(THRESHOLD):VALUE`
    /// for a known type (`contains:Paris`, `not-icontains:sorry`, `similar(0.8):…`, `is-json`, `cost(0.01)`),
    /// `grade:` / `llm-rubric:` for a rubric, and anything else as text the answer must equal.
    /// `fn:`, `javascript:`, `eval:` and `python:` are code Switchyard does not run: an error says so.
    public static func fromExpected(_ text: String, field: String) throws(EvalSuiteError) -> Assertion {
        let expected = text.trimmingCharacters(in: .whitespacesAndNewlines)
        for prefix in ["javascript:", "fn:", "eval:", "python:"] where expected.hasPrefix(prefix) {
            let language = prefix == "python:" ? "Python" : "JavaScript"
            throw EvalSuiteError(
                "\(field): '\(prefix)' assertions are \(language), which Switchyard does not run; write a declarative one instead "
                    + "(contains:, icontains:, regex:, is-json, similar:, llm-rubric:, …)")
        }
        if expected.hasPrefix("file://"), expected.hasSuffix(".js") || expected.hasSuffix(".py") || expected.contains(".py:") {
            throw EvalSuiteError(
                "\(field): script assertions (\(OutputText.quoted(expected, limit: 60))) are not run by Switchyard; write a declarative one instead")
        }
        for prefix in ["grade:", "llm-rubric:"] where expected.hasPrefix(prefix) {
            let rubric = String(expected.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
            return try parse(["type": "llm-rubric", "value": .string(rubric)], field: field)
        }
        guard let shorthand = Shorthand(expected) else {
            return try parse(["type": "equals", "value": .string(expected)], field: field)
        }
        let written = (shorthand.negated ? "not-" : "") + shorthand.type
        if unsupportedPromptfooTypes.contains(shorthand.type) {
            throw EvalSuiteError("\(field): '\(written)' is a promptfoo type Switchyard does not grade (supported: \(supportedTypesList))")
        }
        var object: [String: JSONValue] = ["type": .string(written)]
        switch shorthand.type {
        case "contains-any", "contains-all", "icontains-any", "icontains-all":
            // The list is split when graded (after its template variables are filled in), as a YAML string value is.
            if let value = shorthand.value { object["value"] = .string(value) }
        case "is-json", "contains-json":
            if let value = shorthand.value, !value.trimmingCharacters(in: .whitespaces).isEmpty { object["value"] = .string(value) }
        default:
            if let value = shorthand.value { object["value"] = .string(value.trimmingCharacters(in: .whitespaces)) }
        }
        if let threshold = shorthand.threshold {
            object["threshold"] = .double(threshold)
        } else if shorthand.type == "similar" {
            object["threshold"] = .double(expectedColumnSimilarityThreshold)
        }
        return try parse(.object(object), field: field)
    }
}

/// `not-TYPE(THRESHOLD):VALUE`, split; nil when the text does not start with a type promptfoo knows.
private struct Shorthand {
    var negated: Bool
    var type: String
    var threshold: Double?
    var value: String?

    init?(_ text: String) {
        var rest = Substring(text)
        negated = rest.hasPrefix("not-")
        if negated { rest = rest.dropFirst(4) }
        let known = Assertion.supportedTypes.union(Assertion.unsupportedPromptfooTypes)
        // The type is the known name followed by the end, `(` or `:` (so `contains-any:` is not `contains`).
        guard
            let name = known.first(where: { name in
                guard rest.hasPrefix(name) else { return false }
                let after = rest.dropFirst(name.count)
                return after.isEmpty || after.first == "(" || after.first == ":"
            })
        else { return nil }
        type = name
        rest = rest.dropFirst(name.count)
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            let number = rest[rest.index(after: rest.startIndex)..<close]
            // promptfoo's pattern: digits with an optional fraction; anything else is not shorthand.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                number.filter({ $0 == "." }).count <= 1, let parsed = Double(number), parsed.isFinite
            else { return nil }
            threshold = parsed
            rest = rest[rest.index(after: close)...]
        }
        if rest.isEmpty {
            value = nil
        } else if rest.first == ":" {
            value = String(rest.dropFirst())
        } else {
            return nil
        }
    }
}
