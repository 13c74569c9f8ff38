import Crypto
import Foundation
import SwitchyardCore

/// The identity of a request for caching: a SHA-256 over everything that changes the answer.
///
/// In: namespace (the API key's tenant), the resolved model or route, messages, tools, tool_choice,
/// response_format, and every sampling parameter, plus unknown pass-through fields.
/// Out: `user`, `stream`, `stream_options`, `metadata` and Switchyard's own options, which do not
/// change what the model says.
public struct CacheKey: Sendable, Hashable, CustomStringConvertible {
    public let digest: String

    public init(digest: String) {
        self.digest = digest
    }

    /// Nil when the request cannot be rendered canonically: such a request is never cached (a
    /// shared fallback key would hand one request's answer to another).
    public init?(namespace: String, request: ChatRequest) {
        guard let rendered = Self.rendered(request) else { return nil }
        self.init(namespace: namespace, rendered: rendered)
    }

    /// The key of a request rendered once by `rendered(_:)`, under another namespace.
    public init(namespace: String, rendered: Data) {
        var hasher = SHA256()
        hasher.update(data: Data(namespace.utf8))
        hasher.update(data: Data([0]))
        hasher.update(data: rendered)
        digest = hexString(hasher.finalize())
    }

    /// The canonical rendering of what in a request changes the answer (sorted keys); nil when it
    /// cannot be rendered.
    public static func rendered(_ request: ChatRequest) -> Data? {
        var normalized = request
        normalized.stream = false
        normalized.includeUsage = false
        normalized.user = nil
        normalized.metadata = nil
        normalized.switchyard = nil
        if normalized.maxCompletionTokens == nil { normalized.maxCompletionTokens = normalized.maxTokens }
        normalized.maxTokens = nil
        if normalized.parallelToolCalls == true { normalized.parallelToolCalls = nil }  // the default
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try? encoder.encode(normalized)
    }

    public var description: String { digest }

    /// A stable hash of text, for scope keys.
    public static func hash(_ parts: [String]) -> String {
        var hasher = SHA256()
        for part in parts {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hexString(hasher.finalize().prefix(16))
    }
}
