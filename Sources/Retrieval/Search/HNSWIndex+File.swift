import Foundation

// File layout (little-endian), version 1:
//   "SYHNSW01", version u32, dimension u32, metric u32 (0 cosine, 1 dot), m u32, efConstruction u32,
//   efSearch u32, seed u64, random state u64, node count u64, entry point i32, max level i32,
//   tombstone count u64, upper-link count u64,
//   [64-aligned] vectors f32[nodes·dimension], [64-aligned] layer-0 links i32[nodes·(2m+1)],
//   [64-aligned] labels i64[nodes], levels u8[nodes], tombstones u8[nodes],
//   [64-aligned] upper links i32[upper-link count] (node order; a node of level L has L·(m+1)).
// Vectors and layer-0 links, nearly all of the file, are used in place from the mapping.
extension HNSWIndex {
    static let magic = "SYHNSW01"
    static let fileVersion: UInt32 = 1

    public func save(to url: URL) throws {
        let writer: IndexFileWriter = lock.withReadLock {
            var writer = IndexFileWriter()
            writer.append(magic: Self.magic)
            writer.append(Self.fileVersion)
            writer.append(UInt32(dimension))
            writer.append(UInt32(parameters.metric == .cosine ? 0 : 1))
            writer.append(UInt32(parameters.m))
            writer.append(UInt32(parameters.efConstruction))
            writer.append(UInt32(parameters.efSearch))
            writer.append(parameters.seed)
            writer.append(randomState)
            writer.append(UInt64(nodeCount))
            writer.append(entryPoint)
            writer.append(Int32(maxLevel))
            writer.append(UInt64(deletedCount))
            let upperCount = levels.reduce(0) { $0 + Int($1) } * upperStride
            writer.append(UInt64(upperCount))
            writer.align()
            writer.append(raw: vectors, count: nodeCount * dimension * MemoryLayout<Float>.stride)
            writer.align()
            writer.append(raw: links0, count: nodeCount * stride0 * MemoryLayout<Int32>.stride)
            writer.align()
            writer.append(contentsOf: labels)
            writer.append(contentsOf: levels)
            writer.append(contentsOf: deleted.map { $0 ? UInt8(1) : 0 })
            writer.align()
            for node in 0..<nodeCount where levels[node] > 0 {
                writer.append(raw: upperLinks[node]!, count: Int(levels[node]) * upperStride * MemoryLayout<Int32>.stride)
            }
            return writer
        }
        try writer.write(to: url)
    }

    /// Opens an index file written by `save(to:)`. Vectors and layer-0 links are memory-mapped and
    /// used in place; inserting and removing afterwards work as on a fresh index.
    public static func load(from url: URL) throws -> HNSWIndex {
        let file = try MappedFile(url: url)
        var reader = file.reader()
        guard try reader.readMagic() == magic else {
            throw SearchIndexError(.unsupportedFile, "\(url.path) is not an HNSW index file")
        }
        let version = try reader.read(UInt32.self)
        guard version == fileVersion else {
            throw SearchIndexError(.unsupportedFile, "\(url.path) is HNSW file version \(version); this build reads version \(fileVersion); rebuild the index")
        }
        let dimension = Int(try reader.read(UInt32.self))
        let metric: VectorMetric = try reader.read(UInt32.self) == 0 ? .cosine : .dot
        let m = Int(try reader.read(UInt32.self))
        let efConstruction = Int(try reader.read(UInt32.self))
        let efSearch = Int(try reader.read(UInt32.self))
        let seed = try reader.read(UInt64.self)
        let randomState = try reader.read(UInt64.self)
        let nodeCount = Int(try reader.read(UInt64.self))
        let entryPoint = try reader.read(Int32.self)
        let maxLevel = Int(try reader.read(Int32.self))
        let deletedCount = Int(try reader.read(UInt64.self))
        let upperCount = Int(try reader.read(UInt64.self))
        guard dimension > 0, m >= 2, m < 10_000, nodeCount >= 0, nodeCount <= file.size,
            entryPoint >= -1, Int(entryPoint) < max(nodeCount, 1), maxLevel >= -1, maxLevel <= 30,
            deletedCount >= 0, deletedCount <= nodeCount, upperCount >= 0, upperCount <= file.size
        else { throw reader.corrupt("header") }

        let index = HNSWIndex(
            dimension: dimension,
            parameters: HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch, metric: metric, seed: seed))
        index.randomState = randomState
        reader.align()
        try reader.require(nodeCount * dimension * MemoryLayout<Float>.stride, "vectors")
        let vectorsPointer = (file.base + reader.offset).bindMemory(to: Float.self, capacity: nodeCount * dimension)
        reader.offset += nodeCount * dimension * MemoryLayout<Float>.stride
        reader.align()
        try reader.require(nodeCount * index.stride0 * MemoryLayout<Int32>.stride, "links")
        let linksPointer = (file.base + reader.offset).bindMemory(to: Int32.self, capacity: nodeCount * index.stride0)
        reader.offset += nodeCount * index.stride0 * MemoryLayout<Int32>.stride
        reader.align()
        let labels = try reader.readArray(Int64.self, count: nodeCount, "labels")
        let levels = try reader.readArray(UInt8.self, count: nodeCount, "levels")
        let tombstones = try reader.readArray(UInt8.self, count: nodeCount, "tombstones")
        reader.align()
        guard levels.reduce(0, { $0 + Int($1) }) * index.upperStride == upperCount else { throw reader.corrupt("upper links") }
        try reader.require(upperCount * MemoryLayout<Int32>.stride, "upper links")

        // Check every link before trusting the graph, so a damaged file fails here, not mid-search.
        for node in 0..<nodeCount {
            let list = linksPointer + node * index.stride0
            let count = Int(list[0])
            guard count >= 0, count <= index.maxLinks0 else { throw reader.corrupt("links") }
            for slot in 0..<count where list[1 + slot] < 0 || Int(list[1 + slot]) >= nodeCount { throw reader.corrupt("links") }
        }
        var upperLinks: [UnsafeMutablePointer<Int32>?] = []
        upperLinks.reserveCapacity(nodeCount)
        var failed = false
        for node in 0..<nodeCount {
            let level = Int(levels[node])
            guard level > 0 else {
                upperLinks.append(nil)
                continue
            }
            let block = UnsafeMutablePointer<Int32>.allocate(capacity: level * index.upperStride)
            block.initialize(from: (file.base + reader.offset).assumingMemoryBound(to: Int32.self), count: level * index.upperStride)
            reader.offset += level * index.upperStride * MemoryLayout<Int32>.stride
            upperLinks.append(block)
            for layer in 0..<level {
                let list = block + layer * index.upperStride
                let count = Int(list[0])
                if count < 0 || count > index.maxLinks { failed = true }
                for slot in 0..<max(0, min(count, index.maxLinks)) where list[1 + slot] < 0 || Int(list[1 + slot]) >= nodeCount { failed = true }
            }
        }
        if failed || (nodeCount > 0 && (entryPoint < 0 || Int(levels[Int(entryPoint)]) != maxLevel)) {
            for block in upperLinks { block?.deallocate() }
            throw reader.corrupt("links")
        }

        index.releaseBuffers()
        index.mapping = file
        index.vectors = vectorsPointer
        index.links0 = linksPointer
        index.capacity = nodeCount
        index.nodeCount = nodeCount
        index.upperLinks = upperLinks
        index.levels = levels
        index.labels = labels
        index.deleted = tombstones.map { $0 != 0 }
        index.deletedCount = index.deleted.reduce(0) { $0 + ($1 ? 1 : 0) }
        index.entryPoint = nodeCount > 0 ? entryPoint : -1
        index.maxLevel = nodeCount > 0 ? maxLevel : -1
        index.nodeOf.reserveCapacity(nodeCount)
        for node in 0..<nodeCount where !index.deleted[node] { index.nodeOf[labels[node]] = Int32(node) }
        return index
    }
}
