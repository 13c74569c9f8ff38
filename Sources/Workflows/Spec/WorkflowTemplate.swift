import Evaluation
import Foundation
import SwitchyardCore

/// Templates in workflow specs: Evaluation's `Template` over the run's variables
/// (`input`, `steps.ID.output`, and inside `parallel`, `item` and `index`).
public enum WorkflowTemplate {
    /// Renders `template` over `vars`.
    public static func render(_ template: String, vars: [String: JSONValue]) -> String {
        Template.render(template, vars: vars)
    }

    /// The value a template stands for: a template that is one `{{path}}` gives that value itself (an array stays an
    /// array); anything else renders to text.
    public static func value(_ template: String, vars: [String: JSONValue]) -> JSONValue {
        let trimmed = template.trimmingCharacters(in: .whitespaces)
        if let path = singleExpression(trimmed), !path.contains("|") {
            return Template.lookup(path, vars: vars) ?? .null
        }
        return .string(render(template, vars: vars))
    }

    /// Whether a `when:` holds: `A == B` or `A != B` (each side a template, compared as trimmed text; the operator
    /// must be outside `{{…}}`, so an output that contains "==" is never read as one), else the rendered text's truth.
    public static func holds(_ condition: String, vars: [String: JSONValue]) -> Bool {
        for op in [" == ", " != "] {
            if let range = rangeOutsideExpressions(of: op, in: condition) {
                let lhs = render(String(condition[..<range.lowerBound]), vars: vars).trimmingCharacters(in: .whitespacesAndNewlines)
                let rhs = unquoted(render(String(condition[range.upperBound...]), vars: vars).trimmingCharacters(in: .whitespacesAndNewlines))
                return (lhs == rhs) == (op == " == ")
            }
        }
        return isTruthy(render(condition, vars: vars))
    }

    private static func unquoted(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == text.last, first == "'" || first == "\"" else { return text }
        return String(text.dropFirst().dropLast())
    }

    private static func rangeOutsideExpressions(of needle: String, in text: String) -> Range<String.Index>? {
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            let rest = text[index...]
            if rest.hasPrefix("{{") {
                depth += 1
                index = text.index(index, offsetBy: 2)
                continue
            }
            if rest.hasPrefix("}}"), depth > 0 {
                depth -= 1
                index = text.index(index, offsetBy: 2)
                continue
            }
            if depth == 0, rest.hasPrefix(needle) { return index..<text.index(index, offsetBy: needle.count) }
            index = text.index(after: index)
        }
        return nil
    }

    /// Whether a rendered `when:` counts as true: everything but "", "false", "0", "null" and "no" (any case, trimmed).
    public static func isTruthy(_ rendered: String) -> Bool {
        let text = rendered.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return !["", "false", "0", "null", "no"].contains(text)
    }

    /// The variable paths a template reads (`steps.draft.output`), filters removed.
    static func references(in template: String) -> [String] {
        var paths: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let expression = rest[open.upperBound..<close.lowerBound]
            let path = expression.split(separator: "|", omittingEmptySubsequences: false).first ?? ""
            paths.append(path.trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return paths
    }

    /// The first segments of a path (`steps.draft.output.x` → ["steps", "draft", "output", "x"]).
    static func segments(_ path: String) -> [String] {
        path.split(whereSeparator: { $0 == "." || $0 == "[" || $0 == "]" }).map(String.init)
    }

    private static func singleExpression(_ text: String) -> String? {
        guard text.hasPrefix("{{"), text.hasSuffix("}}"), text.count >= 4 else { return nil }
        let inner = text.dropFirst(2).dropLast(2)
        guard !inner.contains("{{"), !inner.contains("}}") else { return nil }
        return inner.trimmingCharacters(in: .whitespaces)
    }
}
