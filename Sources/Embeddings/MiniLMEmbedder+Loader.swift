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
