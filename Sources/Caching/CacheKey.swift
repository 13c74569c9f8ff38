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
        guard let rendered = try? encoder.encode(normalized) else { return nil }
        var hasher = SHA256()
        hasher.update(data: Data(namespace.utf8))
        hasher.update(data: Data([0]))
        hasher.update(data: rendered)
        digest = hexString(hasher.finalize())
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
