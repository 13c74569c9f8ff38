import Foundation
import SwitchyardCore
import Yams

/// A YAML (or JSON) file read into `JSONValue`s, remembering the line each value started on, so an
/// error can name `file:line` as well as the field.
struct YAMLDocument: Sendable {
    let root: JSONValue
    let file: String
    private let lines: [String: Int]

    /// Nesting deeper than this is refused: a suite has no reason for it, and the walk is recursive.
    static let maximumDepth = 128
    /// Most values one document may hold once aliases are expanded (a few aliases of aliases can
    /// otherwise stand for billions of values).
    static let maximumValues = 1_000_000

    init(text: String, file: String) throws {
        self.file = file
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw EvalSuiteError("\(file): not valid YAML: \(error)")
        }
        var lines: [String: Int] = [:]
        var budget = Self.maximumValues
        root = try node.map { try Self.convert($0, path: "", depth: 0, file: file, lines: &lines, budget: &budget) } ?? .null
        self.lines = lines
    }

    /// `file:line: field` for a path like `tests[2].assert[0]`.
    func location(_ path: String) -> String {
        var probe = path
        while !probe.isEmpty, lines[probe] == nil {
            guard let cut = probe.lastIndex(where: { $0 == "." || $0 == "[" }) else { probe = ""; break }
            probe = String(probe[..<cut])
        }
        let line = lines[probe].map { ":\($0)" } ?? ""
        return path.isEmpty ? "\(file)\(line)" : "\(file)\(line): `\(path)`"
    }

    private static func convert(_ node: Node, path: String, depth: Int, file: String, lines: inout [String: Int], budget: inout Int) throws -> JSONValue {
        guard depth < maximumDepth else { throw EvalSuiteError("\(file): `\(path)` is nested more than \(maximumDepth) levels deep.") }
        budget -= 1
        guard budget >= 0 else { throw EvalSuiteError("\(file): more than \(maximumValues) values once aliases are expanded; write the suite out or split it.") }
        // Errors name fields a few levels down (`tests[3].assert[1].value`); deeper values need no line or path of their own.
        let tracked = depth <= 6
        if tracked, let mark = node.mark { lines[path] = mark.line }
        switch node {
        case .scalar(let scalar):
            return scalarValue(scalar, tag: node.tag)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, path: tracked ? "\(path)[\(index)]" : path, depth: depth + 1, file: file, lines: &lines, budget: &budget))
            }
            return .array(items)
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw EvalSuiteError("\(file): `\(path)` has a key that is not a plain string.")
                }
                let name = keyScalar.string
                let childPath = !tracked ? path : path.isEmpty ? name : "\(path).\(name)"
                object[name] = try convert(value, path: childPath, depth: depth + 1, file: file, lines: &lines, budget: &budget)
            }
            return .object(object)
        case .alias:
            throw EvalSuiteError("\(file): `\(path)`: YAML aliases are not supported; repeat the value (or use defaultTest).")
        }
    }

    private static func scalarValue(_ scalar: Node.Scalar, tag: Tag) -> JSONValue {
        let text = scalar.string
        switch Tag.Name(rawValue: tag.rawValue) {
        case .null: return .null
        case .bool: return Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(text)
        case .int:
            if let number = Int64(text) { return .int(number) }
            if let number = Int.construct(from: scalar) { return .int(Int64(number)) }
            return Double(text).flatMap { $0.isFinite ? JSONValue.double($0) : nil } ?? .string(text)
        case .float:
            // `.inf` and `.nan` stay text: no JSON number holds them, and every number a suite gives is checked where it is used.
            if let number = Double.construct(from: scalar), number.isFinite { return .double(number) }
            return .string(text)
        default: return .string(text)
        }
    }
}
