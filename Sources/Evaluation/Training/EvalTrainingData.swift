import Foundation
import SwitchyardCore

/// A learned router's training example, from eval results: one prompt, what each model's answer scored.
public struct EvalTrainingExample: Sendable, Hashable {
    public var id: String
    public var source: String?
    public var prompt: String
    public var outcomes: [String: Double]

    /// The routing data line (`{"id", "source", "prompt", "outcomes"}`) the router commands read.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "prompt": .string(prompt), "outcomes": .object(outcomes.mapValues { .double($0) }),
        ]
        if let source { object["source"] = .string(source) }
        return .object(object)
    }
}

/// Turns eval results (ours or promptfoo's) into per-prompt outcomes per model.
public enum EvalTrainingData {
    /// What a cell's outcome is: its score (the weighted assertion score, in [0, 1]) or its verdict (1 or 0).
    public enum Outcome: String, Sendable, CaseIterable {
        case score, pass
    }

    public struct Derivation: Sendable {
        public var examples: [EvalTrainingExample]
        /// Cells left out because the call failed (an error is no verdict on quality).
        public var erroredCells: Int
    }

    /// One example per distinct (rendered prompt, vars), in the order they first appear; each
    /// provider's outcome is the mean over its repeats. (promptfoo numbers cells per provider × prompt
    /// column and per repeat, so its indices cannot group them.) The model name is the provider's label
    /// when one was given, else the Switchyard name its id asks for (`openai:chat:gpt-4o` → `gpt-4o`).
    /// The example's `id` and `source` come from the test's vars or metadata (`id`, `source`), so
    /// cross-validation can group by source.
    public static func derive(_ records: [EvalResultRecord], outcome: Outcome = .score) -> Derivation {
        struct Key: Hashable { var prompt: String; var vars: String }
        var order: [Key] = []
        var first: [Key: EvalResultRecord] = [:]
        var sums: [Key: [String: (total: Double, count: Int)]] = [:]
        var errored = 0
        for record in records {
            let key = Key(prompt: record.prompt, vars: JSONValue.object(record.vars).jsonString())
            if first[key] == nil {
                first[key] = record
                order.append(key)
            }
            guard record.failureReason != .error else {
                errored += 1
                continue
            }
            let model = modelName(id: record.providerID, label: record.providerLabel)
            let value = outcome == .pass ? (record.success ? 1 : 0) : min(max(record.score.isFinite ? record.score : 0, 0), 1)
            var entry = sums[key, default: [:]][model] ?? (0, 0)
            entry.total += value
            entry.count += 1
            sums[key, default: [:]][model] = entry
        }
        var seenIDs: [String: Int] = [:]
        let examples: [EvalTrainingExample] = order.enumerated().compactMap { position, key in
            guard let record = first[key], let scores = sums[key], !scores.isEmpty else { return nil }
            var id = field("id", record) ?? "test-\(position)"
            seenIDs[id, default: 0] += 1
            if seenIDs[id]! > 1 { id += "#\(seenIDs[id]!)" }  // the same test under several prompts
            return EvalTrainingExample(
                id: id, source: field("source", record) ?? record.description, prompt: lastUserText(record.prompt),
                outcomes: scores.mapValues { $0.total / Double($0.count) })
        }
        return Derivation(examples: examples, erroredCells: errored)
    }

    static func modelName(id: String, label: String?) -> String {
        if let label, !label.isEmpty, label != id { return label }
        return ProviderID.model(for: id)
    }

    private static func field(_ name: String, _ record: EvalResultRecord) -> String? {
        for value in [record.vars[name], record.metadata[name]] {
            switch value {
            case .string(let text)?: return text
            case .int(let number)?: return String(number)
            default: continue
            }
        }
        return nil
    }

    /// A chat prompt's last user message; a text prompt as it is.
    static func lastUserText(_ prompt: String) -> String {
        let trimmed = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("["), let messages = JSONValue.parse(trimmed)?.arrayValue,
            messages.allSatisfy({ $0["role"]?.stringValue != nil })
        {
            return EvalCall(model: "", messages: messages).lastUserText
        }
        return prompt
    }
}
