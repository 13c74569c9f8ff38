import Foundation
import Routing
import SwitchyardCore

/// `experiments:` (traffic splits between variants) and `request_log:` (what the log keeps).
///
/// ```yaml
/// experiments:
///   - name: reply-model               # clients ask for model: reply-model
///     variants:                       # the first is the control
///       - {name: control, target: gpt-4o-mini, weight: 50}
///       - {name: routed, target: auto, weight: 50}
/// request_log: {store_prompts: true, retention_days: 90}
/// ```
extension ConfigurationLoader {
    static func parseExperiments(_ reader: ConfigNode, into configuration: inout SwitchyardConfiguration) throws {
        if let log = reader["request_log"] {
            try log.allowOnly(["store_prompts", "retention_days"])
            if let store = log["store_prompts"] {
                guard let value = store.node.bool else { throw store.error("must be true or false") }
                configuration.requestLog.storePrompts = value
            }
            // A whole number of days, 1 to 100 years; omitted: records are kept for ever.
            if let days = try log["retention_days"]?.int(in: 1...36_500) { configuration.requestLog.retentionDays = days }
        }
        guard let section = reader["experiments"] else { return }
        let chatModels = Set(configuration.models.filter { $0.kind == .chat }.map(\.name))
        let targets = chatModels.union(configuration.groups.map(\.name)).union(configuration.autoRoutes.map(\.name))
        let taken = Set(configuration.models.map(\.name)).union(targets)
        for node in try section.list() {
            try node.allowOnly(["name", "variants"])
            let nameNode = try node.required("name")
            let name = try nameNode.string()
            guard isExperimentName(name) else {
                throw nameNode.error("'\(name.quotedPrefix(80))' is not a usable name: 1 to 64 letters, digits, '_', '-' or '.'")
            }
            guard !taken.contains(name), !configuration.experiments.contains(where: { $0.name == name }) else {
                throw nameNode.error("the name '\(name)' is already used by a model, group, route or experiment; names must be unique")
            }
            var variants: [Experiment.Variant] = []
            for entry in try node.required("variants").list() {
                try entry.allowOnly(["name", "target", "weight"])
                let variantNode = try entry.required("name")
                let variantName = try variantNode.string()
                guard isExperimentName(variantName) else {
                    throw variantNode.error("'\(variantName.quotedPrefix(80))' is not a usable name: 1 to 64 letters, digits, '_', '-' or '.'")
                }
                guard !variants.contains(where: { $0.name == variantName }) else {
                    throw variantNode.error("the variant '\(variantName)' is listed twice in experiment '\(name)'")
                }
                let targetNode = try entry.required("target")
                let target = try targetNode.string()
                guard targets.contains(target) else {
                    let hint = configuration.models.contains(where: { $0.name == target }) ? " (it is an embedding model)" : ""
                    throw targetNode.error("target '\(target.quotedPrefix(80))' is not a chat model, group or route\(hint)")
                }
                // Finite and ≥ 0 (`double(in:)` refuses .inf, .nan and 1e400).
                let weight = try entry["weight"]?.double(in: 0...1_000_000) ?? 1
                variants.append(Experiment.Variant(name: variantName, target: target, weight: weight))
            }
            guard variants.count >= 2 else {
                throw node.error("experiment '\(name)' needs at least two variants (the first is the control)")
            }
            guard variants.contains(where: { $0.weight > 0 }) else {
                throw node["variants"]!.error("the weights of experiment '\(name)' sum to 0: give at least one variant a weight above 0")
            }
            configuration.experiments.append(Experiment(name: name, variants: variants))
        }
    }

    /// Names that go into `EXPERIMENT/VARIANT` labels, headers and URLs as they are.
    static func isExperimentName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)) }
    }
}
