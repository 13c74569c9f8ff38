import Foundation

// File layout (little-endian), version 2:
//   "SYHNSW01", version u32, dimension u32, metric u32 (0 cosine, 1 dot), m u32, efConstruction u32,
//   efSearch u32, seed u64, random state u64, node count u64, entry point i32, max level i32,
//   tombstone count u64, upper-link count u64,
//   [64-aligned] layer-0 records [nodes], each the vector f32[dimension] padded to 64 bytes, then the
//     links i32[2m] (unused slots −1) padded to 64 bytes,
//   [64-aligned] labels i64[nodes], levels u8[nodes], tombstones u8[nodes],
//   [64-aligned] upper links i32[upper-link count] (node order; a node of level L has L·m, unused −1).
// The records, nearly all of the file, are used in place from the mapping.
// Version 1 (vectors f32[nodes·dimension] and links i32[nodes·(2m+1)] as two sections, each list a
// count and then the links; upper lists likewise m+1 slots) is still read, into memory.
extension HNSWIndex {
    static let magic = "SYHNSW01"
    static let fileVersion: UInt32 = 2

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
            let upperCount = levels.reduce(0) { $0 + Int($1) } * maxLinks
            writer.append(UInt64(upperCount))
            writer.align()
            writer.append(raw: records.base, count: nodeCount * records.recordBytes)
            writer.align()
            writer.append(contentsOf: labels)
            writer.append(contentsOf: levels)
            writer.append(contentsOf: deleted.map { $0 ? UInt8(1) : 0 })
            writer.align()
            for node in 0..<nodeCount where levels[node] > 0 {
                writer.append(raw: upperLinks[node]!, count: Int(levels[node]) * maxLinks * MemoryLayout<Int32>.stride)
            }
            return writer
        }
        try writer.write(to: url)
    }

    /// Opens an index file written by `save(to:)`. The layer-0 records are memory-mapped and used in
    /// place; inserting and removing afterwards work as on a fresh index.
    public static func load(from url: URL) throws -> HNSWIndex {
        let file = try MappedFile(url: url)
        var reader = file.reader()
        guard try reader.readMagic() == magic else {
            throw SearchIndexError(.unsupportedFile, "\(url.path) is not an HNSW index file")
        }
        let version = try reader.read(UInt32.self)
        guard version == 1 || version == fileVersion else {
            throw SearchIndexError(.unsupportedFile, "\(url.path) is HNSW file version \(version); this build reads versions 1 and \(fileVersion); rebuild the index")
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
        guard dimension > 0, dimension <= file.size, m >= 2, m < 10_000, nodeCount >= 0, nodeCount <= file.size,
            entryPoint >= -1, Int(entryPoint) < max(nodeCount, 1), maxLevel >= -1, maxLevel <= 30,
            deletedCount >= 0, deletedCount <= nodeCount, upperCount >= 0, upperCount <= file.size
        else { throw reader.corrupt("header") }

        let index = HNSWIndex(
            dimension: dimension,
            parameters: HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch, metric: metric, seed: seed))
        index.randomState = randomState
        reader.align()
        let records: NodeRecords
        if version == 1 {
            records = try readVersion1Layer0(&reader, index: index, nodeCount: nodeCount)
        } else {
            let bytes = nodeCount * NodeRecords.recordBytes(dimension: dimension, linkSlots: index.maxLinks0)
            try reader.require(bytes, "records")
            records = NodeRecords(dimension: dimension, linkSlots: index.maxLinks0, mapping: file, offset: reader.offset, count: nodeCount)
            reader.offset += bytes
        }
        reader.align()
        let labels = try reader.readArray(Int64.self, count: nodeCount, "labels")
        let levels = try reader.readArray(UInt8.self, count: nodeCount, "levels")
        let tombstones = try reader.readArray(UInt8.self, count: nodeCount, "tombstones")
        reader.align()
        let upperSlots = version == 1 ? index.maxLinks + 1 : index.maxLinks
        guard levels.reduce(0, { $0 + Int($1) }) * upperSlots == upperCount else { throw reader.corrupt("upper links") }
        try reader.require(upperCount * MemoryLayout<Int32>.stride, "upper links")

        // Check every link before trusting the graph, so a damaged file fails here, not mid-search.
        var failed = false
        for node in 0..<nodeCount {
            let list = records.links(Int32(node))
            for slot in 0..<index.maxLinks0 where list[slot] < -1 || Int(list[slot]) >= nodeCount { failed = true }
        }
        var upperLinks: [UnsafeMutablePointer<Int32>?] = []
        upperLinks.reserveCapacity(nodeCount)
        for node in 0..<nodeCount {
            let level = Int(levels[node])
            guard level > 0 else {
                upperLinks.append(nil)
                continue
            }
            let block = UnsafeMutablePointer<Int32>.allocate(capacity: level * index.maxLinks)
            upperLinks.append(block)
            let stored = (file.base + reader.offset).assumingMemoryBound(to: Int32.self)
            reader.offset += level * upperSlots * MemoryLayout<Int32>.stride
            if version == 1 {
                for layer in 0..<level {
                    if !convertVersion1List(stored + layer * upperSlots, into: block + layer * index.maxLinks, slots: index.maxLinks) { failed = true }
                }
            } else {
                block.initialize(from: stored, count: level * index.maxLinks)
            }
            for slot in 0..<level * index.maxLinks where block[slot] < -1 || Int(block[slot]) >= nodeCount { failed = true }
        }
        if failed || (nodeCount > 0 && (entryPoint < 0 || Int(levels[Int(entryPoint)]) != maxLevel)) {
            for block in upperLinks { block?.deallocate() }
            if records.mapping == nil {
                var owned = records
                owned.release()
            }
            throw reader.corrupt("links")
        }

        index.records.release()
        index.records = records
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

    /// Reads version 1's separate vector and layer-0 link sections into records in memory.
    private static func readVersion1Layer0(_ reader: inout IndexFileReader, index: HNSWIndex, nodeCount: Int) throws -> NodeRecords {
        let dimension = index.dimension
        let stride = index.maxLinks0 + 1
        try reader.require(nodeCount * dimension * MemoryLayout<Float>.stride, "vectors")
        let vectors = (reader.base + reader.offset).assumingMemoryBound(to: Float.self)
        reader.offset += nodeCount * dimension * MemoryLayout<Float>.stride
        reader.align()
        try reader.require(nodeCount * stride * MemoryLayout<Int32>.stride, "links")
        let lists = (reader.base + reader.offset).assumingMemoryBound(to: Int32.self)
        reader.offset += nodeCount * stride * MemoryLayout<Int32>.stride
        var records = NodeRecords(dimension: dimension, linkSlots: index.maxLinks0)
        records.reserve(nodeCount, keeping: 0)
        for node in 0..<nodeCount {
            records.vector(Int32(node)).update(from: vectors + node * dimension, count: dimension)
            guard convertVersion1List(lists + node * stride, into: records.links(Int32(node)), slots: index.maxLinks0) else {
                records.release()
                throw reader.corrupt("links")
            }
        }
        return records
    }

    /// Version 1 lists: a count, then the links. Returns false when the count is out of range.
    private static func convertVersion1List(_ stored: UnsafePointer<Int32>, into list: UnsafeMutablePointer<Int32>, slots: Int) -> Bool {
        let count = Int(stored[0])
        guard count >= 0, count <= slots else { return false }
        for slot in 0..<slots { list[slot] = slot < count ? stored[1 + slot] : -1 }
        return true
    }
}
