import Foundation
import SwitchyardCore

/// How a document's text is structured, which decides how the chunker splits it.
public enum TextFormat: String, Sendable, Codable, Hashable {
    /// Markdown headings (`#`…`######`) open sections; blank lines separate paragraphs.
    case markdown
    /// Paragraphs and sentences only.
    case plain
    /// Source code: blank-line blocks, then lines.
    case code
}

/// A document to ingest: text plus what it is filtered and cited by.
public struct RetrievalDocument: Sendable, Hashable {
    public var id: String
    public var text: String
    public var title: String?
    public var source: String?
    public var metadata: [String: JSONValue]
    /// Groups that may see it; nil = everyone.
    public var allowed: [String]?
    public var format: TextFormat

    public init(
        id: String, text: String, title: String? = nil, source: String? = nil, metadata: [String: JSONValue] = [:],
        allowed: [String]? = nil, format: TextFormat = .markdown
    ) {
        self.id = id
        self.text = text
        self.title = title
        self.source = source
        self.metadata = metadata
        self.allowed = allowed
        self.format = format
    }
}

/// Whose documents a search may return.
public enum AccessScope: Sendable, Hashable {
    /// Everything (auth off, or a key with the `*` group).
    case all
    /// Public documents and those whose `allowed` groups meet these.
    case groups(Set<String>)

    func permits(_ allowed: [String]?) -> Bool {
        guard let allowed else { return true }
        switch self {
        case .all: return true
        case .groups(let groups): return allowed.contains { groups.contains($0) }
        }
    }
}
