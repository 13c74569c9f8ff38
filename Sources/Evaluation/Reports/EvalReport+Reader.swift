import Foundation
import SwitchyardCore

/// One cell of a results file, as much as learning from it needs: which test, which provider, how it
/// scored and what it cost.
public struct EvalResultRecord: Sendable, Hashable {
    /// promptfoo's row number (repeats count as separate rows).
    public var testIdx: Int
    /// promptfoo's column number: an index into `results.prompts`, one per provider × prompt.
    public var promptIdx: Int
    public var providerID: String
    /// Nil when the file gives none.
    public var providerLabel: String?
    public var vars: [String: JSONValue]
    /// The prompt as sent (`prompt.raw`; older files' `prompt.display` when there is no `raw`).
    public var prompt: String
    /// The answer's text; JSON text when the output was not a string; nil when there was none.
    public var output: String?
    public var success: Bool
    public var score: Double
    public var failureReason: EvalFailureReason
    /// The call's error (or, as promptfoo writes it, the failed assertion's reason).
    public var error: String?
    public var cost: Double
    public var latencyMs: Double
    /// The test's metadata overlaid with the cell's.
    public var metadata: [String: JSONValue]
    public var description: String?

    public init(
        testIdx: Int, promptIdx: Int, providerID: String, providerLabel: String? = nil, vars: [String: JSONValue] = [:],
        prompt: String = "", output: String? = nil, success: Bool, score: Double, failureReason: EvalFailureReason = .none,
        error: String? = nil, cost: Double = 0, latencyMs: Double = 0, metadata: [String: JSONValue] = [:], description: String? = nil
    ) {
        self.testIdx = testIdx
        self.promptIdx = promptIdx
        self.providerID = providerID
        self.providerLabel = providerLabel
        self.vars = vars
        self.prompt = prompt
        self.output = output
        self.success = success
        self.score = score
        self.failureReason = failureReason
        self.error = error
        self.cost = cost
        self.latencyMs = latencyMs
        self.metadata = metadata
        self.description = description
    }
}

extension EvalReport {
    /// Reads the cells of a results file: ours, or one promptfoo wrote (`{evalId, results: {version,
    /// results: [...]}}`; also a bare summary `{results: [...]}` or a bare array of results).
    ///
    /// Fields promptfoo marks optional may be missing (score falls back to the grading's, cost and
    /// latency to the response's, vars to the test case's). A field that is required, or present with
    /// the wrong type, is an error naming its path: `results.results[3].provider`.
    public static func readResults(_ data: Data) throws -> [EvalResultRecord] {
        try readResults(parse(data))
    }

    /// The cells of a results file already parsed (see `readResults(_:)` for `Data`).
    public static func readResults(_ root: JSONValue) throws -> [EvalResultRecord] {
        let (cells, path) = try resultsArray(root)
        return try cells.enumerated().map { index, cell in try record(cell, path: "\(path)[\(index)]") }
    }

    /// A results file's JSON; not JSON at all is an error for the whole file.
    static func parse(_ data: Data) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw EvalReportError(path: "", "not valid JSON (\(shortDescription(error)))")
        }
    }

    private static func resultsArray(_ root: JSONValue) throws -> ([JSONValue], String) {
        if let cells = root.arrayValue { return (cells, "") }
        guard let object = root.objectValue else { throw EvalReportError(path: "", "expected an object with `results`, found \(kind(root))") }
        switch object["results"] {
        case .array(let cells)?: return (cells, "results")
        case .object(let summary)?:
            guard let inner = summary["results"] else { throw EvalReportError(path: "results.results", "missing: expected the array of results") }
            guard let cells = inner.arrayValue else { throw EvalReportError(path: "results.results", "expected an array, found \(kind(inner))") }
            return (cells, "results.results")
        case let other?: throw EvalReportError(path: "results", "expected an object or an array, found \(kind(other))")
        case nil: throw EvalReportError(path: "results", "missing: this is not a promptfoo or Switchyard results file")
        }
    }

    private static func record(_ cell: JSONValue, path: String) throws -> EvalResultRecord {
        guard let object = cell.objectValue else { throw EvalReportError(path: path, "expected an object, found \(kind(cell))") }
        let fields = Fields(object: object, path: path)
        let testCase = try fields.object("testCase")
        let response = try fields.object("response")
        let grading = try fields.object("gradingResult")
        let provider = try providerFields(object["provider"], path: "\(path).provider")

        let testIdx = try fields.index("testIdx")
        let promptIdx = try fields.index("promptIdx")
        let errorText = try fields.string("error")
        let gradingPass = try grading.map { try Fields(object: $0, path: "\(path).gradingResult").bool("pass") } ?? nil
        guard let success = try fields.bool("success") ?? gradingPass ?? (errorText != nil ? false : nil) else {
            throw EvalReportError(path: "\(path).success", "missing, and no gradingResult.pass to take it from")
        }
        let gradingScore = try grading.map { try Fields(object: $0, path: "\(path).gradingResult").number("score") } ?? nil
        let score = try fields.number("score") ?? gradingScore ?? (success ? 1 : 0)
        let responseFields = response.map { Fields(object: $0, path: "\(path).response") }
        let cost = try fields.number("cost") ?? responseFields?.number("cost") ?? 0
        let latency = try fields.number("latencyMs") ?? responseFields?.number("latencyMs") ?? 0

        let failureReason: EvalFailureReason
        if let code = try fields.index("failureReason", required: false) {
            guard let reason = EvalFailureReason(rawValue: code) else {
                throw EvalReportError(path: "\(path).failureReason", "expected 0, 1 or 2, found \(code)")
            }
            failureReason = reason
        } else {
            // Files older than `failureReason`: a cell that failed with no grading failed on its call.
            failureReason = success ? .none : (grading == nil && errorText != nil ? .error : .assertion)
        }

        let testFields = testCase.map { Fields(object: $0, path: "\(path).testCase") }
        var metadata = try testFields?.object("metadata") ?? [:]
        metadata.merge(try fields.object("metadata") ?? [:]) { _, cell in cell }
        let output: String? = response?["output"].flatMap { value in value == .null ? nil : text(of: value) }
        return EvalResultRecord(
            testIdx: testIdx ?? 0, promptIdx: promptIdx ?? 0, providerID: provider.id, providerLabel: provider.label,
            vars: try fields.object("vars") ?? testFields?.object("vars") ?? [:],
            prompt: try promptText(object["prompt"], path: "\(path).prompt"), output: output,
            success: success, score: score, failureReason: failureReason, error: errorText, cost: cost, latencyMs: latency,
            metadata: metadata, description: try fields.string("description") ?? testFields?.string("description"))
    }

    /// `provider` is `{id, label?}` in promptfoo's files; some writers put the id string alone.
    private static func providerFields(_ value: JSONValue?, path: String) throws -> (id: String, label: String?) {
        switch value {
        case .string(let id)?: return (id, nil)
        case .object(let object)?:
            let fields = Fields(object: object, path: path)
            guard let id = try fields.string("id") else { throw EvalReportError(path: "\(path).id", "missing: expected the provider's id") }
            let label = try fields.string("label")
            return (id, label?.isEmpty == false ? label : nil)
        case nil, .null?: throw EvalReportError(path: path, "missing: expected {\"id\", \"label\"}")
        case let other?: throw EvalReportError(path: path, "expected an object or a string, found \(kind(other))")
        }
    }

    private static func promptText(_ value: JSONValue?, path: String) throws -> String {
        switch value {
        case nil, .null?: return ""
        case .string(let text)?: return text
        case .object(let object)?:
            let fields = Fields(object: object, path: path)
            if let raw = object["raw"], raw.stringValue == nil, raw != .null { return raw.jsonString() }
            return try fields.string("raw") ?? fields.string("display") ?? ""
        case let other?: throw EvalReportError(path: path, "expected an object or a string, found \(kind(other))")
        }
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private static func shortDescription(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        return "\(error)"
    }

    /// Typed reads of an object's optional fields: absent and null are nil, a wrong type is an error.
    private struct Fields {
        let object: [String: JSONValue]
        let path: String

        private func value(_ key: String) -> JSONValue? {
            guard let value = object[key], value != .null else { return nil }
            return value
        }

        private func mismatch(_ key: String, _ expected: String, _ found: JSONValue) -> EvalReportError {
            EvalReportError(path: "\(path).\(key)", "expected \(expected), found \(EvalReport.kind(found))")
        }

        func string(_ key: String) throws -> String? {
            guard let value = value(key) else { return nil }
            guard let text = value.stringValue else { throw mismatch(key, "a string", value) }
            return text
        }

        func bool(_ key: String) throws -> Bool? {
            guard let value = value(key) else { return nil }
            guard let flag = value.boolValue else { throw mismatch(key, "true or false", value) }
            return flag
        }

        func number(_ key: String) throws -> Double? {
            guard let value = value(key) else { return nil }
            guard let number = value.doubleValue, number.isFinite else { throw mismatch(key, "a finite number", value) }
            return number
        }

        /// A non-negative whole number (`3` or `3.0`); required unless told otherwise.
        func index(_ key: String, required: Bool = true) throws -> Int? {
            guard let value = value(key) else {
                if required { throw EvalReportError(path: "\(path).\(key)", "missing: expected a whole number") }
                return nil
            }
            let whole: Int? =
                switch value {
                case .int(let number): Int(exactly: number)
                case .double(let number): Int(exactly: number)
                default: nil
                }
            guard let whole, whole >= 0 else { throw mismatch(key, "a whole number ≥ 0", value) }
            return whole
        }

        func object(_ key: String) throws -> [String: JSONValue]? {
            guard let value = value(key) else { return nil }
            guard let object = value.objectValue else { throw mismatch(key, "an object", value) }
            return object
        }
    }
}
