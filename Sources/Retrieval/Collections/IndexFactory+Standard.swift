import Foundation

extension IndexFactory {
    /// HNSW for vectors (memory-mapped from its file at load), Okapi BM25 for keywords.
    public static let standard = IndexFactory(
        makeVectorIndex: { dimension, parameters in HNSWIndex(dimension: dimension, parameters: parameters) },
        loadVectorIndex: { url in try HNSWIndex.load(from: url) },
        makeKeywordIndex: { parameters in BM25Index(parameters: parameters) })

}
