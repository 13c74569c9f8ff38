import Foundation
import SwitchyardCore

/// The part of Nunjucks that promptfoo suites use in prompts and assertion values: `{{ name }}`,
/// `{{ name.field }}`, `{{ list[0] }}`, and the filters `dump`, `upper`, `lower`, `trim`, `safe`.
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
        let value = lookup(path, vars: vars)
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
