import Foundation
import Logging
import SwitchyardCore
import Synchronization

/// Makes and loads the indexes a collection uses.
public struct IndexFactory: Sendable {
    public var makeVectorIndex: @Sendable (_ dimension: Int, _ parameters: HNSWParameters) -> any VectorIndex
    public var loadVectorIndex: @Sendable (_ file: URL) throws -> any VectorIndex
    public var makeKeywordIndex: @Sendable (_ parameters: BM25Parameters) -> any KeywordIndex

    public init(
        makeVectorIndex: @escaping @Sendable (Int, HNSWParameters) -> any VectorIndex,
        loadVectorIndex: @escaping @Sendable (URL) throws -> any VectorIndex,
        makeKeywordIndex: @escaping @Sendable (BM25Parameters) -> any KeywordIndex
    ) {
        self.makeVectorIndex = makeVectorIndex
        self.loadVectorIndex = loadVectorIndex
        self.makeKeywordIndex = makeKeywordIndex
    }
}

/// How a collection reaches its embedding model (the gateway's embedding path).
public struct EmbeddingAccess: Sendable {
    /// Vectors for texts with the named model, in order.
    public var embed: @Sendable (_ model: String, _ texts: [String]) async throws -> [[Float]]
    /// The model's own token counter, when it has one in-process; nil = estimate.
    public var tokenCounter: @Sendable (_ model: String) -> TokenCounter?

    public init(
        embed: @escaping @Sendable (String, [String]) async throws -> [[Float]],
        tokenCounter: @escaping @Sendable (String) -> TokenCounter? = { _ in nil }
    ) {
        self.embed = embed
        self.tokenCounter = tokenCounter
    }
}

public struct RetrievalSettings: Sendable {
    public var defaultEmbeddingModel = "local/all-minilm-l6-v2"
    public var chunking = ChunkingOptions()
    public var hnsw = HNSWParameters()
    public var bm25 = BM25Parameters()
    /// The rerank stage for every collection without its own setting (default off).
    public var rerank = RerankSettings()
    /// Per-collection rerank settings, by collection name.
    public var collectionRerank: [String: RerankSettings] = [:]
    public init() {}
}

/// A collection as the API describes it.
public struct CollectionInfo: Sendable, Hashable {
    public var name: String
    public var embeddingModel: String
    public var dimension: Int
    public var documents: Int
    public var chunks: Int
    public var createdAt: Date
}

/// Collections of documents, their chunks, and search over them with access control: what
/// ingestion, the collections API and grounded chat share. Writes go to the persistence first,
/// then to the in-memory indexes; the HNSW file beside the database is saved after each write.
public final class CollectionService: Sendable {
    public let settings: RetrievalSettings
    let persistence: any RetrievalPersistence
    let indexDirectory: URL?
    let indexes: IndexFactory
    let embedding: EmbeddingAccess
    let logger: Logger
    let open = Mutex<[String: LiveCollection]>([:])
    /// Rerankers by name (`RerankSettings.reranker` picks one).
    let rerankers: [String: any Reranker]
    /// With a shared store's change feed: how far `refresh()` has applied it (nil until `load()` read it).
    let feedPosition = Mutex<Int64?>(nil)
    /// One `refresh()` at a time.
    let refreshLock = NSLock()

    /// - Parameter indexDirectory: where `<name>.hnsw` files live; nil keeps indexes in memory only.
    public init(
        persistence: any RetrievalPersistence, indexDirectory: URL?, indexes: IndexFactory, embedding: EmbeddingAccess,
        settings: RetrievalSettings = RetrievalSettings(), rerankers: [any Reranker] = [HybridScoreReranker()],
        logger: Logger = Logger(label: "switchyard.retrieval")
    ) {
        self.rerankers = Dictionary(rerankers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.persistence = persistence
        self.indexDirectory = indexDirectory
        self.indexes = indexes
        self.embedding = embedding
        self.settings = settings
        self.logger = logger
    }

    /// Opens every stored collection: the HNSW file when it matches the database's revision
    /// (rebuilt from the stored vectors otherwise), BM25 rebuilt from the stored chunk texts.
    public func load() throws {
        // The feed's end before the rows are read: changes committed meanwhile are applied again by the first
        // refresh (applying a document's current state twice does nothing the second time).
        let position = try (persistence as? any RetrievalChangeFeed)?.changePosition()
        for stored in try persistence.loadCollections() {
            let collection = try openCollection(stored)
            open.withLock { $0[stored.name] = collection }
        }
        if let position { feedPosition.withLock { $0 = position } }
    }

    // MARK: Collections

    public func createCollection(name: String, embeddingModel: String? = nil) async throws -> CollectionInfo {
        try Self.validate(name: name)
        if open.withLock({ $0[name] != nil }) {
            throw SwitchyardError(code: .invalidRequest, message: "A collection named '\(name)' already exists.", status: 409, param: "name")
        }
        let model = embeddingModel ?? settings.defaultEmbeddingModel
        let probe: [[Float]]
        do {
            probe = try await embedding.embed(model, ["dimension probe"])
        } catch var error as SwitchyardError {
            if error.param == "model" || error.param == nil { error.param = "embedding_model" }
            error.message = "Cannot use '\(model)' as the embedding model: \(error.message)"
            throw error
        }
        guard let dimension = probe.first?.count, dimension > 0 else {
            throw SwitchyardError.invalidRequest("The embedding model '\(model)' returned no vector.", param: "embedding_model")
        }
        let stored = StoredCollection(name: name, embeddingModel: model, dimension: dimension)
        let persistence = self.persistence
        try await BlockingWork.run { try persistence.createCollection(stored) }
        let collection = LiveCollection(
            stored: stored, vectors: indexes.makeVectorIndex(dimension, settings.hnsw), keywords: indexes.makeKeywordIndex(settings.bm25),
            catalog: .init(revision: 0))
        open.withLock { $0[name] = collection }
        logger.info("collection created", metadata: ["switchyard.collection": .string(name), "switchyard.embedding_model": .string(model)])
        return info(collection)
    }

    public func listCollections() -> [CollectionInfo] {
        open.withLock { Array($0.values) }.map(info).sorted { $0.name < $1.name }
    }

    public func describe(_ name: String) throws -> CollectionInfo { info(try collection(name)) }

    public func deleteCollection(_ name: String) throws {
        let collection = try collection(name)
        collection.writeLock.lock()
        defer { collection.writeLock.unlock() }
        _ = try persistence.deleteCollection(named: name)
        open.withLock { $0[name] = nil }
        if let files = indexFiles(name) {
            try? FileManager.default.removeItem(at: files.index)
            try? FileManager.default.removeItem(at: files.meta)
        }
    }

    /// Writes every collection's HNSW file that is behind its database revision.
    public func saveIndexes() throws {
        for collection in open.withLock({ Array($0.values) }) {
            collection.writeLock.lock()
            defer { collection.writeLock.unlock() }
            try saveIndex(collection, force: false)
        }
    }

    // MARK: Helpers

    func collection(_ name: String) throws -> LiveCollection {
        guard let collection = open.withLock({ $0[name] }) else {
            let names = open.withLock { $0.keys.sorted() }
            throw SwitchyardError(
                code: .notFound,
                message: "No collection named '\(name)'." + (names.isEmpty ? " None exist yet." : " Collections: \(names.prefix(20).joined(separator: ", "))."),
                status: 404, param: "collection")
        }
        return collection
    }

    func info(_ collection: LiveCollection) -> CollectionInfo {
        let (documents, chunks) = collection.catalog.withLock { ($0.documents.count, $0.chunks.count) }
        return CollectionInfo(
            name: collection.name, embeddingModel: collection.embeddingModel, dimension: collection.dimension, documents: documents,
            chunks: chunks, createdAt: collection.createdAt)
    }

    static func validate(name: String) throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        guard !name.isEmpty, name.count <= 64, allowed, !name.hasPrefix(".") else {
            throw SwitchyardError.invalidRequest(
                "name must be 1-64 characters of letters, digits, '-', '_' or '.', not starting with '.'.", param: "name")
        }
    }

    func indexFiles(_ name: String) -> (index: URL, meta: URL)? {
        guard let indexDirectory else { return nil }
        return (indexDirectory.appendingPathComponent("\(name).hnsw"), indexDirectory.appendingPathComponent("\(name).hnsw.json"))
    }

    struct IndexMeta: Codable {
        var revision: Int64
        var count: Int
    }

    func openCollection(_ stored: StoredCollection) throws -> LiveCollection {
        var catalog = LiveCollection.Catalog(revision: stored.revision)
        for document in try persistence.documents(in: stored.name) {
            catalog.documents[document.id] = .init(stored: document, chunkIDs: [])
        }
        let chunks = try persistence.chunks(in: stored.name)
        for chunk in chunks {
            catalog.chunks[chunk.id] = .init(
                documentID: chunk.documentID, position: chunk.position, text: chunk.text, headingPath: chunk.headingPath,
                tokenCount: chunk.tokenCount, vector: chunk.vector)
            catalog.documents[chunk.documentID]?.chunkIDs.append(chunk.id)
        }
        var vectors: (any VectorIndex)?
        if let files = indexFiles(stored.name), let data = FileManager.default.contents(atPath: files.meta.path),
            let meta = try? JSONDecoder().decode(IndexMeta.self, from: data), meta.revision == stored.revision, meta.count == chunks.count
        {
            do {
                let loaded = try indexes.loadVectorIndex(files.index)
                if loaded.count == chunks.count, loaded.dimension == stored.dimension { vectors = loaded }
            } catch {
                logger.warning("index file unreadable; rebuilding", metadata: ["switchyard.collection": .string(stored.name), "error": "\(error)"])
            }
        }
        let rebuild = vectors == nil
        let index = vectors ?? indexes.makeVectorIndex(stored.dimension, settings.hnsw)
        if rebuild {
            for chunk in chunks { try index.insert(id: chunk.id, vector: chunk.vector) }
        }
        let keywords = indexes.makeKeywordIndex(settings.bm25)
        for (id, chunk) in catalog.chunks {
            keywords.insert(id: id, text: LiveCollection.indexedText(chunk, title: catalog.documents[chunk.documentID]?.stored.title))
        }
        let collection = LiveCollection(stored: stored, vectors: index, keywords: keywords, catalog: catalog)
        if rebuild, indexDirectory != nil { try saveIndex(collection, force: true) }
        logger.info(
            "collection loaded",
            metadata: [
                "switchyard.collection": .string(stored.name), "switchyard.chunks": "\(chunks.count)",
                "switchyard.index": .string(rebuild ? "rebuilt" : "loaded"),
            ])
        return collection
    }

    /// Saves the HNSW file and its revision; call with the write lock held.
    func saveIndex(_ collection: LiveCollection, force: Bool) throws {
        guard let files = indexFiles(collection.name) else { return }
        let (revision, count) = collection.catalog.withLock { ($0.revision, $0.chunks.count) }
        if !force, let data = FileManager.default.contents(atPath: files.meta.path),
            let meta = try? JSONDecoder().decode(IndexMeta.self, from: data), meta.revision == revision
        {
            return
        }
        try FileManager.default.createDirectory(at: files.index.deletingLastPathComponent(), withIntermediateDirectories: true)
        try collection.vectors.save(to: files.index)
        try JSONEncoder().encode(IndexMeta(revision: revision, count: count)).write(to: files.meta, options: .atomic)
    }
}
