import Foundation
import SwitchyardCore

/// Training data derived from observed outcomes (the request log's feedback, an eval's results)
/// rather than read from a file: one example per prompt that several models answered.
extension RoutingDataset {
    /// What derivation kept and left out, for the command to report.
    public struct Derivation: Sendable, Hashable {
        /// Observations read.
        public var observations = 0
        /// Distinct prompts (after whitespace normalisation).
        public var prompts = 0
        /// Prompts only one model answered: they cannot teach a pairwise router.
        public var singleModelPrompts = 0
        /// Prompts several models answered, but not both of the pair asked for (`weak`/`strong`).
        public var missingPairPrompts = 0
        /// Examples kept.
        public var examples = 0
        /// Models seen, with how many kept examples score each.
        public var models: [String: Int] = [:]
    }

    /// A derivation that left too few usable examples; the message says why and what to do.
    public struct DerivationError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var derivation: Derivation
        public var description: String { message }
    }

    /// Fewest examples a derived dataset may have: below it cross-validation has nothing to hold out.
    public static let minimumDerivedExamples = 10

    /// Groups observations by prompt text (whitespace-normalised): a prompt several models answered
    /// becomes one example whose outcome per model is the mean of its values; one answered by a
    /// single model is left out and counted. With `pair`, examples must score both models. The
    /// example's id is its first observation's request id, its source that observation's source
    /// (else "log"); examples keep the order of their first observation.
    public static func derived(
        from observations: [OutcomeObservation], pair: (weak: String, strong: String)? = nil, minimumExamples: Int = minimumDerivedExamples
    ) throws -> (RoutingDataset, Derivation) {
        var derivation = Derivation()
        derivation.observations = observations.count
        var order: [String] = []
        var groups: [String: (first: OutcomeObservation, values: [String: [Double]])] = [:]
        for observation in observations {
            let key = normalizedPrompt(observation.prompt)
            guard !key.isEmpty, observation.value.isFinite else { continue }
            if groups[key] == nil {
                order.append(key)
                groups[key] = (observation, [:])
            }
            groups[key]!.values[observation.model, default: []].append(min(1, max(0, observation.value)))
        }
        derivation.prompts = order.count
        var examples: [RoutingExample] = []
        for key in order {
            let group = groups[key]!
            guard group.values.count >= 2 else {
                derivation.singleModelPrompts += 1
                continue
            }
            if let pair, group.values[pair.weak] == nil || group.values[pair.strong] == nil {
                derivation.missingPairPrompts += 1
                continue
            }
            let outcomes = group.values.mapValues { $0.reduce(0, +) / Double($0.count) }
            for model in outcomes.keys { derivation.models[model, default: 0] += 1 }
            examples.append(RoutingExample(
                id: group.first.requestID, source: group.first.source ?? "log", prompt: group.first.prompt, outcomes: outcomes))
        }
        derivation.examples = examples.count
        guard examples.count >= minimumExamples else {
            var message = "Only \(examples.count) usable example\(examples.count == 1 ? "" : "s") (prompts answered by two or more models"
                + (pair.map { ", including \($0.weak) and \($0.strong)" } ?? "") + ") out of \(derivation.observations) observations"
                + " of \(derivation.prompts) prompts; at least \(minimumExamples) are needed."
            if derivation.singleModelPrompts > 0 {
                message += " \(derivation.singleModelPrompts) prompts answered by one model only were left out; use experiments or evals to get both."
            }
            if derivation.missingPairPrompts > 0 {
                message += " \(derivation.missingPairPrompts) prompts lacked one of the pair."
            }
            throw DerivationError(message: message, derivation: derivation)
        }
        return (RoutingDataset(examples: examples), derivation)
    }

    /// Runs of whitespace become one space; leading and trailing whitespace goes.
    public static func normalizedPrompt(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// The dataset as JSON Lines `RoutingDataset.parse` reads back: `{"id", "source", "prompt", "outcomes"}`.
    public func jsonLines() -> String {
        examples.map { example in
            var object: [String: JSONValue] = [
                "id": .string(example.id), "prompt": .string(example.prompt),
                "outcomes": .object(example.outcomes.mapValues { .double($0) }),
            ]
            if let source = example.source { object["source"] = .string(source) }
            return JSONValue.object(object).jsonString()
        }.joined(separator: "\n") + (examples.isEmpty ? "" : "\n")
    }
}
