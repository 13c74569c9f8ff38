import Foundation

/// One request the mock received.
public struct MockRecordedRequest: Sendable {
    /// `openai`, `anthropic`, `gemini` or `ollama`.
    public var protocolName: String
    public var method: String
    public var path: String
    /// The raw query string, without `?` (empty when there is none).
    public var query: String
    /// Header names lowercased; a repeated header's values joined with ", ".
    public var headers: [String: String]
    /// The body as received.
    public var body: Data

    public init(protocolName: String, method: String, path: String, query: String, headers: [String: String], body: Data) {
        self.protocolName = protocolName
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The body parsed as JSON (`[String: Any]`, `[Any]`, …), or nil when it is not JSON.
    public var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

    /// The body parsed as a JSON object, or nil.
    public var jsonObject: [String: Any]? { json as? [String: Any] }

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
