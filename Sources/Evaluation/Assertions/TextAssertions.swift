import Foundation
import SwitchyardCore

/// `equals`, the `contains` family, `starts-with` and `regex`: checks of the answer's text.
enum TextAssertions {
    static func check(_ type: String, value: JSONValue?, output: String) -> CheckOutcome {
        guard let value else { return .unable("'\(type)' needs a value to compare the answer with") }
        switch type {
        case "equals": return equals(value, output: output)
        case "contains": return contains(Template.plain(value), output: output, ignoringCase: false)
        case "icontains": return contains(Template.plain(value), output: output, ignoringCase: true)
        case "contains-any", "icontains-any", "contains-all", "icontains-all": return containsList(type, value: value, output: output)
        case "starts-with":
            let prefix = Template.plain(value)
            return .binary(
                output.hasPrefix(prefix), expectation: "start with \(OutputText.quoted(prefix))",
                finding: "it starts \(OutputText.quoted(String(output.prefix(max(prefix.count, 40)))))")
        case "regex": return regex(Template.plain(value), output: output)
        default: return .unable("'\(type)' is not a text assertion")
        }
    }

    /// A string value is compared as text; an object or list value is compared with the answer parsed as JSON,
    /// structurally (numbers by value, keys in any order), as promptfoo does.
    static func equals(_ value: JSONValue, output: String) -> CheckOutcome {
        switch value {
        case .object, .array:
            let expectation = "equal the JSON \(OutputText.quoted(value.jsonString()))"
            guard let parsed = JSONValue.parse(output) else {
                return .binary(false, expectation: expectation, finding: "it is not JSON: \(OutputText.quoted(output))")
            }
            let same = sameJSON(parsed, value)
            return .binary(same, expectation: expectation, finding: same ? "it does" : "it was \(OutputText.quoted(parsed.jsonString()))")
        default:
            let expected = Template.plain(value)
            let same = output == expected
            var finding = same ? "it does" : "it was \(OutputText.quoted(output))"
            if !same, output.trimmingCharacters(in: .whitespacesAndNewlines) == expected {
                finding += " (differs only in leading or trailing whitespace)"
            }
            return .binary(same, expectation: "equal \(OutputText.quoted(expected))", finding: finding)
        }
    }

    static func contains(_ needle: String, output: String, ignoringCase: Bool) -> CheckOutcome {
        let found = ignoringCase ? output.lowercased().contains(needle.lowercased()) : output.contains(needle)
        let expectation = "contain \(OutputText.quoted(needle))\(ignoringCase ? " (ignoring case)" : "")"
        return .binary(found, expectation: expectation, finding: found ? "it does" : "it was \(OutputText.quoted(output))")
    }

    static func containsList(_ type: String, value: JSONValue, output: String) -> CheckOutcome {
        let items: [String]
        if case .string(let text) = value {
            switch commaSeparated(text) {
            case .success(let parsed): items = parsed
            case .failure(let problem): return .unable("'\(type)' value: \(problem)")
            }
        } else {
            items = (value.arrayValue ?? [value]).map(Template.plain)
        }
        guard !items.isEmpty else { return .unable("'\(type)' needs at least one string to look for") }
        let ignoringCase = type.hasPrefix("i")
        let haystack = ignoringCase ? output.lowercased() : output
        let present = items.map { haystack.contains(ignoringCase ? $0.lowercased() : $0) }
        let listed = items.prefix(20).map { OutputText.quoted($0, limit: 60) }.joined(separator: ", ") + (items.count > 20 ? ", …" : "")
        let caseNote = ignoringCase ? " (ignoring case)" : ""
        if type.hasSuffix("-any") {
            let hits = zip(items, present).filter(\.1).map { OutputText.quoted($0.0, limit: 60) }
            return .binary(
                !hits.isEmpty, expectation: "contain one of [\(listed)]\(caseNote)",
                finding: hits.isEmpty ? "none is in \(OutputText.quoted(output))" : "found \(hits.prefix(5).joined(separator: ", "))")
        }
        let missing = zip(items, present).filter { !$0.1 }.map { OutputText.quoted($0.0, limit: 60) }
        return .binary(
            missing.isEmpty, expectation: "contain all of [\(listed)]\(caseNote)",
            finding: missing.isEmpty ? "it does" : "missing \(missing.prefix(10).joined(separator: ", ")) in \(OutputText.quoted(output))")
    }

    /// promptfoo's comma-separated list: items trimmed, empty ones skipped, a double-quoted item may hold commas
    /// (`"a, b", c`; `\"` or `""` for a quote inside). An unterminated quote is an error, not a silent pass.
    static func commaSeparated(_ text: String) -> Result<[String], ListError> {
        var items: [String] = []
        var characters = Substring(text)
        while true {
            characters = characters.drop { $0.isWhitespace || $0 == "," }
            guard let first = characters.first else { return .success(items) }
            if first == "\"" {
                characters = characters.dropFirst()
                var item = ""
                var closed = false
                while let character = characters.first {
                    characters = characters.dropFirst()
                    if character == "\\", let next = characters.first, next == "\"" || next == "\\" {
                        item.append(next)
                        characters = characters.dropFirst()
                    } else if character == "\"", characters.first == "\"" {
                        item.append("\"")
                        characters = characters.dropFirst()
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        item.append(character)
                    }
                }
                guard closed else { return .failure(ListError("a quoted item is not closed: \(OutputText.quoted(text, limit: 60))")) }
                characters = characters.drop { $0.isWhitespace }
                guard characters.isEmpty || characters.first == "," else {
                    return .failure(ListError("write a comma after a quoted item: \(OutputText.quoted(text, limit: 60))"))
                }
                items.append(item)
            } else {
                let end = characters.firstIndex(of: ",") ?? characters.endIndex
                items.append(characters[..<end].trimmingCharacters(in: .whitespaces))
                characters = characters[end...]
            }
        }
    }

    struct ListError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func regex(_ pattern: String, output: String) -> CheckOutcome {
        let expectation = "match the pattern /\(pattern.count > 200 ? String(pattern.prefix(200)) + "…" : pattern)/"
        switch BoundedRegex.firstMatch(pattern, in: output) {
        case .match(let matched):
            return .binary(true, expectation: expectation, finding: "it matched \(OutputText.quoted(matched, limit: 80))")
        case .noMatch(let truncated):
            let scope = truncated ? " (in its first \(BoundedRegex.maximumScannedBytes / 1_048_576) MB)" : ""
            return .binary(false, expectation: expectation, finding: "no match\(scope) in \(OutputText.quoted(output))")
        case .invalidPattern(let problem):
            return .unable(problem, expectation: expectation)
        case .gaveUp:
            return .unable(
                "the pattern /\(pattern.prefix(200))/ took longer than \(BoundedRegex.timeLimit) on this answer and was stopped "
                    + "(nested quantifiers such as (a+)+ backtrack exponentially); simplify it", expectation: expectation)
        }
    }

    /// Structural JSON equality: numbers by value (1 equals 1.0), objects by key.
    static func sameJSON(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
            return left.doubleValue == right.doubleValue
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { sameJSON($0, $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { sameJSON(value, $0) } ?? false }
        default:
            return left == right
        }
    }
}

/// `NSRegularExpression` with bounds: an invalid pattern is a value, not a crash; at most the first MB of the text is
/// scanned; and a match that runs past the time limit (catastrophic backtracking) is stopped through ICU's progress
/// callback, which `.reportProgress` turns on and which fires during backtracking, not only between matches.
enum BoundedRegex {
    static let maximumScannedBytes = 1 << 20
    static let timeLimit: Duration = .seconds(2)

    enum Outcome: Equatable {
        case match(String)
        /// `truncated`: the text was longer than what was scanned.
        case noMatch(truncated: Bool)
        case invalidPattern(String)
        case gaveUp
    }

    static func firstMatch(_ pattern: String, in text: String, timeLimit: Duration = timeLimit) -> Outcome {
        let expression: NSRegularExpression
        do {
            expression = try NSRegularExpression(pattern: pattern)
        } catch {
            return .invalidPattern("/\(pattern.prefix(200))/ is not a valid regular expression")
        }
        let truncated = text.utf8.count > maximumScannedBytes
        // Cutting inside a multi-byte character leaves a replacement character at the end, which no pattern relies on.
        let scanned = truncated ? String(decoding: text.utf8.prefix(maximumScannedBytes), as: UTF8.self) : text
        let deadline = ContinuousClock.now.advanced(by: timeLimit)
        var matched: NSRange?
        var stopped = false
        let range = NSRange(scanned.startIndex..<scanned.endIndex, in: scanned)
        expression.enumerateMatches(in: scanned, options: [.reportProgress], range: range) { result, _, stop in
            if let result {
                matched = result.range
                stop.pointee = true
            } else if ContinuousClock.now > deadline {
                stopped = true
                stop.pointee = true
            }
        }
        if let matched, let found = Range(matched, in: scanned) { return .match(String(scanned[found])) }
        return stopped ? .gaveUp : .noMatch(truncated: truncated)
    }
}
