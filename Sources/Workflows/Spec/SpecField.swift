import Evaluation
import Foundation
import SwitchyardCore

/// A JSON value with where it sits in a workflow, so every error says where and what.
struct SpecField {
    var value: JSONValue
    var path: [WorkflowSpecError.Segment]
    var workflow: String
    var stepID: String?

    subscript(key: String) -> SpecField? {
        guard let child = value.objectValue?[key], child != .null else { return nil }
        return self.child(key, value: child)
    }

    func child(_ key: String, value: JSONValue = .null) -> SpecField {
        SpecField(value: value, path: path + [.key(key)], workflow: workflow, stepID: stepID)
    }

    func error(_ message: String) -> WorkflowSpecError {
        WorkflowSpecError(workflow: workflow, stepID: stepID, path: path, message: message)
    }

    func required(_ key: String) throws(WorkflowSpecError) -> SpecField {
        guard let field = self[key] else { throw child(key).error("missing required field `\(key)`") }
        return field
    }

    func allowOnly(_ keys: Set<String>) throws(WorkflowSpecError) {
        guard let object = value.objectValue else { throw error("must be a mapping (key: value pairs)") }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw child(unknown).error("unknown field `\(unknown.prefix(64))`; allowed here: \(keys.sorted().joined(separator: ", "))")
        }
    }

    func string() throws(WorkflowSpecError) -> String {
        switch value {
        case .string(let text): return text
        case .int, .double, .bool: return Template.plain(value)
        default: throw error("must be a single value (a string)")
        }
    }

    func nonEmptyString() throws(WorkflowSpecError) -> String {
        let text = try string()
        guard !text.isEmpty, text.count <= 256 else { throw error("must be a name of 1 to 256 characters") }
        return text
    }

    func int(in range: ClosedRange<Int>) throws(WorkflowSpecError) -> Int {
        let number: Int? = switch value {
        case .int(let int): Int(exactly: int)
        case .double(let double): double.isFinite ? Int(exactly: double) : nil
        default: nil
        }
        guard let number, range.contains(number) else {
            throw error("must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func number(in range: ClosedRange<Double>) throws(WorkflowSpecError) -> Double {
        let number: Double? = switch value {
        case .int(let int): Double(int)
        case .double(let double): double
        default: nil
        }
        guard let number, number.isFinite, range.contains(number) else {
            throw error("must be a number from \(NumberText.plain(range.lowerBound)) to \(NumberText.plain(range.upperBound))")
        }
        return number
    }

    func list() throws(WorkflowSpecError) -> [SpecField] {
        guard let items = value.arrayValue else { throw error("must be a list") }
        return items.enumerated().map { SpecField(value: $1, path: path + [.index($0)], workflow: workflow, stepID: stepID) }
    }
}
