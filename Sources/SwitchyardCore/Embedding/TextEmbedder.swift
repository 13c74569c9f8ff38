/// A model that turns texts into vectors: the native local model and remote embedding APIs alike.
///
/// Other modules (caching, retrieval, routing) depend on this protocol only, never on a concrete model.
public protocol TextEmbedder: Sendable {
    /// The public model name, e.g. `local/all-minilm-l6-v2`.
    var modelName: String { get }
    /// Length of every vector this embedder returns.
    var dimensions: Int { get }
    /// Embeds each text; vectors come back in input order.
    func embed(_ texts: [String]) async throws -> EmbeddingBatch
}

/// Vectors for a batch of texts, with the token count the model consumed.
public struct EmbeddingBatch: Sendable, Equatable {
    public var vectors: [[Float]]
    public var promptTokens: Int

    public init(vectors: [[Float]], promptTokens: Int) {
        self.vectors = vectors
        self.promptTokens = promptTokens
    }
}
