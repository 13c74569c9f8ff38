import Foundation

/// The BERT hyper-parameters this engine needs, read from `config.json`.
public struct BertConfiguration: Sendable, Equatable {
    public var vocabularySize = 30522
    public var hiddenSize = 384
    public var layerCount = 6
    public var headCount = 12
    public var intermediateSize = 1536
    public var maxPositions = 512
    public var typeVocabularySize = 2
    public var layerNormEpsilon: Float = 1e-12

    public var headSize: Int { hiddenSize / headCount }

    public init() {}

    /// Reads `config.json`, checking the parts this engine relies on.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw EmbeddingsError(.modelNotFound, "cannot read \(url.path): \(error.localizedDescription)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EmbeddingsError(.invalidModel, "\(url.path) is not a JSON object")
        }
        func int(_ key: String, _ fallback: Int) -> Int { (json[key] as? NSNumber)?.intValue ?? fallback }
        self.init()
        vocabularySize = int("vocab_size", vocabularySize)
        hiddenSize = int("hidden_size", hiddenSize)
        layerCount = int("num_hidden_layers", layerCount)
        headCount = int("num_attention_heads", headCount)
        intermediateSize = int("intermediate_size", intermediateSize)
        maxPositions = int("max_position_embeddings", maxPositions)
        typeVocabularySize = int("type_vocab_size", typeVocabularySize)
        if let eps = (json["layer_norm_eps"] as? NSNumber)?.floatValue { layerNormEpsilon = eps }
        let activation = json["hidden_act"] as? String ?? "gelu"
        guard activation == "gelu" else {
            throw EmbeddingsError(.invalidModel, "\(url.path): hidden_act '\(activation)' is not supported (only exact 'gelu')")
        }
        if let embedding = json["position_embedding_type"] as? String, embedding != "absolute" {
            throw EmbeddingsError(.invalidModel, "\(url.path): position_embedding_type '\(embedding)' is not supported")
        }
        guard hiddenSize % headCount == 0, hiddenSize % 8 == 0 else {
            throw EmbeddingsError(.invalidModel, "\(url.path): hidden_size \(hiddenSize) must be a multiple of 8 and of the head count")
        }
    }
}
