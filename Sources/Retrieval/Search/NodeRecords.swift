import Foundation

#if canImport(CVectorKernels)
import CVectorKernels
#endif

/// Layer 0 of an HNSW graph in one buffer of fixed-size records, one per node: the vector, padded to
/// whole cache lines, then the node's layer-0 links (`linkSlots` slots, unused ones −1, also padded).
/// Visiting a node reads one contiguous run of lines, as in hnswlib, instead of a vector in one array
/// and a link list in another: a search prefetches both with one run of hints, and a node's links are
/// still in cache when it is expanded soon after its distance was taken.
///
/// The memory is owned (anonymous pages; on Linux grown in place with `mremap`, so growing copies
/// nothing, and backed by huge pages where the system allows it) or the pages of a mapped index file,
/// used as they lie until the first growth moves them to owned memory.
/// The owning `HNSWIndex` frees it (`release()`), under its lock like every other access.
struct NodeRecords {
    let dimension: Int
    let linkSlots: Int
    /// Bytes from a record's start to its links: the vector rounded up to a cache line.
    let linksOffset: Int
    let recordBytes: Int
    private(set) var base: UnsafeMutableRawPointer
    /// Records the memory holds room for.
    private(set) var capacity: Int
    /// Set while `base` points into a mapped file rather than owned memory.
    private(set) var mapping: MappedFile?
    private var ownedBytes: Int

    init(dimension: Int, linkSlots: Int) {
        self.dimension = dimension
        self.linkSlots = linkSlots
        linksOffset = Self.roundedToLines(dimension * MemoryLayout<Float>.stride)
        recordBytes = linksOffset + Self.roundedToLines(linkSlots * MemoryLayout<Int32>.stride)
        capacity = 16
        ownedBytes = Self.pageRounded(capacity * recordBytes)
        base = Self.mapOwned(ownedBytes)
    }

    /// Records that are the pages of `mapping` from byte `offset` on (a multiple of the page size is
    /// not needed; 64-byte alignment is).
    init(dimension: Int, linkSlots: Int, mapping: MappedFile, offset: Int, count: Int) {
        self.dimension = dimension
        self.linkSlots = linkSlots
        linksOffset = Self.roundedToLines(dimension * MemoryLayout<Float>.stride)
        recordBytes = linksOffset + Self.roundedToLines(linkSlots * MemoryLayout<Int32>.stride)
        base = mapping.base + offset
        capacity = count
        ownedBytes = 0
        self.mapping = mapping
    }

    static func recordBytes(dimension: Int, linkSlots: Int) -> Int {
        roundedToLines(dimension * MemoryLayout<Float>.stride) + roundedToLines(linkSlots * MemoryLayout<Int32>.stride)
    }

    @inline(__always)
    func record(_ node: Int32) -> UnsafeMutableRawPointer { base + Int(node) &* recordBytes }

    @inline(__always)
    func vector(_ node: Int32) -> UnsafeMutablePointer<Float> {
        record(node).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    func links(_ node: Int32) -> UnsafeMutablePointer<Int32> {
        (record(node) + linksOffset).assumingMemoryBound(to: Int32.self)
    }

    /// Makes room for `needed` records, keeping the first `count`.
    mutating func reserve(_ needed: Int, keeping count: Int) {
        guard needed > capacity else { return }
        let newCapacity = max(needed, capacity + capacity / Self.growthDivisor, 64)
        let newBytes = Self.pageRounded(newCapacity * recordBytes)
        if mapping == nil {
            #if os(Linux) && canImport(CVectorKernels)
            if let moved = rk_mremap_grow(base, ownedBytes, newBytes), moved != MAP_FAILED {
                base = moved
                ownedBytes = newBytes
                capacity = newCapacity
                Self.adviseHugePages(base, newBytes)
                return
            }
            #endif
        }
        let newBase = Self.mapOwned(newBytes)
        newBase.copyMemory(from: base, byteCount: count * recordBytes)
        release()
        base = newBase
        ownedBytes = newBytes
        capacity = newCapacity
    }

    /// Frees owned memory or lets go of the mapping. The records are unusable afterwards.
    mutating func release() {
        if mapping == nil { munmap(base, ownedBytes) }
        mapping = nil
        ownedBytes = 0
    }

    /// Growth by an eighth where growing moves pages instead of copying bytes (Linux), else by half.
    private static var growthDivisor: Int {
        #if os(Linux) && canImport(CVectorKernels)
        8
        #else
        2
        #endif
    }

    private static func roundedToLines(_ bytes: Int) -> Int { (bytes + 63) & ~63 }

    private static func pageRounded(_ bytes: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return max((bytes + page - 1) / page * page, page)
    }

    private static func mapOwned(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let pointer = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), pointer != MAP_FAILED else {
            fatalError("HNSW index: cannot map \(bytes) bytes: \(String(cString: strerror(errno)))")
        }
        adviseHugePages(pointer, bytes)
        return pointer
    }

    /// Asks for transparent huge pages (Linux, where enabled for `madvise`): a search touches a few
    /// lines of many nodes spread over the whole buffer, so with 4 KiB pages nearly every node costs
    /// a TLB miss. The kernel falls back to small pages when it has no huge ones.
    private static func adviseHugePages(_ pointer: UnsafeMutableRawPointer, _ bytes: Int) {
        #if os(Linux)
        if bytes >= 4 << 20 { _ = madvise(pointer, bytes, MADV_HUGEPAGE) }
        #endif
    }
}
