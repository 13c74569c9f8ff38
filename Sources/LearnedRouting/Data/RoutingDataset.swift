import Foundation
import SwitchyardCore

/// One labelled prompt: what each candidate model's answer was worth.
public struct RoutingExample: Sendable, Hashable {
    public var id: String
    /// Where the prompt comes from (e.g. `mmlu/astronomy`); cross-validation groups by it.
    public var source: String?
    /// The text the router looks at: `prompt`, or the last user turn of `messages`.
    public var prompt: String
    /// Score in [0, 1] per model (a correctness flag is 0 or 1).
    public var outcomes: [String: Double]

    public init(id: String, source: String? = nil, prompt: String, outcomes: [String: Double]) {
        self.id = id
        self.source = source
        self.prompt = prompt
        self.outcomes = outcomes
    }
}

/// A bad line in a routing data file; the message names the file, the line and the field.
public struct RoutingDataError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var field: String
    public var message: String

    public var description: String { "\(file):\(line): field `\(field)`: \(message)" }
}

/// JSON Lines of labelled prompts:
/// `{"id"?, "source"?, "prompt" | "messages", "weak_correct" + "strong_correct" | "outcomes": {model: score}}`.
public struct RoutingDataset: Sendable {
    public static let weakName = "weak"
    public static let strongName = "strong"

    public var examples: [RoutingExample]

    public init(examples: [RoutingExample]) { self.examples = examples }

    public static func load(path: String) throws -> RoutingDataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RoutingDataError(file: path, line: 0, field: "-", message: "cannot read the file.")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    public static func parse(_ text: String, file: String) throws -> RoutingDataset {
        var examples: [RoutingExample] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fail: (String, String) -> RoutingDataError = { RoutingDataError(file: file, line: lineNumber, field: $0, message: $1) }
            guard let json = JSONValue.parse(line), let object = json.objectValue else {
                throw fail("-", "not a JSON object.")
            }
            let prompt: String
            if let value = object["prompt"] {
                guard let text = value.stringValue else { throw fail("prompt", "must be a string.") }
                prompt = text
            } else if let value = object["messages"] {
                guard let messages = value.arrayValue else { throw fail("messages", "must be an array of {role, content}.") }
                guard let last = messages.last(where: { $0["role"]?.stringValue == "user" }) else {
                    throw fail("messages", "has no message with role \"user\".")
                }
                guard let content = Self.text(of: last["content"]) else {
                    throw fail("messages", "the last user message's `content` must be a string or an array of text parts.")
                }
                prompt = content
            } else {
                throw fail("prompt", "missing: give `prompt` (a string) or `messages`.")
            }
            var outcomes: [String: Double] = [:]
            if let value = object["outcomes"] {
                guard let scores = value.objectValue, !scores.isEmpty else {
                    throw fail("outcomes", "must be an object {model: score in [0, 1]} with at least one model.")
                }
                for (model, score) in scores {
                    outcomes[model] = try Self.score(score, field: "outcomes.\(model)", fail: fail)
                }
            }
            for (field, model) in [("weak_correct", weakName), ("strong_correct", strongName)] {
                if let value = object[field] { outcomes[model] = try Self.score(value, field: field, fail: fail) }
            }
            guard !outcomes.isEmpty else {
                throw fail("outcomes", "missing: give `weak_correct` and `strong_correct`, or `outcomes: {model: score}`.")
            }
            let id: String
            switch object["id"] {
            case .string(let text)?: id = text
            case .int(let number)?: id = String(number)
            case nil, .null?: id = String(lineNumber)
            default: throw fail("id", "must be a string or an integer.")
            }
            var source: String?
            if let value = object["source"], value != .null {
                guard let text = value.stringValue else { throw fail("source", "must be a string.") }
                source = text
            }
            examples.append(RoutingExample(id: id, source: source, prompt: prompt, outcomes: outcomes))
        }
        guard !examples.isEmpty else { throw RoutingDataError(file: file, line: 0, field: "-", message: "no examples.") }
        return RoutingDataset(examples: examples)
    }

    private static func text(of content: JSONValue?) -> String? {
        if let text = content?.stringValue { return text }
        guard let parts = content?.arrayValue else { return nil }
        let texts = parts.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }
        return texts.isEmpty ? nil : texts.joined(separator: "\n")
    }

    private static func score(_ value: JSONValue, field: String, fail: (String, String) -> RoutingDataError) throws -> Double {
        switch value {
        case .bool(let flag): return flag ? 1 : 0
        case .int(let number) where number == 0 || number == 1: return Double(number)
        case .double(let number) where (0...1).contains(number): return number
        default: throw fail(field, "must be true/false or a number in [0, 1].")
        }
    }

    /// Models named in every example, the cheaper-looking (lower mean score) first.
    public var modelsByMeanScore: [(name: String, mean: Double)] {
        let shared = examples.dropFirst().reduce(Set(examples.first?.outcomes.keys.map { $0 } ?? [])) {
            $0.intersection($1.outcomes.keys)
        }
        return shared.map { name in (name, examples.reduce(0) { $0 + ($1.outcomes[name] ?? 0) } / Double(examples.count)) }
            .sorted { ($0.mean, $0.name) < ($1.mean, $1.name) }
    }

    /// The weak and strong model: given, or `weak`/`strong` when the file uses the flags, or the two
    /// models every line scores, the lower mean being the weak one.
    public func pair(weak: String?, strong: String?) throws -> (weak: String, strong: String) {
        let models = modelsByMeanScore.map(\.name)
        if let weak, let strong {
            for name in [weak, strong] where !models.contains(name) {
                throw RoutingDataError(file: "-", line: 0, field: "outcomes", message: "model '\(name)' is not scored on every line (have: \(models.joined(separator: ", "))).")
            }
            return (weak, strong)
        }
        if models.contains(Self.weakName), models.contains(Self.strongName) { return (Self.weakName, Self.strongName) }
        guard models.count == 2 else {
            throw RoutingDataError(
                file: "-", line: 0, field: "outcomes",
                message: "\(models.count) models are scored on every line (\(models.joined(separator: ", "))); say which pair with --weak and --strong.")
        }
        return (models[0], models[1])
    }

    /// Keeps the examples whose source is (or is not) in `sources`.
    public func filtered(sources: Set<String>, keep: Bool) -> RoutingDataset {
        RoutingDataset(examples: examples.filter { sources.contains($0.source ?? "") == keep })
    }
}
