import Foundation

/// A spec that cannot run as written. `path` locates the field inside the workflow (so the config loader can
/// name the line); `description` names the workflow, the step id, the field and what to write instead.
public struct WorkflowSpecError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Segment: Sendable, Hashable {
        case key(String)
        case index(Int)
    }
    public var workflow: String
    public var stepID: String?
    public var path: [Segment]
    public var message: String

    public init(workflow: String, stepID: String? = nil, path: [Segment], message: String) {
        self.workflow = workflow
        self.stepID = stepID
        self.path = path
        self.message = message
    }

    /// `steps[1].llm.model`.
    public var field: String {
        var text = ""
        for segment in path {
            switch segment {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    public var description: String {
        let step = stepID.map { " step '\($0)'" } ?? ""
        let field = self.field.isEmpty ? "" : " \(self.field):"
        return "workflow '\(workflow)'\(step):\(field) \(message)"
    }
}
