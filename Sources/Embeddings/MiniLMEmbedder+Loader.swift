import Foundation
import Synchronization
import SwitchyardCore

extension MiniLMEmbedder {
    /// The local model for a long-running process: read from disk once, on first use, and shared
    /// by every precision asked for (each precision adds only its packed weight copies).
    public final class Loader: Sendable {
        private let directory: URL?
        private let loaded = Mutex<MiniLMEmbedder?>(nil)

        /// - Parameter directory: the model folder; nil for `SWITCHYARD_MODEL_DIR` or the cache.
        public init(directory: URL?) {
            self.directory = directory
        }

        /// The folder the model is read from.
        public var modelDirectory: URL { directory ?? ModelStore.defaultDirectory(for: ModelCatalog.miniLM) }

        /// Whether the model's files are there, without reading them (a start-up check for what loads later):
        /// throws the error a load would, naming the command that fetches them.
        public func checkFiles() throws {
            let folder = modelDirectory
            for file in ["config.json", "vocab.txt", "model.safetensors"] {
                let path = folder.appendingPathComponent(file).path
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw EmbeddingsError(
                        .modelNotFound,
                        "the local model is not in \(folder.path) (no \(file)); fetch it with `switchyard models pull all-minilm-l6-v2`")
                }
            }
        }

        /// Whether the model was read from disk yet.
        public var isLoaded: Bool { loaded.withLock { $0 != nil } }

        public func embedder(precision: EmbeddingPrecision) throws -> MiniLMEmbedder {
            let first = try loaded.withLock { loaded in
                if let loaded { return loaded }
                let made = try directory.map { try MiniLMEmbedder.load(from: $0, precision: precision) }
                    ?? MiniLMEmbedder.loadDefault(precision: precision)
                loaded = made
                return made
            }
            return try first.withPrecision(precision)
        }
    }
}
