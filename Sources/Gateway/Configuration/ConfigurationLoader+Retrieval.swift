import Foundation
import Retrieval
import SwitchyardCore
import Yams

extension ConfigurationLoader {
    /// `retrieval:` (defaults, indexes, packing template) and `retrieval:` blocks on models, groups and routes.
    static func parseRetrieval(_ reader: ConfigNode, into configuration: inout SwitchyardConfiguration) throws {
        var retrieval = RetrievalConfiguration()
        if let section = reader["retrieval"] {
            try section.allowOnly([
                "embedding_model", "chunk_tokens", "chunk_overlap", "hnsw", "bm25", "template", "top_k", "max_context_tokens", "sync_s", "rerank", "collections",
            ])
            retrieval.settings.defaultEmbeddingModel = try section["embedding_model"]?.string() ?? retrieval.settings.defaultEmbeddingModel
            if let tokens = try section["chunk_tokens"]?.int(in: 16...8192) { retrieval.settings.chunking.maxTokens = tokens }
            if let overlap = try section["chunk_overlap"]?.int(in: 0...8191) {
                guard overlap < retrieval.settings.chunking.maxTokens else {
                    throw section["chunk_overlap"]!.error("must be at least 0 and less than chunk_tokens")
                }
                retrieval.settings.chunking.overlapTokens = overlap
            }
            if let hnsw = section["hnsw"] {
                try hnsw.allowOnly(["m", "ef_construction", "ef_search", "metric"])
                var parameters = retrieval.settings.hnsw
                parameters.m = try hnsw["m"]?.int(in: 2...256) ?? parameters.m
                parameters.efConstruction = try hnsw["ef_construction"]?.int(in: 1...10_000) ?? parameters.efConstruction
                parameters.efSearch = try hnsw["ef_search"]?.int(in: 1...10_000) ?? parameters.efSearch
                if let metric = try hnsw["metric"]?.string() {
                    guard let value = VectorMetric(rawValue: metric) else { throw hnsw["metric"]!.error("use cosine or dot") }
                    parameters.metric = value
                }
                guard parameters.m >= 2, parameters.efConstruction >= 1, parameters.efSearch >= 1 else {
                    throw hnsw.error("m must be at least 2, ef_construction and ef_search at least 1")
                }
                retrieval.settings.hnsw = parameters
            }
            if let bm25 = section["bm25"] {
                try bm25.allowOnly(["k1", "b", "stemming"])
                var parameters = retrieval.settings.bm25
                parameters.k1 = Float(try bm25["k1"]?.double(in: 0...100) ?? Double(parameters.k1))
                parameters.b = Float(try bm25["b"]?.double(in: 0...1) ?? Double(parameters.b))
                if let stemming = bm25["stemming"] {
                    guard let value = stemming.node.bool else { throw stemming.error("must be true or false") }
                    parameters.stemming = value
                }
                retrieval.settings.bm25 = parameters
            }
            if let template = try section["template"]?.string() {
                guard template.contains("{context}") else { throw section["template"]!.error("must contain {context}, where the passages go") }
                retrieval.template = template
            }
            if let topK = try section["top_k"]?.int(in: 1...SearchOptions.maximumTopK) { retrieval.topK = topK }
            // 0 turns the sync off.
            if let sync = try section["sync_s"]?.seconds(in: 0...86_400) { retrieval.syncInterval = sync == .zero ? nil : sync }
            if let tokens = try section["max_context_tokens"]?.int(in: 50...200_000) { retrieval.maxContextTokens = tokens }
            if let rerank = section["rerank"] {
                retrieval.settings.rerank = try parseRerank(rerank, defaults: retrieval.settings.rerank)
            }
            if let collections = section["collections"] {
                guard case .mapping(let mapping) = collections.node else { throw collections.error("must map collection names to {rerank: ...}") }
                for (key, _) in mapping {
                    let name = key.string ?? ""
                    guard let entry = collections[name] else { continue }
                    try entry.allowOnly(["rerank"])
                    if let rerank = entry["rerank"] {
                        retrieval.settings.collectionRerank[name] = try parseRerank(rerank, defaults: retrieval.settings.rerank)
                    }
                }
            }
        }
        for section in ["models", "groups", "routes"] {
            for node in try reader[section]?.list() ?? [] {
                guard let block = node["retrieval"] else { continue }
                let name = try node.required("name").string()
                let value = yamlToJSON(block.node)
                do {
                    _ = try GroundingOptions.parse(value, prefix: "retrieval", defaults: retrieval)
                } catch let error as SwitchyardError {
                    throw block.error(error.message)
                }
                retrieval.grounding[name] = value
            }
        }
        configuration.retrieval = retrieval
    }

    /// `rerank: true|false` or `{enabled, top_n, reranker}`; unspecified fields come from `defaults`.
    static func parseRerank(_ node: ConfigNode, defaults: RerankSettings) throws -> RerankSettings {
        var settings = defaults
        if case .scalar = node.node {
            guard let flag = node.node.bool else { throw node.error("must be true, false or {enabled, top_n, reranker}") }
            settings.enabled = flag
            return settings
        }
        try node.allowOnly(["enabled", "top_n", "reranker"])
        settings.enabled = true
        if let enabled = node["enabled"] {
            guard let flag = enabled.node.bool else { throw enabled.error("must be true or false") }
            settings.enabled = flag
        }
        if let topN = try node["top_n"]?.int(in: 1...SearchOptions.maximumRerankTopN) { settings.topN = topN }
        if let reranker = node["reranker"] {
            let name = try reranker.string()
            guard name == HybridScoreReranker.defaultName else {
                throw reranker.error("unknown reranker `\(name)`; available: \(HybridScoreReranker.defaultName)")
            }
            settings.reranker = name
        }
        return settings
    }
}
