import Embeddings
import Foundation
import SwitchyardCore

extension MiniLMEmbedder {
    /// The local model for a command: from `--model-dir` when given, else `$SWITCHYARD_MODEL_DIR` or the cache.
    static func load(modelDirectory: String?, precision: EmbeddingPrecision = .float32) throws -> MiniLMEmbedder {
        try modelDirectory.map { try MiniLMEmbedder.load(from: URL(fileURLWithPath: $0), precision: precision) }
            ?? MiniLMEmbedder.loadDefault(precision: precision)
    }
}
