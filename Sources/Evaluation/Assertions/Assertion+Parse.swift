import Foundation
import SwitchyardCore

extension Assertion {
    /// The assertion types Switchyard grades (each also as `not-TYPE`).
    public static let supportedTypes: Set<String> = [
        "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all", "starts-with", "regex",
        "is-json", "contains-json", "is-valid-openai-tools-call", "similar", "llm-rubric", "model-graded-closedqa", "cost", "latency",
    ]

    /// `supportedTypes` as a sorted, comma-separated list, for messages that say what may be written.
    public static var supportedTypesList: String { supportedTypes.sorted().joined(separator: ", ") }

    /// promptfoo types Switchyard knows of but does not grade: a suite naming one gets a message saying so
    /// (rather than "unknown type"), and the CSV `__expected` shorthand does not mistake them for plain text.
    static let unsupportedPromptfooTypes: Set<String> = [
        "javascript", "python", "ruby", "webhook", "rouge-n", "bleu", "gleu", "meteor", "levenshtein", "perplexity",
        "perplexity-score", "classifier", "moderation", "factuality", "model-graded-factuality", "answer-relevance",
        "context-faithfulness", "context-recall", "context-relevance", "select-best", "g-eval", "is-refusal", "is-sql",
        "contains-sql", "is-xml", "contains-xml", "is-html", "contains-html", "ends-with", "word-count", "finish-reason",
        "is-valid-function-call", "is-valid-openai-function-call", "tool-call-f1", "trace-span-count", "trace-span-duration",
        "trace-error-spans", "guardrails", "pi", "assert-set", "max-score", "agent-rubric", "search-rubric", "cost-per-token",
    ]

    /// The fields an assertion object may have. `label` and `description` only name it in reports.
    private static let knownFields: Set<String> = [
        "type", "value", "threshold", "weight", "metric", "provider", "rubricPrompt", "label", "description",
    ]

    /// Types whose value is compared with the answer and so must be given.
    private static let typesNeedingValue: Set<String> = [
        "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all", "starts-with", "regex",
        "similar", "model-graded-closedqa",
    ]

    /// Parses one promptfoo assertion object (`{type, value?, threshold?, weight?, metric?, provider?, rubricPrompt?}`).
    /// `field` is where it sits in the suite (`tests[2].assert[0]`); every error names it (or one of its fields) and says
    /// what to write instead.
    public static func parse(_ json: JSONValue, field: String) throws(EvalSuiteError) -> Assertion {
        guard let object = json.objectValue else {
            throw EvalSuiteError("\(field): an assertion is an object such as {type: contains, value: Paris}, not \(describe(json))")
        }
        if let transform = object.keys.first(where: { $0 == "transform" || $0 == "contextTransform" }) {
            throw EvalSuiteError("\(field).\(transform): transforms are JavaScript, which Switchyard does not run; remove it")
        }
        if let unknown = object.keys.sorted().first(where: { !knownFields.contains($0) }) {
            throw EvalSuiteError(
                "\(field).\(unknown): unknown field (an assertion has \(knownFields.sorted().joined(separator: ", ")))")
        }
        guard let written = object["type"]?.stringValue, !written.isEmpty else {
            throw EvalSuiteError("\(field).type: write the assertion's type as a string (supported: \(supportedTypesList))")
        }
        let negated = written.hasPrefix("not-")
        let type = negated ? String(written.dropFirst(4)) : written
        guard supportedTypes.contains(type) else {
            if unsupportedPromptfooTypes.contains(type) {
                throw EvalSuiteError(
                    "\(field).type: '\(written.prefix(100))' is a promptfoo type Switchyard does not grade (supported: \(supportedTypesList))")
            }
            throw EvalSuiteError("\(field).type: unknown type '\(written.prefix(100))' (supported: \(supportedTypesList))")
        }

        var assertion = Assertion(type: type, negated: negated, raw: json)
        assertion.value = object["value"].flatMap { $0 == .null ? nil : $0 }
        assertion.threshold = try object["threshold"].map { value throws(EvalSuiteError) in
            try finiteNumber(value, field: "\(field).threshold")
        }
        if let weight = object["weight"] {
            let number = try finiteNumber(weight, field: "\(field).weight")
            guard number >= 0 else { throw EvalSuiteError("\(field).weight: must be 0 or more (0 = checked but not scored), not \(number)") }
            assertion.weight = number
        }
        assertion.metric = try object["metric"].map { value throws(EvalSuiteError) in
            try nonEmptyString(value, field: "\(field).metric", what: "the name of a metric")
        }
        if let provider = object["provider"] {
            assertion.provider = try judgeProvider(provider, field: "\(field).provider")
        }
        if let rubricPrompt = object["rubricPrompt"] {
            try checkRubricPrompt(rubricPrompt, field: "\(field).rubricPrompt")
            assertion.rubricPrompt = rubricPrompt
        }
        try checkValue(of: assertion, field: field)
        return assertion
    }

    // MARK: - Field checks

    private static func checkValue(of assertion: Assertion, field: String) throws(EvalSuiteError) {
        let type = assertion.type
        let valueField = "\(field).value"
        if type == "cost" || type == "latency" {
            let limit = type == "cost"
                ? "the most it may cost, in US dollars (threshold: 0.002)" : "the most it may take, in milliseconds (threshold: 3000)"
            guard let threshold = assertion.threshold else {
                throw EvalSuiteError("\(field).threshold: '\(type)' needs a threshold: \(limit)")
            }
            guard threshold >= 0 else { throw EvalSuiteError("\(field).threshold: must be 0 or more: \(limit)") }
        }
        guard let value = assertion.value else {
            if typesNeedingValue.contains(type) {
                throw EvalSuiteError("\(valueField): '\(type)' needs a value to compare the answer with")
            }
            return
        }
        switch type {
        case "equals":
            return
        case "contains", "icontains", "starts-with":
            guard isScalar(value), Template.plain(value) != "" else {
                throw EvalSuiteError("\(valueField): '\(type)' needs a non-empty string (or number), not \(describe(value))")
            }
        case "contains-any", "contains-all", "icontains-any", "icontains-all":
            if case .string(let text) = value {
                guard !text.isEmpty else { throw EvalSuiteError("\(valueField): '\(type)' needs a list of strings or a comma-separated string") }
                if !text.contains("{{"), case .failure(let problem) = TextAssertions.commaSeparated(text) {
                    throw EvalSuiteError("\(valueField): \(problem)")
                }
            } else if let items = value.arrayValue {
                guard !items.isEmpty, items.allSatisfy(isScalar) else {
                    throw EvalSuiteError("\(valueField): '\(type)' needs a non-empty list of strings, not \(describe(value))")
                }
            } else {
                throw EvalSuiteError("\(valueField): '\(type)' needs a list of strings or a comma-separated string, not \(describe(value))")
            }
        case "regex":
            guard let pattern = value.stringValue, !pattern.isEmpty else {
                throw EvalSuiteError("\(valueField): 'regex' needs a pattern string, not \(describe(value))")
            }
            // A pattern without template variables can be checked now rather than failing every row.
            if !pattern.contains("{{"), case .invalidPattern(let problem) = BoundedRegex.firstMatch(pattern, in: "") {
                throw EvalSuiteError("\(valueField): \(problem)")
            }
        case "is-json", "contains-json":
            if case .string(let text) = value, text.contains("{{") || text.hasPrefix("file://") { return }
            if case .failure(let problem) = JSONAssertions.schema(from: value) {
                throw EvalSuiteError("\(valueField): \(problem)")
            }
        case "similar":
            let valid = value.stringValue != nil || (value.arrayValue.map { !$0.isEmpty && $0.allSatisfy { $0.stringValue != nil } } ?? false)
            guard valid else { throw EvalSuiteError("\(valueField): 'similar' needs a string or a list of strings, not \(describe(value))") }
        case "llm-rubric":
            guard value.stringValue != nil || value.objectValue != nil else {
                throw EvalSuiteError("\(valueField): 'llm-rubric' needs the rubric as a string, not \(describe(value))")
            }
        case "model-graded-closedqa":
            guard let text = value.stringValue, !text.isEmpty else {
                throw EvalSuiteError("\(valueField): 'model-graded-closedqa' needs the criterion as a string, not \(describe(value))")
            }
        case "cost", "latency":
            throw EvalSuiteError("\(valueField): '\(type)' takes no value; write the limit as threshold")
        case "is-valid-openai-tools-call":
            throw EvalSuiteError("\(valueField): 'is-valid-openai-tools-call' takes no value; the tools come from the provider's config.tools")
        default:
            return
        }
    }

    private static func finiteNumber(_ value: JSONValue, field: String) throws(EvalSuiteError) -> Double {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number) where number.isFinite: return number
        case .double: throw EvalSuiteError("\(field): must be a finite number, not \(describe(value))")
        default: throw EvalSuiteError("\(field): write a number (such as 0.8), not \(describe(value))")
        }
    }

    private static func nonEmptyString(_ value: JSONValue, field: String, what: String) throws(EvalSuiteError) -> String {
        guard let text = value.stringValue, !text.isEmpty else { throw EvalSuiteError("\(field): write \(what) as a string, not \(describe(value))") }
        return text
    }

    /// promptfoo lets `provider` be an id or `{id, config}`; the judge is asked by id.
    private static func judgeProvider(_ value: JSONValue, field: String) throws(EvalSuiteError) -> String {
        if let id = value.stringValue, !id.isEmpty { return id }
        if let id = value["id"]?.stringValue, !id.isEmpty { return id }
        throw EvalSuiteError("\(field): write the judge model's name (provider: gpt-4o-mini) or {id: NAME}, not \(describe(value))")
    }

    /// A custom grading prompt is a string or a list of chat messages with string contents.
    private static func checkRubricPrompt(_ value: JSONValue, field: String) throws(EvalSuiteError) {
        if let text = value.stringValue, !text.isEmpty { return }
        guard let messages = value.arrayValue, !messages.isEmpty else {
            throw EvalSuiteError("\(field): write the grading prompt as a string or a list of {role, content} messages, not \(describe(value))")
        }
        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue, ["system", "user", "assistant"].contains(role) else {
                throw EvalSuiteError("\(field)[\(index)].role: write system, user or assistant")
            }
            guard message["content"]?.stringValue != nil else {
                throw EvalSuiteError("\(field)[\(index)].content: write the message text as a string")
            }
        }
    }

    private static func isScalar(_ value: JSONValue) -> Bool {
        switch value {
        case .string, .int, .double, .bool: return true
        case .null, .array, .object: return false
        }
    }

    /// A short description of a value for messages: its kind and, for scalars, the value.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return "the boolean \(flag)"
        case .int(let number): return "the number \(number)"
        case .double(let number): return number.isFinite ? "the number \(number)" : "the non-finite number \(number)"
        case .string(let text): return "the string \(OutputText.quoted(text, limit: 60))"
        case .array(let items): return "a list of \(items.count)"
        case .object: return "an object"
        }
    }
}
