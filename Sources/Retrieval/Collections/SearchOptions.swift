import Foundation
import SwitchyardCore

public enum SearchMode: String, Sendable, CaseIterable {
    case dense, bm25, hybrid
}

public enum FusionMethod: String, Sendable, CaseIterable {
    /// Standardised scores (the default): plain RRF picks the candidates from both lists, then each
    /// candidate's exact cosine and BM25 score are z-scored over them and summed with the weights
    /// (default 1 : 0.3).
    case zscore
    /// Reciprocal rank fusion (k = 60): robust to the two indexes' different score scales.
    case rrf
    /// Weighted sum of each list's min-max normalised scores.
    case weighted

    /// [dense, BM25] list weights when a request names none. zscore: chosen by cross-validation over
    /// four sets (see the README's retrieval evaluation); rrf: plain, all 1; weighted: 0.75 / 0.25
    /// (Weaviate's hybrid default; the same cross-validation puts it 0.0002 nDCG@10 behind 0.7 / 0.3).
    public var defaultWeights: [Float] {
        switch self {
        case .zscore: return [1, 0.3]
        case .rrf: return [1, 1]
        case .weighted: return [0.75, 0.25]
        }
    }
}

/// A request's say on the rerank stage; nil fields fall back to the collection's setting.
public struct RerankRequest: Sendable, Equatable {
    /// On or off for this search; nil = the collection's setting.
    public var enabled: Bool?
    /// How many fused candidates the reranker reorders; nil = the collection's setting.
    public var topN: Int?

    public init(enabled: Bool? = nil, topN: Int? = nil) {
        self.enabled = enabled
        self.topN = topN
    }
}

/// One search: what to find, how, and among which chunks.
public struct SearchOptions: Sendable {
    public var query: String
    public var topK: Int
    public var mode: SearchMode
    public var filter: MetadataFilter
    public var fusion: FusionMethod
    /// Weights of the dense and the BM25 list in fusion.
    public var weights: [Float]?
    /// MMR diversity: 1 = pure relevance, 0 = pure novelty; nil = off.
    public var mmrLambda: Float?
    /// HNSW beam width for this search (default: the collection's).
    public var efSearch: Int?
    /// The rerank stage for this search (default: the collection's setting).
    public var rerank: RerankRequest
    /// Relevance cut-off: results whose final score is below it are dropped (nil = off). The final
    /// score is the reranker's when reranking ran, else the fusion's or the single index's.
    public var minScore: Float?

    public init(
        query: String, topK: Int = 10, mode: SearchMode = .hybrid, filter: MetadataFilter = MetadataFilter(), fusion: FusionMethod = .zscore,
        weights: [Float]? = nil, mmrLambda: Float? = nil, efSearch: Int? = nil, rerank: RerankRequest = RerankRequest(), minScore: Float? = nil
    ) {
        self.query = query
        self.topK = topK
        self.mode = mode
        self.filter = filter
        self.fusion = fusion
        self.weights = weights
        self.mmrLambda = mmrLambda
        self.efSearch = efSearch
        self.rerank = rerank
        self.minScore = minScore
    }

    public static let maximumTopK = 1000
    /// The most candidates one search may rerank.
    public static let maximumRerankTopN = 200
    /// Longest query accepted, in UTF-8 bytes (the embedder reads at most 256 word-pieces anyway).
    public static let maximumQueryBytes = 16_384

    /// Reads `{query, top_k, mode, filter, fusion, weights, mmr, ef_search, rerank, min_score}`; errors name the field
    /// under `prefix` (e.g. `switchyard.retrieval.top_k`). `query` may be absent when `queryRequired` is false.
    public static func parse(_ value: JSONValue, prefix: String = "", queryRequired: Bool = true, ignoring: Set<String> = [])
        throws -> SearchOptions
    {
        func name(_ field: String) -> String { prefix.isEmpty ? field : "\(prefix).\(field)" }
        guard let object = value.objectValue else {
            throw SwitchyardError.invalidRequest("\(prefix.isEmpty ? "The body" : prefix) must be a JSON object.", param: prefix.isEmpty ? nil : prefix)
        }
        let known: Set<String> = ["query", "top_k", "mode", "filter", "fusion", "weights", "mmr", "ef_search", "rerank", "min_score"]
        for key in object.keys.sorted() where !known.contains(key) && !ignoring.contains(key) {
            throw SwitchyardError.invalidRequest(
                "Unknown field '\(name(key).quotedPrefix(100))'; allowed: \(known.union(ignoring).sorted().joined(separator: ", ")).", param: name(key))
        }
        var options = SearchOptions(query: "")
        if let query = object["query"] {
            guard let text = query.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw SwitchyardError.invalidRequest("\(name("query")) must be a non-empty string.", param: name("query"))
            }
            guard text.utf8.count <= maximumQueryBytes else {
                throw SwitchyardError.invalidRequest(
                    "\(name("query")) is \(text.utf8.count) bytes; the most a search takes is \(maximumQueryBytes).", param: name("query"))
            }
            options.query = text
        } else if queryRequired {
            throw SwitchyardError.invalidRequest("\(name("query")) is required.", param: name("query"))
        }
        if let topK = object["top_k"] {
            guard let value = topK.intValue, (1...maximumTopK).contains(value) else {
                throw SwitchyardError.invalidRequest("\(name("top_k")) must be a whole number from 1 to \(maximumTopK).", param: name("top_k"))
            }
            options.topK = value
        }
        if let mode = object["mode"] {
            guard let text = mode.stringValue, let value = SearchMode(rawValue: text) else {
                throw SwitchyardError.invalidRequest("\(name("mode")) must be one of: hybrid, dense, bm25.", param: name("mode"))
            }
            options.mode = value
        }
        if let filter = object["filter"], filter != .null {
            options.filter = try MetadataFilter.parse(filter, param: name("filter"))
        }
        if let fusion = object["fusion"] {
            guard let text = fusion.stringValue, let value = FusionMethod(rawValue: text) else {
                throw SwitchyardError.invalidRequest("\(name("fusion")) must be zscore, rrf or weighted.", param: name("fusion"))
            }
            options.fusion = value
        }
        if let weights = object["weights"] {
            // Bounded so that weighted sums of normalised scores stay finite in Float.
            guard let list = weights.arrayValue, list.count == 2,
                let values = Optional(list.compactMap(\.finiteDoubleValue)), values.count == 2,
                values.allSatisfy({ (0...1000).contains($0) }), values.contains(where: { $0 > 0 })
            else {
                throw SwitchyardError.invalidRequest(
                    "\(name("weights")) must be two numbers from 0 to 1000, not both 0: [dense, bm25].", param: name("weights"))
            }
            options.weights = values.map { Float($0) }
        }
        if let mmr = object["mmr"], mmr != .null, mmr != .bool(false) {
            if mmr == .bool(true) {
                options.mmrLambda = 0.7
            } else {
                guard let lambda = mmr.doubleValue, (0...1).contains(lambda) else {
                    throw SwitchyardError.invalidRequest(
                        "\(name("mmr")) must be true or a lambda from 0 (diverse) to 1 (relevant).", param: name("mmr"))
                }
                options.mmrLambda = Float(lambda)
            }
        }
        if let ef = object["ef_search"] {
            guard let value = ef.intValue, (1...10000).contains(value) else {
                throw SwitchyardError.invalidRequest("\(name("ef_search")) must be a whole number from 1 to 10000.", param: name("ef_search"))
            }
            options.efSearch = value
        }
        if let rerank = object["rerank"], rerank != .null {
            options.rerank = try parseRerank(rerank, field: name("rerank"))
        }
        if let minScore = object["min_score"], minScore != .null {
            // Scores are cosines, BM25 sums, fused sums or reranker scores: any finite number is a cut-off.
            options.minScore = Float(try minScore.number(name("min_score"), in: -1_000_000...1_000_000))
        }
        return options
    }

    /// `true`, `false` or `{"enabled": Bool, "top_n": 1…maximumRerankTopN}`.
    static func parseRerank(_ value: JSONValue, field: String) throws -> RerankRequest {
        if let flag = value.boolValue { return RerankRequest(enabled: flag) }
        guard let object = value.objectValue else {
            throw SwitchyardError.invalidRequest("\(field) must be true, false or {\"top_n\": N}.", param: field)
        }
        for key in object.keys.sorted() where key != "enabled" && key != "top_n" {
            throw SwitchyardError.invalidRequest(
                "Unknown field '\(field).\(key.quotedPrefix(100))'; allowed: enabled, top_n.", param: "\(field).\(key.quotedPrefix(100))")
        }
        var request = RerankRequest(enabled: true)
        if let enabled = object["enabled"] {
            guard let flag = enabled.boolValue else {
                throw SwitchyardError.invalidRequest("\(field).enabled must be true or false.", param: "\(field).enabled")
            }
            request.enabled = flag
        }
        if let topN = object["top_n"] {
            request.topN = try topN.integer("\(field).top_n", in: 1...maximumRerankTopN)
        }
        return request
    }
}
