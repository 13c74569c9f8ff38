import Foundation
import SwitchyardCore
import Workflows
import Yams

/// `workflows:`: declared multi-step pipelines, each callable as the model `workflow/NAME`.
///
/// ```yaml
/// workflows:
///   - name: draft-and-check
///     max_cost_usd: 0.05
///     steps:
///       - {id: draft, llm: {model: cheap-model, prompt: "Answer briefly: {{input}}"}}
///       - {id: check, validate: {step: draft, assert: [{type: icontains, value: refund}], on_fail: {retry: 1, escalate: strong-model}}}
/// ```
extension ConfigurationLoader {
    /// The prefix that names a workflow where a model is expected.
    public static let workflowModelPrefix = "workflow/"

    static func parseWorkflows(_ reader: ConfigNode, into configuration: inout SwitchyardConfiguration) throws {
        guard let section = reader["workflows"] else { return }
        var names: Set<String> = []
        let chatModels = configuration.models.filter { $0.kind == .chat }.map(\.name)
        let known = Set(chatModels + configuration.groups.map(\.name) + configuration.autoRoutes.map(\.name) + configuration.experiments.map(\.name))
        for node in try section.list() {
            let spec: WorkflowSpec
            do {
                spec = try WorkflowSpec.parse(yamlToJSON(node.node))
            } catch {
                // The line of the deepest field the error names that the YAML has.
                throw locate(error.path, in: node).error(error.description)
            }
            guard names.insert(spec.name).inserted else {
                throw (node["name"] ?? node).error("a workflow named '\(spec.name)' is already declared; names must be unique")
            }
            for (index, step) in spec.steps.enumerated() {
                let stepNode = locate([.key("steps"), .index(index)], in: node)
                for model in stepModels(step) where !known.contains(model) {
                    if model.hasPrefix(workflowModelPrefix) {
                        throw stepNode.error(
                            "workflow '\(spec.name)' step '\(step.id)': a step cannot call another workflow ('\(model.prefix(80))') yet; name a model, group or route")
                    }
                    throw stepNode.error(
                        "workflow '\(spec.name)' step '\(step.id)': the model '\(model.prefix(80))' is not a chat model, group, route or experiment of this config")
                }
            }
            configuration.workflows.append(spec)
        }
    }

    private static func stepModels(_ step: WorkflowStep) -> [String] {
        switch step.kind {
        case .llm(let call): return [call.model]
        case .validate(let validation): return validation.escalate.map { [$0] } ?? []
        case .parallel(let map): return [map.call.model]
        case .classify(let classification): return [classification.model]
        }
    }

    private static func locate(_ path: [WorkflowSpecError.Segment], in node: ConfigNode) -> ConfigNode {
        var current = node
        for segment in path {
            switch segment {
            case .key(let key):
                guard let next = current[key] else { return current }
                current = next
            case .index(let index):
                guard let items = try? current.list(), items.indices.contains(index) else { return current }
                current = items[index]
            }
        }
        return current
    }
}
