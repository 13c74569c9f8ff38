import Foundation
import Synchronization

#if canImport(CVectorKernels)
import CVectorKernels
#endif

/// Hierarchical navigable small-world graph (Malkov & Yashunin) over fixed-dimension vectors.
///
/// - Layer 0 is one buffer of fixed-size records (`NodeRecords`): each node's vector (normalised once
///   at insert for cosine) followed by its `2·m` links, so visiting a node reads one run of cache lines.
///   Upper layers (about 1/m of the nodes) have per-node link blocks. A link list is a fixed number
///   of slots, the unused ones −1.
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
/// - `load(from:)` memory-maps the file copy-on-write: the layer-0 records are used in place, and the
///   first insert that needs room moves them to memory.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    // @unchecked Sendable: every mutable field below is read under `lock` (shared) and written
    // under it exclusively; the scratch pool has its own mutex.

    public let dimension: Int
    public let parameters: HNSWParameters

    let maxLinks: Int
    let maxLinks0: Int
    let levelMultiplier: Double

    let kernel = VectorMath.Kernel.current
    let lock = ReadWriteLock()
    let scratchPool = Mutex<[SearchScratch]>([])

    var nodeCount = 0
    var records: NodeRecords
    /// Each node's links on layers 1...level, `maxLinks` slots a layer; nil for layer-0-only nodes.
    var upperLinks: [UnsafeMutablePointer<Int32>?] = []
    var levels: [UInt8] = []
    var labels: [Int64] = []
    var deleted: [Bool] = []
    var deletedCount = 0
    var nodeOf: [Int64: Int32] = [:]
    var entryPoint: Int32 = -1
    var maxLevel = -1
    var randomState: UInt64

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
        levelMultiplier = 1 / log(Double(parameters.m))
        randomState = Self.initialRandomState(seed: parameters.seed)
        records = NodeRecords(dimension: dimension, linkSlots: maxLinks0)
    }

    deinit {
        records.release()
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
            let upper = levels.reduce(0) { $0 + Int($1) } * maxLinks * MemoryLayout<Int32>.stride
            let perNode = MemoryLayout<Int64>.stride + 2 + MemoryLayout<UnsafeMutablePointer<Int32>?>.stride
            let idMap = nodeOf.capacity * (MemoryLayout<Int64>.stride + MemoryLayout<Int32>.stride) * 2
            return records.capacity * records.recordBytes + upper + nodeCount * perNode + idMap
        }
    }

    /// The stored vector of an id (unit length for cosine).
    public func vector(for id: Int64) -> [Float]? {
        lock.withReadLock {
            guard let node = nodeOf[id] else { return nil }
            return Array(UnsafeBufferPointer(start: records.vector(node), count: dimension))
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
            (oldVectors + slot * dimension).update(from: records.vector(Int32(node)), count: dimension)
        }
        let oldLabels = live.map { labels[$0] }
        records.release()
        for block in upperLinks { block?.deallocate() }
        nodeCount = 0
        records = NodeRecords(dimension: dimension, linkSlots: maxLinks0)
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

    /// A node's link list on `level`: `maxLinks0` slots on layer 0, `maxLinks` above; unused slots are −1.
    @inline(__always)
    func links(_ node: Int32, level: Int) -> UnsafeMutablePointer<Int32> {
        level == 0 ? records.links(node) : upperLinks[Int(node)]! + (level - 1) &* maxLinks
    }

    @inline(__always)
    func linkLimit(level: Int) -> Int { level == 0 ? maxLinks0 : maxLinks }

    /// How many links a list holds (its slots fill from the front).
    @inline(__always)
    func linkCount(_ list: UnsafePointer<Int32>, level: Int) -> Int {
        let limit = linkLimit(level: level)
        var count = 0
        while count < limit && list[count] >= 0 { count &+= 1 }
        return count
    }

    /// Replaces a list's links with `nodes`, clearing the slots after them.
    func setLinks(_ list: UnsafeMutablePointer<Int32>, level: Int, _ nodes: [NodeDistance]) {
        for (slot, neighbour) in nodes.enumerated() { list[slot] = neighbour.node }
        for slot in nodes.count..<linkLimit(level: level) { list[slot] = -1 }
    }

    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, _ node: Int32) -> Float {
        -kernel.dot(query, records.vector(node), dimension)
    }

    @inline(__always)
    func distance(_ a: Int32, _ b: Int32) -> Float {
        -kernel.dot(records.vector(a), records.vector(b), dimension)
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
        records.reserve(nodeCount + 1, keeping: nodeCount)
        let node = Int32(nodeCount)
        let level = randomLevel()
        records.vector(node).update(from: vector, count: dimension)
        records.links(node).update(repeating: -1, count: maxLinks0)
        if level > 0 {
            let block = UnsafeMutablePointer<Int32>.allocate(capacity: level * maxLinks)
            block.initialize(repeating: -1, count: level * maxLinks)
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
        let query = UnsafePointer(records.vector(node))
        let scratch = acquireScratch()
        defer { releaseScratch(scratch) }
        var current = entryPoint
        var currentDistance = distance(query, current)
        if level < maxLevel {
            for layer in stride(from: maxLevel, to: level, by: -1) {
                greedyStep(query, &current, &currentDistance, level: layer, scratch: scratch)
            }
        }
        for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
            searchLayer(query, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction, level: layer, scratch: scratch, filter: nil)
            let nearest = scratch.results.sortedAscending().filter { $0.node != node }
            let chosen = selectNeighbours(nearest, limit: maxLinks)
            setLinks(links(node, level: layer), level: layer, chosen)
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
    /// A list's vectors are prefetched and its distances taken in one batch, then walked in order.
    @inline(__always)
    func greedyStep(
        _ query: UnsafePointer<Float>, _ current: inout Int32, _ currentDistance: inout Float, level: Int, scratch: SearchScratch
    ) {
        let products = scratch.products
        var changed = true
        while changed {
            changed = false
            let list = links(current, level: level)
            let count = linkCount(list, level: level)
            #if canImport(CVectorKernels)
            for slot in 0..<count { rk_prefetch_lines(UnsafeRawPointer(records.record(list[slot])), records.linksOffset >> 6) }
            #endif
            VectorMath.dots(kernel, query, base: records.base, stride: records.recordBytes, ids: list, count, count: dimension, into: products)
            for slot in 0..<count {
                let d = -products[slot]
                if d < currentDistance {
                    currentDistance = d
                    current = list[slot]
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
        let limit = linkLimit(level: level)
        let count = linkCount(list, level: level)
        if count < limit {
            list[count] = newNode
            return
        }
        var candidates = [NodeDistance(distance: newDistance, node: newNode)]
        candidates.reserveCapacity(count + 1)
        for slot in 0..<count {
            let other = list[slot]
            candidates.append(NodeDistance(distance: distance(node, other), node: other))
        }
        candidates.sort { $0.distance < $1.distance }
        setLinks(list, level: level, selectNeighbours(candidates, limit: limit))
    }

    // MARK: - Search

    /// Beam search on one layer from `entry`. Leaves in `scratch.results` (farthest on top) up to
    /// `ef` accepted nodes: not tombstoned, and passing `filter` when given. Rejected nodes are still
    /// expanded; while fewer than `ef` nodes are accepted the search does not stop early.
    ///
    /// Each expansion first gathers the unvisited neighbours and prefetches their whole records (on
    /// layers above 0, their vectors), so the memory loads overlap instead of stalling one distance at
    /// a time, and a node's links are already near when it is expanded.
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
        let products = scratch.products
        let restricted = filter != nil || deletedCount > 0
        let records = self.records
        let dimension = self.dimension
        let kernel = self.kernel
        let limit = linkLimit(level: level)
        let linesPerVisit = (level == 0 ? records.recordBytes : records.linksOffset) >> 6
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
                    var waiting = 0
                    var slot = 0
                    while slot < limit {
                        let neighbour = list[slot]
                        if neighbour < 0 { break }
                        slot &+= 1
                        if marks[Int(neighbour)] == epoch { continue }
                        marks[Int(neighbour)] = epoch
                        pending[waiting] = neighbour
                        waiting &+= 1
                        #if canImport(CVectorKernels)
                        rk_prefetch_lines(UnsafeRawPointer(records.record(neighbour)), linesPerVisit)
                        #endif
                    }
                    VectorMath.dots(kernel, query, base: records.base, stride: records.recordBytes, ids: pending, waiting, count: dimension, into: products)
                    for position in 0..<waiting {
                        let neighbour = pending[position]
                        let d = -products[position]
                        if results.count < ef || d < lowerBound {
                            candidates.push(-d, neighbour)
                            #if canImport(CVectorKernels)
                            // The next expansion reads this list first; without the hint that load stalls.
                            if level == 0 { rk_prefetch(UnsafeRawPointer(records.links(candidates.top.node))) }
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
                let scratch = acquireScratch()
                defer { releaseScratch(scratch) }
                var current = entryPoint
                var currentDistance = distance(q, current)
                for layer in stride(from: maxLevel, to: 0, by: -1) {
                    greedyStep(q, &current, &currentDistance, level: layer, scratch: scratch)
                }
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
