import Foundation
import Synchronization

#if canImport(CRetrievalKernels)
import CRetrievalKernels
#endif

/// Hierarchical navigable small-world graph (Malkov & Yashunin) over fixed-dimension vectors.
///
/// - Vectors live in one contiguous, 64-byte-aligned buffer (normalised once at insert for cosine),
///   and layer-0 links in another with a fixed stride (`2·m` links + a count per node), so a beam
///   search touches two flat arrays. Upper layers (about 1/m of the nodes) have per-node link blocks.
/// - Neighbours are chosen with the paper's heuristic (keep a candidate only if it is nearer to the
///   new node than to every neighbour already kept), also when a full neighbour list is pruned.
/// - Removal is a tombstone: the node keeps routing searches but is never returned. When tombstones
///   reach half of the nodes the graph is rebuilt from the live vectors (`compact()`), so removal
///   costs O(1) and memory stays bounded. Re-inserting an id tombstones its old node.
/// - Filters run inside the layer-0 beam search: rejected nodes are still expanded, so the search
///   keeps going until `ef` accepted nodes are found; when a sample says the filter accepts so few
///   nodes that graph search would visit most of the graph anyway, the search scans the accepted
///   nodes exactly instead.
/// - Searches run concurrently under a reader lock (each takes its scratch space from a pool); inserts,
///   removals and saves take the writer lock.
/// - `load(from:)` memory-maps the file copy-on-write: vectors and layer-0 links are used in place,
///   and the first insert that needs room moves them to memory.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    // @unchecked Sendable: every mutable field below is read under `lock` (shared) and written
    // under it exclusively; the scratch pool has its own mutex.

    public let dimension: Int
    public let parameters: HNSWParameters

    let maxLinks: Int
    let maxLinks0: Int
    let stride0: Int
    let upperStride: Int
    let levelMultiplier: Double

    let kernel = VectorMath.Kernel.current
    let lock = ReadWriteLock()
    let scratchPool = Mutex<[SearchScratch]>([])

    var capacity = 0
    var nodeCount = 0
    var vectors: UnsafeMutablePointer<Float>
    var links0: UnsafeMutablePointer<Int32>
    var upperLinks: [UnsafeMutablePointer<Int32>?] = []
    var levels: [UInt8] = []
    var labels: [Int64] = []
    var deleted: [Bool] = []
    var deletedCount = 0
    var nodeOf: [Int64: Int32] = [:]
    var entryPoint: Int32 = -1
    var maxLevel = -1
    var randomState: UInt64
    /// Set while `vectors` and `links0` point into a mapped file rather than owned memory.
    var mapping: MappedFile?

    public init(dimension: Int, parameters: HNSWParameters = .init()) {
        precondition(dimension > 0, "dimension must be positive")
        precondition(parameters.m >= 2, "m must be at least 2")
        self.dimension = dimension
        var parameters = parameters
        parameters.efConstruction = max(parameters.efConstruction, parameters.m)
        parameters.efSearch = max(parameters.efSearch, 1)
        self.parameters = parameters
        maxLinks = parameters.m
        maxLinks0 = 2 * parameters.m
        stride0 = maxLinks0 + 1
        upperStride = maxLinks + 1
        levelMultiplier = 1 / log(Double(parameters.m))
        randomState = Self.initialRandomState(seed: parameters.seed)
        vectors = Self.allocateFloats(0)
        links0 = Self.allocateLinks(0)
    }

    deinit {
        releaseBuffers()
        for block in upperLinks { block?.deallocate() }
    }

    // MARK: - Reading

    /// Live (not removed) vectors.
    public var count: Int { lock.withReadLock { nodeCount - deletedCount } }

    /// Removed nodes still in the graph, waiting for the next compaction.
    public var tombstoneCount: Int { lock.withReadLock { deletedCount } }

    public func contains(_ id: Int64) -> Bool { lock.withReadLock { nodeOf[id] != nil } }

    /// Bytes held by the graph and vectors (allocated capacity, or the mapped file's share).
    public var memoryBytes: Int {
        lock.withReadLock {
            let upper = levels.reduce(0) { $0 + Int($1) } * upperStride * MemoryLayout<Int32>.stride
            let perNode = MemoryLayout<Int64>.stride + 2 + MemoryLayout<UnsafeMutablePointer<Int32>?>.stride
            let idMap = nodeOf.capacity * (MemoryLayout<Int64>.stride + MemoryLayout<Int32>.stride) * 2
            return capacity * (dimension * MemoryLayout<Float>.stride + stride0 * MemoryLayout<Int32>.stride) + upper + nodeCount * perNode + idMap
        }
    }

    /// The stored vector of an id (unit length for cosine).
    public func vector(for id: Int64) -> [Float]? {
        lock.withReadLock {
            guard let node = nodeOf[id] else { return nil }
            return Array(UnsafeBufferPointer(start: vectors + Int(node) * dimension, count: dimension))
        }
    }

    // MARK: - Writing

    public func insert(id: Int64, vector: [Float]) throws {
        var vector = try ExactVectorIndex.checked(vector, dimension: dimension)
        if parameters.metric == .cosine { VectorMath.normalise(&vector) }
        lock.withWriteLock {
            if let old = nodeOf[id] { tombstone(old) }
            vector.withUnsafeBufferPointer { addNode(label: id, vector: $0.baseAddress!) }
            compactIfNeeded()
        }
    }

    /// Inserts many vectors under one lock acquisition.
    public func insert(_ items: [(id: Int64, vector: [Float])]) throws {
        for item in items { _ = try ExactVectorIndex.checked(item.vector, dimension: dimension) }
        lock.withWriteLock {
            for item in items {
                var vector = item.vector
                if parameters.metric == .cosine { VectorMath.normalise(&vector) }
                if let old = nodeOf[item.id] { tombstone(old) }
                vector.withUnsafeBufferPointer { addNode(label: item.id, vector: $0.baseAddress!) }
            }
            compactIfNeeded()
        }
    }

    public func remove(id: Int64) {
        lock.withWriteLock {
            guard let node = nodeOf[id] else { return }
            tombstone(node)
            compactIfNeeded()
        }
    }

    /// Rebuilds the graph from the live vectors, dropping tombstones. Runs by itself when tombstones
    /// reach half of the nodes.
    public func compact() {
        lock.withWriteLock { rebuildWithoutTombstones() }
    }

    func tombstone(_ node: Int32) {
        guard !deleted[Int(node)] else { return }
        deleted[Int(node)] = true
        deletedCount += 1
        nodeOf[labels[Int(node)]] = nil
    }

    func compactIfNeeded() {
        if deletedCount > 0, deletedCount * 2 >= nodeCount { rebuildWithoutTombstones() }
    }

    private func rebuildWithoutTombstones() {
        guard deletedCount > 0 else { return }
        let live = (0..<nodeCount).filter { !deleted[$0] }
        let oldVectors = UnsafeMutablePointer<Float>.allocate(capacity: max(live.count * dimension, 1))
        defer { oldVectors.deallocate() }
        for (slot, node) in live.enumerated() {
            (oldVectors + slot * dimension).update(from: vectors + node * dimension, count: dimension)
        }
        let oldLabels = live.map { labels[$0] }
        releaseBuffers()
        for block in upperLinks { block?.deallocate() }
        capacity = 0
        nodeCount = 0
        vectors = Self.allocateFloats(0)
        links0 = Self.allocateLinks(0)
        upperLinks = []
        levels = []
        labels = []
        deleted = []
        deletedCount = 0
        nodeOf = [:]
        entryPoint = -1
        maxLevel = -1
        for (slot, label) in oldLabels.enumerated() {
            addNode(label: label, vector: oldVectors + slot * dimension)
        }
    }

    // MARK: - Storage

    static func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 16))
    }

    static func allocateLinks(_ count: Int) -> UnsafeMutablePointer<Int32> {
        UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * MemoryLayout<Int32>.stride, alignment: 64)
            .bindMemory(to: Int32.self, capacity: max(count, 16))
    }

    func releaseBuffers() {
        if mapping == nil {
            UnsafeMutableRawPointer(vectors).deallocate()
            UnsafeMutableRawPointer(links0).deallocate()
        }
        mapping = nil
    }

    func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity + capacity / 2, 1024)
        let newVectors = Self.allocateFloats(newCapacity * dimension)
        let newLinks = Self.allocateLinks(newCapacity * stride0)
        newVectors.update(from: vectors, count: nodeCount * dimension)
        newLinks.update(from: links0, count: nodeCount * stride0)
        releaseBuffers()
        vectors = newVectors
        links0 = newLinks
        capacity = newCapacity
    }

    @inline(__always)
    func links(_ node: Int32, level: Int) -> UnsafeMutablePointer<Int32> {
        level == 0 ? links0 + Int(node) * stride0 : upperLinks[Int(node)]! + (level - 1) * upperStride
    }

    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, _ node: Int32) -> Float {
        -kernel.dot(query, vectors + Int(node) &* dimension, dimension)
    }

    @inline(__always)
    func distance(_ a: Int32, _ b: Int32) -> Float {
        -kernel.dot(vectors + Int(a) &* dimension, vectors + Int(b) &* dimension, dimension)
    }

    /// A node's top layer, ⌊−ln(U) / ln(m)⌋, with U drawn exactly as hnswlib draws it (libstdc++'s
    /// `std::minstd_rand0` seeded with the seed, and `uniform_real_distribution<double>(0, 1)`, which
    /// takes two draws per double). The same seed therefore gives the same layers as hnswlib, so the
    /// two build the same graph from the same vectors and their recall can be compared directly.
    func randomLevel() -> Int {
        let modulus: UInt64 = 2_147_483_647
        let range = Double(modulus - 1)  // max − min + 1 of minstd_rand0 (min 1, max 2^31 − 2)
        var sum = 0.0
        var factor = 1.0
        for _ in 0..<2 {
            randomState = (randomState &* 16807) % modulus
            sum += Double(randomState - 1) * factor
            factor *= range
        }
        var uniform = sum / factor
        if uniform >= 1 { uniform = 1.0.nextDown }
        return min(Int(-log(max(uniform, .leastNonzeroMagnitude)) * levelMultiplier), 30)
    }

    static func initialRandomState(seed: UInt64) -> UInt64 {
        let state = seed % 2_147_483_647
        return state == 0 ? 1 : state
    }

    func acquireScratch() -> SearchScratch {
        scratchPool.withLock { pool in pool.popLast() } ?? SearchScratch(nodes: max(nodeCount, 1024), maxLinks: maxLinks0)
    }

    func releaseScratch(_ scratch: SearchScratch) {
        scratchPool.withLock { pool in if pool.count < 64 { pool.append(scratch) } }
    }

    // MARK: - Insertion

    /// Adds a node for an already normalised vector and links it into every layer up to its level.
    func addNode(label: Int64, vector: UnsafePointer<Float>) {
        reserve(nodeCount + 1)
        let node = Int32(nodeCount)
        let level = randomLevel()
        (vectors + Int(node) * dimension).update(from: vector, count: dimension)
        links0[Int(node) * stride0] = 0
        if level > 0 {
            let block = UnsafeMutablePointer<Int32>.allocate(capacity: level * upperStride)
            block.initialize(repeating: 0, count: level * upperStride)
            upperLinks.append(block)
        } else {
            upperLinks.append(nil)
        }
        levels.append(UInt8(level))
        labels.append(label)
        deleted.append(false)
        nodeOf[label] = node
        nodeCount += 1

        guard entryPoint >= 0 else {
            entryPoint = node
            maxLevel = level
            return
        }
        let query = UnsafePointer(vectors + Int(node) * dimension)
        var current = entryPoint
        var currentDistance = distance(query, current)
        if level < maxLevel {
            for layer in stride(from: maxLevel, to: level, by: -1) {
                greedyStep(query, &current, &currentDistance, level: layer)
            }
        }
        let scratch = acquireScratch()
        defer { releaseScratch(scratch) }
        for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
            searchLayer(query, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction, level: layer, scratch: scratch, filter: nil)
            let nearest = scratch.results.sortedAscending().filter { $0.node != node }
            let chosen = selectNeighbours(nearest, limit: maxLinks)
            let own = links(node, level: layer)
            own[0] = Int32(chosen.count)
            for (slot, neighbour) in chosen.enumerated() { own[1 + slot] = neighbour.node }
            for neighbour in chosen { link(neighbour.node, to: node, distance: neighbour.distance, level: layer) }
            if let first = nearest.first {
                current = first.node
                currentDistance = first.distance
            }
        }
        if level > maxLevel {
            entryPoint = node
            maxLevel = level
        }
    }

    /// Moves to the nearest neighbour on `level` until no neighbour is nearer (upper-layer descent).
    @inline(__always)
    func greedyStep(_ query: UnsafePointer<Float>, _ current: inout Int32, _ currentDistance: inout Float, level: Int) {
        var changed = true
        while changed {
            changed = false
            let list = links(current, level: level)
            let count = Int(list[0])
            for slot in 0..<count {
                let candidate = list[1 + slot]
                let d = distance(query, candidate)
                if d < currentDistance {
                    currentDistance = d
                    current = candidate
                    changed = true
                }
            }
        }
    }

    /// The paper's heuristic (hnswlib's getNeighborsByHeuristic2): walking candidates nearest first,
    /// keep one only if it is nearer to the base than to every one already kept.
    func selectNeighbours(_ candidates: [NodeDistance], limit: Int) -> [NodeDistance] {
        guard candidates.count > limit else { return candidates }
        var chosen: [NodeDistance] = []
        chosen.reserveCapacity(limit)
        for candidate in candidates {
            if chosen.count >= limit { break }
            var keep = true
            for kept in chosen where distance(candidate.node, kept.node) < candidate.distance {
                keep = false
                break
            }
            if keep { chosen.append(candidate) }
        }
        return chosen
    }

    /// Adds `newNode` to `node`'s list on `level`, re-selecting with the heuristic when it is full.
    func link(_ node: Int32, to newNode: Int32, distance newDistance: Float, level: Int) {
        let list = links(node, level: level)
        let limit = level == 0 ? maxLinks0 : maxLinks
        let count = Int(list[0])
        if count < limit {
            list[1 + count] = newNode
            list[0] = Int32(count + 1)
            return
        }
        var candidates = [NodeDistance(distance: newDistance, node: newNode)]
        candidates.reserveCapacity(count + 1)
        for slot in 0..<count {
            let other = list[1 + slot]
            candidates.append(NodeDistance(distance: distance(node, other), node: other))
        }
        candidates.sort { $0.distance < $1.distance }
        let chosen = selectNeighbours(candidates, limit: limit)
        list[0] = Int32(chosen.count)
        for (slot, neighbour) in chosen.enumerated() { list[1 + slot] = neighbour.node }
    }

    // MARK: - Search

    /// Beam search on one layer from `entry`. Leaves in `scratch.results` (farthest on top) up to
    /// `ef` accepted nodes: not tombstoned, and passing `filter` when given. Rejected nodes are still
    /// expanded; while fewer than `ef` nodes are accepted the search does not stop early.
    ///
    /// Each expansion first gathers the unvisited neighbours and prefetches their whole vectors (and,
    /// on layer 0, their link lists), so the memory loads overlap instead of stalling one distance at a time.
    func searchLayer(
        _ query: UnsafePointer<Float>, entry: Int32, entryDistance: Float, ef: Int, level: Int,
        scratch: SearchScratch, filter: ChunkFilter?
    ) {
        var results = scratch.results
        var candidates = scratch.candidates
        defer {
            scratch.results = results
            scratch.candidates = candidates
        }
        results.removeAll()
        candidates.removeAll()
        let epoch = scratch.begin(nodes: nodeCount)
        let marks = scratch.marks
        let pending = scratch.pending
        let restricted = filter != nil || deletedCount > 0
        let vectors = self.vectors
        let dimension = self.dimension
        let kernel = self.kernel
        let linesPerVector = (dimension &* 4 &+ 63) >> 6
        let listBytes = stride0 &* 4
        deleted.withUnsafeBufferPointer { deleted in
            labels.withUnsafeBufferPointer { labels in
                @inline(__always) func accepted(_ node: Int32) -> Bool {
                    if deleted[Int(node)] { return false }
                    if let filter { return filter(labels[Int(node)]) }
                    return true
                }
                var lowerBound = Float.infinity
                if !restricted || accepted(entry) {
                    results.push(entryDistance, entry)
                    lowerBound = entryDistance
                }
                candidates.push(-entryDistance, entry)
                marks[Int(entry)] = epoch
                while !candidates.isEmpty {
                    let current = candidates.top
                    if -current.distance > lowerBound && (results.count >= ef || !restricted) { break }
                    candidates.pop()
                    let list = links(current.node, level: level)
                    let count = Int(list[0])
                    var waiting = 0
                    var slot = 1
                    while slot <= count {
                        let neighbour = list[slot]
                        slot &+= 1
                        if marks[Int(neighbour)] == epoch { continue }
                        marks[Int(neighbour)] = epoch
                        pending[waiting] = neighbour
                        waiting &+= 1
                        #if canImport(CRetrievalKernels)
                        rk_prefetch_lines(UnsafeRawPointer(vectors + Int(neighbour) &* dimension), linesPerVector)
                        // Some of these nodes are expanded soon; their link lists then wait in L2.
                        if level == 0 { rk_prefetch_span_l2(UnsafeRawPointer(links0 + Int(neighbour) &* stride0), listBytes) }
                        #endif
                    }
                    for position in 0..<waiting {
                        let neighbour = pending[position]
                        let d = -kernel.dot(query, vectors + Int(neighbour) &* dimension, dimension)
                        if results.count < ef || d < lowerBound {
                            candidates.push(-d, neighbour)
                            #if canImport(CRetrievalKernels)
                            // The next expansion reads this list first; without the hint that load stalls.
                            if level == 0 { rk_prefetch(UnsafeRawPointer(links0 + Int(candidates.top.node) &* stride0)) }
                            #endif
                            if !restricted || accepted(neighbour) {
                                results.push(d, neighbour)
                                if results.count > ef { results.pop() }
                                lowerBound = results.top.distance
                            }
                        }
                    }
                }
            }
        }
    }

    public func search(_ query: [Float], k: Int, efSearch: Int? = nil, filter: ChunkFilter? = nil) -> [ScoredID] {
        guard k > 0, query.count == dimension, query.allSatisfy({ $0.isFinite }) else { return [] }
        var query = query
        if parameters.metric == .cosine { VectorMath.normalise(&query) }
        return lock.withReadLock {
            let live = nodeCount - deletedCount
            guard live > 0, entryPoint >= 0 else { return [] }
            let ef = max(efSearch ?? parameters.efSearch, k)
            return query.withUnsafeBufferPointer { buffer in
                let q = buffer.baseAddress!
                if let filter, shouldScanExactly(filter: filter, ef: ef, live: live) {
                    return exactScan(q, k: k, filter: filter)
                }
                var current = entryPoint
                var currentDistance = distance(q, current)
                for layer in stride(from: maxLevel, to: 0, by: -1) {
                    greedyStep(q, &current, &currentDistance, level: layer)
                }
                let scratch = acquireScratch()
                defer { releaseScratch(scratch) }
                searchLayer(q, entry: current, entryDistance: currentDistance, ef: ef, level: 0, scratch: scratch, filter: filter)
                var results = scratch.results
                defer { scratch.results = results }
                while results.count > k { results.pop() }
                var out = [ScoredID](repeating: ScoredID(id: 0, score: 0), count: results.count)
                var slot = results.count - 1
                while !results.isEmpty {
                    let item = results.pop()
                    out[slot] = ScoredID(id: labels[Int(item.node)], score: -item.distance)
                    slot -= 1
                }
                return out
            }
        }
    }

    /// Decides from a sample of nodes whether a filter is so selective that scanning the accepted
    /// nodes costs less than a graph search, which visits about `ef / acceptedShare` nodes and
    /// computes `2·m` distances at each.
    func shouldScanExactly(filter: ChunkFilter, ef: Int, live: Int) -> Bool {
        if nodeCount <= 2 * ef { return true }
        let sampleSize = min(nodeCount, 256)
        let step = max(nodeCount / sampleSize, 1)
        var seen = 0
        var accepted = 0
        var node = 0
        while node < nodeCount && seen < sampleSize {
            if !deleted[node] {
                seen += 1
                if filter(labels[node]) { accepted += 1 }
            }
            node += step
        }
        guard seen > 0 else { return true }
        let share = max(Double(accepted) / Double(seen), 0.5 / Double(seen))
        let graphCost = Double(ef) / share * Double(maxLinks0) * 0.5
        // A filter call costs roughly a fifth of a distance; accepted nodes each cost one distance.
        let scanCost = Double(nodeCount) * 0.2 + Double(live) * share
        return scanCost < graphCost
    }

    func exactScan(_ query: UnsafePointer<Float>, k: Int, filter: ChunkFilter) -> [ScoredID] {
        var top = TopK(k: k)
        for node in 0..<nodeCount where !deleted[node] {
            let label = labels[node]
            guard filter(label) else { continue }
            top.offer(ScoredID(id: label, score: -distance(query, Int32(node))))
        }
        return top.sorted()
    }
}
