/// A shell-style pattern where `*` matches any run of characters and `?` one character.
public struct GlobPattern: Sendable, Hashable {
    public let pattern: String
    private let parts: [Character]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.parts = Array(pattern)
    }

    public func matches(_ text: String) -> Bool {
        let text = Array(text)
        var p = 0
        var t = 0
        var star = -1
        var mark = 0
        while t < text.count {
            if p < parts.count, parts[p] == "?" || parts[p] == text[t] {
                p += 1
                t += 1
            } else if p < parts.count, parts[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < parts.count, parts[p] == "*" { p += 1 }
        return p == parts.count
    }

    /// True when any pattern matches; a `nil` list allows everything.
    public static func allows(_ patterns: [String]?, _ text: String) -> Bool {
        guard let patterns else { return true }
        return patterns.contains { GlobPattern($0).matches(text) }
    }
}
