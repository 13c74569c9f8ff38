import Foundation
import Retrieval
import SwitchyardCore
import Yams

extension ConfigurationLoader {
    /// `retrieval:` (defaults, indexes, packing template) and `retrieval:` blocks on models, groups and routes.
    static func parseRetrieval(_ reader: ConfigNode, into configuration: inout SwitchyardConfiguration) throws {
        var retrieval = RetrievalConfiguration()
        if let section = reader["retrieval"] {
            try section.allowOnly(["embedding_model", "chunk_tokens", "chunk_overlap", "hnsw", "bm25", "template", "top_k", "max_context_tokens", "sync_s"])
            retrieval.settings.defaultEmbeddingModel = try section["embedding_model"]?.string() ?? retrieval.settings.defaultEmbeddingModel
            if let tokens = try section["chunk_tokens"]?.int() {
                guard (16...8192).contains(tokens) else { throw section["chunk_tokens"]!.error("must be from 16 to 8192 tokens") }
                retrieval.settings.chunking.maxTokens = tokens
            }
            if let overlap = try section["chunk_overlap"]?.int() {
                guard overlap >= 0, overlap < retrieval.settings.chunking.maxTokens else {
                    throw section["chunk_overlap"]!.error("must be at least 0 and less than chunk_tokens")
                }
                retrieval.settings.chunking.overlapTokens = overlap
            }
            if let hnsw = section["hnsw"] {
                try hnsw.allowOnly(["m", "ef_construction", "ef_search", "metric"])
                var parameters = retrieval.settings.hnsw
                parameters.m = try hnsw["m"]?.int() ?? parameters.m
                parameters.efConstruction = try hnsw["ef_construction"]?.int() ?? parameters.efConstruction
                parameters.efSearch = try hnsw["ef_search"]?.int() ?? parameters.efSearch
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
                parameters.k1 = Float(try bm25["k1"]?.double() ?? Double(parameters.k1))
                parameters.b = Float(try bm25["b"]?.double() ?? Double(parameters.b))
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
            if let topK = try section["top_k"]?.int() {
                guard (1...SearchOptions.maximumTopK).contains(topK) else { throw section["top_k"]!.error("must be from 1 to \(SearchOptions.maximumTopK)") }
                retrieval.topK = topK
            }
            if let sync = try section["sync_s"]?.double() {
                guard sync >= 0 else { throw section["sync_s"]!.error("must be 0 (off) or a number of seconds") }
                retrieval.syncInterval = sync == 0 ? nil : .milliseconds(Int64(sync * 1000))
            }
            if let tokens = try section["max_context_tokens"]?.int() {
                guard tokens >= 50 else { throw section["max_context_tokens"]!.error("must be at least 50") }
                retrieval.maxContextTokens = tokens
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
}
