import SwitchyardCore
import Synchronization

/// Remembers the vectors of the last few texts embedded, so a request's last user turn is embedded
/// once even when the semantic cache and a learned router both need it (same text, same model).
public final class RecentEmbeddings: TextEmbedder {
    private struct State {
        var vectors: [String: [Float]] = [:]
        var order: [String] = []
    }

    private let base: any TextEmbedder
    private let capacity: Int
    private let state = Mutex(State())

    public var modelName: String { base.modelName }
    public var dimensions: Int { base.dimensions }

    public init(_ base: any TextEmbedder, capacity: Int = 256) {
        self.base = base
        self.capacity = max(1, capacity)
    }

    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let known = state.withLock { state in texts.map { state.vectors[$0] } }
        if known.allSatisfy({ $0 != nil }) {
            return EmbeddingBatch(vectors: known.map { $0! }, promptTokens: 0)
        }
        let batch = try await base.embed(texts)
        state.withLock { state in
            for (text, vector) in zip(texts, batch.vectors) where state.vectors.updateValue(vector, forKey: text) == nil {
                state.order.append(text)
                if state.order.count > capacity { state.vectors[state.order.removeFirst()] = nil }
            }
        }
        return batch
    }
}
