import Foundation
import SwitchyardCore

/// The part of Nunjucks that promptfoo suites use in prompts and assertion values: `{{ name }}`,
/// `{{ name.field }}`, `{{ list[0] }}`, the filters `dump`, `upper`, `lower`, `trim`, `safe`, and one comparison
/// `{{ a == 'x' }}` / `{{ a != b }}` (a path, a quoted string or a number each side), which renders `true` or
/// `false` as Nunjucks does — what a workflow's `when:` needs to branch on a label.
/// A missing variable renders as nothing, as Nunjucks does; a non-string value renders as JSON.
public enum Template {
    public static func render(_ template: String, vars: [String: JSONValue]) -> String {
        guard template.contains("{{") else { return template }
        var output = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                output += rest[open.lowerBound...]
                return output
            }
            output += evaluate(String(rest[open.upperBound..<close.lowerBound]), vars: vars)
            rest = rest[close.upperBound...]
        }
        output += rest
        return output
    }

    /// The value an expression names (`name.field[0]`), or nil.
    public static func lookup(_ path: String, vars: [String: JSONValue]) -> JSONValue? {
        var segments: [String] = []
        var current = ""
        for character in path {
            switch character {
            case ".", "[", "]":
                if !current.isEmpty { segments.append(current) }
                current = ""
            case "\"", "'": continue
            default: current.append(character)
            }
        }
        if !current.isEmpty { segments.append(current) }
        guard let first = segments.first, var value = vars[first] else { return nil }
        for segment in segments.dropFirst() {
            if let index = Int(segment), let array = value.arrayValue {
                guard array.indices.contains(index) else { return nil }
                value = array[index]
            } else if let next = value.objectValue?[segment] {
                value = next
            } else {
                return nil
            }
        }
        return value
    }

    private static func evaluate(_ expression: String, vars: [String: JSONValue]) -> String {
        let parts = expression.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let path = parts.first, !path.isEmpty else { return "" }
        let value: JSONValue?
        if let comparison = Comparison(path) {
            value = .bool(comparison.holds(vars: vars))
        } else {
            value = lookup(path, vars: vars)
        }
        var text: String
        if parts.dropFirst().contains("dump") {
            text = (value ?? .null).jsonString()
        } else {
            text = value.map(plain) ?? ""
        }
        for filter in parts.dropFirst() {
            switch filter {
            case "upper": text = text.uppercased()
            case "lower": text = text.lowercased()
            case "trim": text = text.trimmingCharacters(in: .whitespacesAndNewlines)
            default: break  // `safe`, `dump` (handled above) and filters this renderer does not know leave the text as is
            }
        }
        return text
    }

    /// A value as a template shows it: strings bare, numbers plainly, everything else as JSON.
    public static func plain(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .null: return ""
        case .int(let number): return String(number)
        case .double(let number): return NumberText.plain(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .array, .object: return value.jsonString()
        }
    }
}

/// `left == right` or `left != right` inside `{{ }}`: each operand a variable path, a quoted string or a number.
public struct Comparison: Sendable, Hashable {
    public enum Operand: Sendable, Hashable {
        case path(String)
        case literal(JSONValue)
    }
    public var left: Operand
    public var right: Operand
    public var negated: Bool

    /// Parses `expression` (filters already removed); nil when it has no `==` or `!=` outside quotes.
    public init?(_ expression: String) {
        guard let (range, negated) = Self.operatorRange(in: expression) else { return nil }
        let left = expression[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        let right = expression[range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard !left.isEmpty, !right.isEmpty else { return nil }
        self.left = Self.operand(left)
        self.right = Self.operand(right)
        self.negated = negated
    }

    /// The variable paths the comparison reads.
    public var paths: [String] {
        [left, right].compactMap { if case .path(let path) = $0 { path } else { nil } }
    }

    /// Whether it holds: numbers compare as numbers, anything else by its plain text; a missing variable equals only
    /// another missing one or null.
    public func holds(vars: [String: JSONValue]) -> Bool {
        let a = resolve(left, vars: vars)
        let b = resolve(right, vars: vars)
        let equal: Bool
        switch (a, b) {
        case (nil, nil), (nil, .null?), (.null?, nil), (.null?, .null?): equal = true
        case (nil, _), (_, nil), (.null?, _), (_, .null?): equal = false
        case (let a?, let b?):
            if let x = a.doubleValue, let y = b.doubleValue {
                equal = x == y
            } else if a.arrayValue == nil, a.objectValue == nil, b.arrayValue == nil, b.objectValue == nil {
                equal = Template.plain(a) == Template.plain(b)
            } else {
                equal = a == b
            }
        }
        return equal != negated
    }

    private func resolve(_ operand: Operand, vars: [String: JSONValue]) -> JSONValue? {
        switch operand {
        case .path(let path): return Template.lookup(path, vars: vars)
        case .literal(let value): return value
        }
    }

    private static func operand(_ text: String) -> Operand {
        if text.count >= 2, let quote = text.first, quote == "'" || quote == "\"", text.last == quote {
            return .literal(.string(String(text.dropFirst().dropLast())))
        }
        if let number = Int64(text) { return .literal(.int(number)) }
        if let number = Double(text), number.isFinite { return .literal(.double(number)) }
        switch text {
        case "true": return .literal(.bool(true))
        case "false": return .literal(.bool(false))
        case "null", "none": return .literal(.null)
        default: return .path(text)
        }
    }

    /// The first `==` or `!=` outside quotes.
    private static func operatorRange(in text: String) -> (Range<String.Index>, negated: Bool)? {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if (character == "=" || character == "!"), next < text.endIndex, text[next] == "=" {
                return (index..<text.index(after: next), character == "!")
            }
            index = next
        }
        return nil
    }
}

