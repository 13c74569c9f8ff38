import Foundation

/// What grounding retrieved for a request, as the request log keeps it.
public struct RetrievalTrace: Sendable, Hashable, Codable {
    public struct Item: Sendable, Hashable, Codable {
        public var documentID: String
        public var chunkID: Int64
        public var score: Double
        public var title: String?

        public init(documentID: String, chunkID: Int64, score: Double, title: String? = nil) {
            self.documentID = documentID
            self.chunkID = chunkID
            self.score = score
            self.title = title
        }

        enum CodingKeys: String, CodingKey {
            case score, title
            case documentID = "document_id"
            case chunkID = "chunk_id"
        }
    }

    public var collection: String
    public var mode: String
    public var query: String
    /// The chunks packed into the prompt, in citation order.
    public var items: [Item]
    /// Estimated tokens of the packed context.
    public var contextTokens: Int

    public init(collection: String, mode: String, query: String, items: [Item], contextTokens: Int) {
        self.collection = collection
        self.mode = mode
        self.query = query
        self.items = items
        self.contextTokens = contextTokens
    }

    enum CodingKeys: String, CodingKey {
        case collection, mode, query, items
        case contextTokens = "context_tokens"
    }
}

/// An embedder that can also count the word-pieces of a text exactly (no truncation), so chunks
/// are cut to what the model really reads.
public protocol TokenCountingEmbedder: TextEmbedder {
    func tokenCount(_ text: String) -> Int
}
