import Foundation
import Retrieval
import SwitchyardCore

/// The `retrieval:` section: defaults for collections, indexes, packing, and grounding per model name.
public struct RetrievalConfiguration: Sendable {
    public var settings = RetrievalSettings()
    /// The system message the packed context is rendered into (`{context}`, `{query}`).
    public var template = ContextPacker.defaultTemplate
    public var topK = 8
    public var maxContextTokens = 2000
    /// `retrieval:` blocks on models, groups and routes, by name (validated at load).
    public var grounding: [String: JSONValue] = [:]
    /// How often a running gateway picks up collection changes other processes wrote to the
    /// database (`switchyard ingest`, other replicas); nil = never.
    public var syncInterval: Duration? = .seconds(2)
    public init() {}
}

/// What grounding does for one request.
public struct GroundingOptions: Sendable {
    public var collection: String
    public var search: SearchOptions
    public var maxContextTokens: Int

    /// Reads `{collection, top_k, max_context_tokens, mode, filter, fusion, weights, mmr, ef_search, query}`.
    public static func parse(_ value: JSONValue, prefix: String, defaults: RetrievalConfiguration) throws -> GroundingOptions {
        guard let object = value.objectValue else {
            throw SwitchyardError.invalidRequest("\(prefix) must be an object like {\"collection\": \"docs\", \"top_k\": 8}.", param: prefix)
        }
        guard let collection = object["collection"]?.stringValue, !collection.isEmpty else {
            throw SwitchyardError.invalidRequest("\(prefix).collection is required: the collection to retrieve from.", param: "\(prefix).collection")
        }
        var search = try SearchOptions.parse(value, prefix: prefix, queryRequired: false, ignoring: ["collection", "max_context_tokens"])
        if object["top_k"] == nil { search.topK = defaults.topK }
        var maxContextTokens = defaults.maxContextTokens
        if let tokens = object["max_context_tokens"] {
            guard let value = tokens.intValue, (50...200_000).contains(value) else {
                throw SwitchyardError.invalidRequest(
                    "\(prefix).max_context_tokens must be a whole number from 50 to 200000.", param: "\(prefix).max_context_tokens")
            }
            maxContextTokens = value
        }
        return GroundingOptions(collection: collection, search: search, maxContextTokens: maxContextTokens)
    }
}

/// What grounding retrieved for a request: the log trace and the citations the response carries.
public struct Grounding: Sendable {
    public var trace: RetrievalTrace
    /// `[{document_id, chunk_id, score, title?, passage}]`, in passage order.
    public var citations: JSONValue
}
