import Foundation
import SwitchyardCore

extension JudgeCalibration {
    /// One human-labelled example: an output, the rubric it was graded against, and the human's verdict.
    public struct Example: Sendable, Hashable {
        /// The file's `id` (a string or number as written), else `line N`.
        public var id: String
        public var output: String
        public var rubric: String
        /// The question the output answers, when the file gives it (judge prompts may show it).
        public var prompt: String?
        /// The human verdict: true = pass.
        public var label: Bool
        /// 1-based line in the labels file (0 for examples made in code).
        public var line: Int

        public init(id: String, output: String, rubric: String, prompt: String? = nil, label: Bool, line: Int = 0) {
            self.id = id
            self.output = output
            self.rubric = rubric
            self.prompt = prompt
            self.label = label
            self.line = line
        }
    }

    /// Labels files larger than this are refused rather than read into memory.
    public static let maximumLabelsFileBytes = 256 << 20

    /// Reads a labels file: JSON Lines of `{"output": str, "rubric": str, "prompt"?: str, "label": bool | "pass" | "fail"
    /// | 1 | 0, "id"?: str | number}`. Blank lines are skipped; errors name the file, the line and the field.
    public static func load(path: String) throws(EvalSuiteError) -> [Example] {
        let url = URL(fileURLWithPath: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        if let size, size > maximumLabelsFileBytes {
            throw EvalSuiteError("\(path): \(size) bytes is more than the \(maximumLabelsFileBytes >> 20) MB a labels file may have")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw EvalSuiteError("\(path): cannot read the labels file (\(error.localizedDescription))")
        }
        guard data.count <= maximumLabelsFileBytes else {
            throw EvalSuiteError("\(path): more than the \(maximumLabelsFileBytes >> 20) MB a labels file may have")
        }
        return try parse(jsonLines: String(decoding: data, as: UTF8.self), source: path)
    }

    /// Parses labels-file text (see `load(path:)`); `source` names it in errors.
    public static func parse(jsonLines text: String, source: String) throws(EvalSuiteError) -> [Example] {
        var examples: [Example] = []
        var seen: [String: Int] = [:]
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let place = "\(source) line \(number)"
            guard let value = JSONValue.parse(trimmed) else {
                throw EvalSuiteError("\(place): not valid JSON; each line is one object {\"output\", \"rubric\", \"label\"}")
            }
            guard let object = value.objectValue else {
                throw EvalSuiteError("\(place): each line is one JSON object {\"output\", \"rubric\", \"label\"}, not \(Assertion.describe(value))")
            }
            let example = try example(object, line: number, place: place)
            if let first = seen[example.id] {
                throw EvalSuiteError("\(place): id: \(OutputText.quoted(example.id, limit: 60)) is already used on line \(first); ids must be unique")
            }
            seen[example.id] = number
            examples.append(example)
        }
        guard !examples.isEmpty else { throw EvalSuiteError("\(source): no labelled examples (one JSON object per line)") }
        return examples
    }

    private static func example(_ object: [String: JSONValue], line: Int, place: String) throws(EvalSuiteError) -> Example {
        func requiredString(_ key: String) throws(EvalSuiteError) -> String {
            guard let value = object[key] else { throw EvalSuiteError("\(place): \(key): missing; write it as a string") }
            guard let text = value.stringValue else { throw EvalSuiteError("\(place): \(key): write a string, not \(Assertion.describe(value))") }
            return text
        }
        let output = try requiredString("output")
        let rubric = try requiredString("rubric")
        guard !rubric.isEmpty else { throw EvalSuiteError("\(place): rubric: empty; write what the output must do") }
        var prompt: String?
        if let value = object["prompt"], value != .null {
            guard let text = value.stringValue else { throw EvalSuiteError("\(place): prompt: write a string, not \(Assertion.describe(value))") }
            prompt = text
        }
        let id: String
        switch object["id"] {
        case nil, .null?: id = "line \(line)"
        case .string(let text)? where !text.isEmpty: id = text
        case .int(let number)?: id = String(number)
        case let other?: throw EvalSuiteError("\(place): id: write a string or a whole number, not \(Assertion.describe(other))")
        }
        guard let labelValue = object["label"] else {
            throw EvalSuiteError("\(place): label: missing; write true/false, \"pass\"/\"fail\" or 1/0")
        }
        let label: Bool
        switch labelValue {
        case .bool(let flag): label = flag
        case .int(1): label = true
        case .int(0): label = false
        case .double(let number) where number == 1 || number == 0: label = number == 1
        case .string(let text) where ["pass", "fail"].contains(text.lowercased()): label = text.lowercased() == "pass"
        default: throw EvalSuiteError("\(place): label: write true/false, \"pass\"/\"fail\" or 1/0, not \(Assertion.describe(labelValue))")
        }
        return Example(id: id, output: output, rubric: rubric, prompt: prompt, label: label, line: line)
    }
}
