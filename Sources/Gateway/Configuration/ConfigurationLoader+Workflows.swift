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
        var subWorkflowNodes: [String: [(step: String, name: String, node: ConfigNode)]] = [:]
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
                            "workflow '\(spec.name)' step '\(step.id)': an llm step calls a model, group or route; to run the workflow '\(model.dropFirst(workflowModelPrefix.count).prefix(80))' write a step {id: \(step.id), workflow: {name: \(model.dropFirst(workflowModelPrefix.count).prefix(80))}}")
                    }
                    throw stepNode.error(
                        "workflow '\(spec.name)' step '\(step.id)': the model '\(model.prefix(80))' is not a chat model, group, route or experiment of this config")
                }
                if case .workflow(let sub) = step.kind {
                    subWorkflowNodes[spec.name, default: []].append((step.id, sub.name, stepNode))
                }
            }
            configuration.workflows.append(spec)
        }
        try checkSubWorkflows(configuration.workflows, references: subWorkflowNodes)
    }

    /// Every `workflow:` step names a declared workflow, no workflow reaches itself, and none run as a sub-workflow
    /// pauses for a person (its parent could not be resumed through it).
    private static func checkSubWorkflows(
        _ workflows: [WorkflowSpec], references: [String: [(step: String, name: String, node: ConfigNode)]]
    ) throws {
        let byName = Dictionary(workflows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (parent, steps) in references {
            for (step, name, node) in steps {
                guard let child = byName[name] else {
                    throw node.error(
                        "workflow '\(parent)' step '\(step)': there is no workflow '\(name)' in this config (workflows: \(byName.keys.sorted().prefix(20).joined(separator: ", ")))")
                }
                if let human = child.steps.first(where: { if case .human = $0.kind { true } else { false } }) {
                    throw node.error(
                        "workflow '\(parent)' step '\(step)': the workflow '\(name)' has a human step ('\(human.id)'), which cannot wait inside another run; put the human step in '\(parent)'")
                }
            }
        }
        // A cycle: depth-first over the references, with the path so far.
        func visit(_ name: String, path: [String]) throws {
            for (step, child, node) in references[name] ?? [] {
                if let start = path.firstIndex(of: child) {
                    let cycle = (path[start...] + [child]).joined(separator: " → ")
                    throw node.error("workflow '\(name)' step '\(step)': workflows call each other in a cycle (\(cycle)); a run would never end")
                }
                try visit(child, path: path + [child])
            }
        }
        for name in references.keys.sorted() { try visit(name, path: [name]) }
    }

    private static func stepModels(_ step: WorkflowStep) -> [String] {
        switch step.kind {
        case .llm(let call): return [call.model]
        case .validate(let validation): return validation.escalate.map { [$0] } ?? []
        case .parallel(let map): return [map.call.model]
        case .classify(let classification):
            if case .model(let model) = classification.method { return [model] }
            return []
        case .retrieve, .tool, .human, .workflow: return []
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
