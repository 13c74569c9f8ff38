import Foundation
import SwitchyardCore

/// A compact JSON Schema validator for what structured outputs use: `type`, `properties`, `required`,
/// `additionalProperties`, `items`, `enum`, `const`, `minimum`/`maximum` (and the exclusive ones),
/// `minLength`/`maxLength` (in code points), `minItems`/`maxItems`, `anyOf`/`oneOf`/`allOf`, `not`,
/// `pattern`, and local `$ref`s (`#/$defs/…`, `#/definitions/…`). Unknown keywords are ignored, as
/// the specification says. Schemas come from clients: depth is bounded, and nothing traps.
public struct JSONSchemaValidator: Sendable {
    /// Nesting (of the schema through `$ref`s and of the value) past which validation gives up.
    public static let maximumDepth = 64

    public let schema: JSONValue

    public init(schema: JSONValue) { self.schema = schema }

    /// The first problem of `value` against the schema (with its path, `$.items[2].name`), or nil when valid.
    public func firstError(_ value: JSONValue) -> String? {
        check(value, against: schema, path: "$", depth: 0)
    }

    /// The first problem of `text` parsed as JSON, or nil when it is valid JSON that matches.
    public func firstError(text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = JSONValue.parse(trimmed) else { return "the answer is not valid JSON" }
        return firstError(value)
    }

    private func check(_ value: JSONValue, against schema: JSONValue, path: String, depth: Int) -> String? {
        guard depth < Self.maximumDepth else { return "\(path): the schema or the value nests too deep to check" }
        if case .bool(let allowed) = schema { return allowed ? nil : "\(path): no value is allowed here" }
        guard let rules = schema.objectValue else { return nil }
        if let reference = rules["$ref"]?.stringValue {
            guard let target = resolve(reference) else { return "\(path): the schema's $ref '\(reference.prefix(100))' cannot be resolved" }
            if let error = check(value, against: target, path: path, depth: depth + 1) { return error }
        }
        if let error = checkType(value, rules: rules, path: path) { return error }
        if let options = rules["enum"]?.arrayValue, !options.contains(where: { Self.equal($0, value) }) {
            return "\(path): must be one of \(Self.describe(.array(options)))"
        }
        if let constant = rules["const"], !Self.equal(constant, value) {
            return "\(path): must be \(Self.describe(constant))"
        }
        if let error = checkCombinators(value, rules: rules, path: path, depth: depth) { return error }
        switch value {
        case .int, .double:
            return checkNumber(value.doubleValue ?? 0, rules: rules, path: path)
        case .string(let text):
            return checkString(text, rules: rules, path: path)
        case .array(let items):
            return checkArray(items, rules: rules, path: path, depth: depth)
        case .object(let fields):
            return checkObject(fields, rules: rules, path: path, depth: depth)
        case .null, .bool:
            return nil
        }
    }

    private func checkType(_ value: JSONValue, rules: [String: JSONValue], path: String) -> String? {
        guard let type = rules["type"] else { return nil }
        let allowed = type.stringValue.map { [$0] } ?? type.arrayValue?.compactMap(\.stringValue) ?? []
        guard !allowed.isEmpty else { return nil }
        if allowed.contains(where: { Self.matches(value, type: $0) }) { return nil }
        return "\(path): must be \(allowed.joined(separator: " or ")), not \(Self.typeName(value))"
    }

    private func checkCombinators(_ value: JSONValue, rules: [String: JSONValue], path: String, depth: Int) -> String? {
        if let all = rules["allOf"]?.arrayValue {
            for schema in all {
                if let error = check(value, against: schema, path: path, depth: depth + 1) { return error }
            }
        }
        if let any = rules["anyOf"]?.arrayValue {
            var first: String?
            var matched = false
            for schema in any {
                let error = check(value, against: schema, path: path, depth: depth + 1)
                if error == nil {
                    matched = true
                    break
                }
                first = first ?? error
            }
            if !matched { return "\(path): matches none of anyOf (first: \(first ?? "empty anyOf"))" }
        }
        if let one = rules["oneOf"]?.arrayValue {
            let matches = one.filter { check(value, against: $0, path: path, depth: depth + 1) == nil }.count
            if matches != 1 { return "\(path): must match exactly one of oneOf, matches \(matches)" }
        }
        if let not = rules["not"], check(value, against: not, path: path, depth: depth + 1) == nil {
            return "\(path): must not match the schema under `not`"
        }
        return nil
    }

    private func checkNumber(_ number: Double, rules: [String: JSONValue], path: String) -> String? {
        if let minimum = rules["minimum"]?.doubleValue, number < minimum { return "\(path): must be at least \(Self.plain(minimum))" }
        if let maximum = rules["maximum"]?.doubleValue, number > maximum { return "\(path): must be at most \(Self.plain(maximum))" }
        if let minimum = rules["exclusiveMinimum"]?.doubleValue, number <= minimum {
            return "\(path): must be more than \(Self.plain(minimum))"
        }
        if let maximum = rules["exclusiveMaximum"]?.doubleValue, number >= maximum {
            return "\(path): must be less than \(Self.plain(maximum))"
        }
        return nil
    }

    private func checkString(_ text: String, rules: [String: JSONValue], path: String) -> String? {
        let length = text.unicodeScalars.count
        if let minimum = Self.count(rules["minLength"]), length < minimum { return "\(path): must be at least \(minimum) characters long" }
        if let maximum = Self.count(rules["maxLength"]), length > maximum { return "\(path): must be at most \(maximum) characters long" }
        if let pattern = rules["pattern"]?.stringValue {
            guard let expression = try? NSRegularExpression(pattern: pattern) else {
                return "\(path): the schema's pattern is not a valid regular expression"
            }
            let range = NSRange(text.startIndex..., in: text)
            if expression.firstMatch(in: text, range: range) == nil {
                return "\(path): must match the pattern \(Self.describe(.string(pattern)))"
            }
        }
        return nil
    }

    private func checkArray(_ items: [JSONValue], rules: [String: JSONValue], path: String, depth: Int) -> String? {
        if let minimum = Self.count(rules["minItems"]), items.count < minimum { return "\(path): must have at least \(minimum) items" }
        if let maximum = Self.count(rules["maxItems"]), items.count > maximum { return "\(path): must have at most \(maximum) items" }
        if let itemSchema = rules["items"], itemSchema.arrayValue == nil {
            for (index, item) in items.enumerated() {
                if let error = check(item, against: itemSchema, path: "\(path)[\(index)]", depth: depth + 1) { return error }
            }
        }
        return nil
    }

    private func checkObject(_ fields: [String: JSONValue], rules: [String: JSONValue], path: String, depth: Int) -> String? {
        for name in rules["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where fields[name] == nil {
            return "\(path): missing required property '\(name.prefix(100))'"
        }
        let properties = rules["properties"]?.objectValue ?? [:]
        for name in fields.keys.sorted() {
            guard let field = fields[name] else { continue }
            let fieldPath = "\(path).\(name.prefix(100))"
            if let schema = properties[name] {
                if let error = check(field, against: schema, path: fieldPath, depth: depth + 1) { return error }
            } else if let additional = rules["additionalProperties"] {
                if additional == .bool(false) { return "\(path): property '\(name.prefix(100))' is not allowed" }
                if let error = check(field, against: additional, path: fieldPath, depth: depth + 1) { return error }
            }
        }
        return nil
    }

    /// `#/$defs/name` and other JSON pointers into the root schema.
    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = schema
        for token in reference.dropFirst().split(separator: "/") {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let object = node.objectValue, let next = object[key] {
                node = next
            } else if let array = node.arrayValue, let index = Int(key), array.indices.contains(index) {
                node = array[index]
            } else {
                return nil
            }
        }
        return node
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("number", .int), ("number", .double): return true
        case ("integer", .int): return true
        case ("integer", .double(let number)): return number.isFinite && number.rounded() == number
        default: return false
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// JSON equality where 1 and 1.0 are the same number.
    static func equal(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.int, .double), (.double, .int), (.double, .double), (.int, .int): return left.doubleValue == right.doubleValue
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        default: return left == right
        }
    }

    /// A non-negative whole number keyword (`minLength: 3`), or nil when absent or not one.
    static func count(_ value: JSONValue?) -> Int? {
        guard let number = value?.doubleValue, number.isFinite, number >= 0 else { return nil }
        return number >= Double(Int.max / 2) ? Int.max / 2 : Int(number)
    }

    static func plain(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    /// A short JSON rendering of a schema value for messages.
    static func describe(_ value: JSONValue) -> String {
        let text = value.jsonString()
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
