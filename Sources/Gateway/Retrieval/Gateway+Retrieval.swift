import Foundation
import Logging
import Providers
import Retrieval
import SwitchyardCore

extension Gateway {
    /// What a caller may read: everything without auth or with the `*` group; otherwise public
    /// documents and those allowed to one of the key's groups (a key without groups: public only).
    public func accessScope(for caller: Caller) -> AccessScope {
        guard let groups = caller.groups else { return .all }
        return groups.contains("*") ? .all : .groups(Set(groups))
    }

    /// Embeddings for collections, through the same models `/v1/embeddings` serves (local or remote).
    static func retrievalEmbedding(
        models: [String: ModelSpec], providers: [String: any Provider], localEmbedders: LocalEmbedders,
        precision: EmbeddingPrecision, recent: any TextEmbedder, logger: Logger
    ) -> EmbeddingAccess {
        EmbeddingAccess(
            embed: { name, texts in
                guard let model = models[name] else {
                    throw SwitchyardError.modelNotFound(name, available: models.values.filter { $0.kind == .embedding }.map(\.name).sorted())
                }
                guard model.kind == .embedding else {
                    throw SwitchyardError.invalidRequest("The model '\(name)' is a chat model, not an embedding model.", param: "embedding_model")
                }
                if model.provider == "local" {
                    // One text is a search query, the same last user turn the semantic cache and a learned
                    // router embed: it goes through their shared memo. Ingestion batches do not.
                    if texts.count == 1, name == localEmbeddingModel { return try await recent.embed(texts).vectors }
                    return try await localEmbedders.embedder(named: model.upstream, precision: precision).embed(texts).vectors
                }
                guard let provider = providers[model.provider] else {
                    throw SwitchyardError.configuration("Model '\(name)' names provider '\(model.provider)', which is not configured.")
                }
                let response = try await provider.embed(EmbeddingRequest(model: model.upstream, input: texts), options: CallOptions(logger: logger))
                return response.vectors
            },
            tokenCounter: { name in
                guard let model = models[name], model.provider == "local" else { return nil }
                // The model is loaded when a text is first counted, not when the counter is asked for: an upsert of
                // unchanged documents (the demo's, at every start) counts nothing and must not load 90 MB of weights.
                return { text in
                    guard let embedder = try? localEmbedders.embedder(named: model.upstream, precision: precision) as? any TokenCountingEmbedder
                    else { return TokenEstimate.wordPieces(text) }
                    return embedder.tokenCount(text)
                }
            })
    }

    /// Retrieves and packs context when the request (`switchyard.retrieval`) or its model's
    /// configuration asks for it; returns the request with the context as a system message.
    func ground(_ request: ChatRequest, context: CallContext) async throws -> (ChatRequest, Grounding?) {
        let configured = configuration.retrieval.grounding[request.model]
        // `"retrieval": null` counts as not given; `false` turns a model's grounding off.
        // (JSONValue is nil-literal-expressible, so spell out Optional.none.)
        let asked: JSONValue? = request.switchyard?["retrieval"].flatMap { value in value == .null ? Optional.none : value }
        if asked == .bool(false) { return (request, nil) }
        guard asked != nil || configured != nil else { return (request, nil) }
        // The request's fields override the model's.
        var merged = configured?.objectValue ?? [:]
        if let asked {
            guard let fields = asked.objectValue else {
                throw SwitchyardError.invalidRequest(
                    "switchyard.retrieval must be an object like {\"collection\": \"docs\"} (or false).", param: "switchyard.retrieval")
            }
            for (key, value) in fields { merged[key] = value }
        }
        var options = try GroundingOptions.parse(.object(merged), prefix: "switchyard.retrieval", defaults: configuration.retrieval)
        if options.search.query.isEmpty {
            let question = request.messages.last { $0.role == .user }?.text ?? ""
            guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw SwitchyardError.invalidRequest(
                    "Retrieval needs a question: the last user message has no text (or set switchyard.retrieval.query).", param: "messages")
            }
            options.search.query = question
        }
        let results: [SearchResult]
        do {
            results = try await collections.search(options.search, in: options.collection, access: accessScope(for: context.caller))
        } catch var error as SwitchyardError {
            if error.param == "collection" { error.param = "switchyard.retrieval.collection" }
            throw error
        }
        let packer = ContextPacker(maxTokens: options.maxContextTokens, template: configuration.retrieval.template)
        let packed = packer.pack(results.map(\.hit), query: options.search.query)
        var grounded = request
        if !packed.passages.isEmpty {
            let insertAt = grounded.messages.firstIndex { $0.role != .system && $0.role != .developer } ?? grounded.messages.count
            grounded.messages.insert(.system(packed.rendered), at: insertAt)
        }
        var items: [RetrievalTrace.Item] = []
        var citations: [JSONValue] = []
        for passage in packed.passages {
            for hit in passage.hits {
                items.append(.init(documentID: hit.documentID, chunkID: hit.chunkID, score: Double(hit.score), title: hit.title))
                var citation: [String: JSONValue] = [
                    "document_id": .string(hit.documentID), "chunk_id": .string(String(hit.chunkID)), "score": .double(Double(hit.score)),
                    "passage": .int(Int64(passage.number)),
                ]
                if let title = hit.title { citation["title"] = .string(title) }
                if let source = hit.source { citation["source"] = .string(source) }
                citations.append(.object(citation))
            }
        }
        let trace = RetrievalTrace(
            collection: options.collection, mode: options.search.mode.rawValue, query: options.search.query, items: items,
            contextTokens: packed.tokens)
        return (grounded, Grounding(trace: trace, citations: .array(citations)))
    }

    /// Adds `citations` (and the collection) to a response's `switchyard` object.
    static func addCitations(_ grounding: Grounding?, to object: JSONValue?) -> JSONValue? {
        guard let grounding else { return object }
        var fields = object?.objectValue ?? [:]
        fields["citations"] = grounding.citations
        fields["retrieval"] = ["collection": .string(grounding.trace.collection), "mode": .string(grounding.trace.mode)]
        return .object(fields)
    }
}
