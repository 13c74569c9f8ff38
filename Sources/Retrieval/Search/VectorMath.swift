import Foundation
import SwitchyardCore

#if canImport(CRetrievalKernels)
import CRetrievalKernels
#endif

/// The distance kernels every vector index shares. Vectors are stored normalised for cosine, so both
/// metrics reduce to an inner product; "distance" is the negated inner product (smaller is nearer).
enum VectorMath {
    /// Which inner-product loop runs: AVX-512 or AVX2 FMA kernels (CRetrievalKernels) when the CPU has
    /// them, else portable Swift SIMD. `SWITCHYARD_RETRIEVAL_KERNELS=portable|avx2|avx512` overrides
    /// the choice (a kernel the CPU lacks is never chosen).
    enum Kernel: String, Sendable, CaseIterable {
        case avx512, avx2, portable

        static let current: Kernel = {
            let supported = Kernel.supported
            if let forced = ProcessInfo.processInfo.environment["SWITCHYARD_RETRIEVAL_KERNELS"].flatMap(Kernel.init(rawValue:)),
                supported.contains(forced)
            {
                return forced
            }
            return supported[0]
        }()

        /// Kernels this CPU can run, fastest first.
        static let supported: [Kernel] = {
            #if arch(x86_64) && os(Linux)
            let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [.portable] }
            let flags = Set(line.split(separator: " ").map(String.init))
            var kernels: [Kernel] = []
            if flags.isSuperset(of: ["avx512f", "fma"]) { kernels.append(.avx512) }
            if flags.isSuperset(of: ["avx2", "fma"]) { kernels.append(.avx2) }
            return kernels + [.portable]
            #else
            return [.portable]
            #endif
        }()

        @inline(__always)
        func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
            #if arch(x86_64) && canImport(CRetrievalKernels)
            switch self {
            case .avx512: return rk_dot_avx512(a, b, count)
            case .avx2: return rk_dot_avx2(a, b, count)
            case .portable: return VectorMath.portableDot(a, b, count)
            }
            #else
            return VectorMath.portableDot(a, b, count)
            #endif
        }

        /// `query`·v into `out[i]` for the vectors at `base + ids[i]·stride` bytes, each value exactly
        /// what `dot(query, v, count)` returns. The AVX-512 kernel keeps a 384-d query in registers.
        @inline(__always)
        func dots(
            _ query: UnsafePointer<Float>, base: UnsafeRawPointer, stride: Int, ids: UnsafePointer<Int32>, _ n: Int, count: Int,
            into out: UnsafeMutablePointer<Float>
        ) {
            #if arch(x86_64) && canImport(CRetrievalKernels)
            if self == .avx512 {
                rk_dots_avx512(query, base, stride, ids, n, count, out)
                return
            }
            #endif
            for index in 0..<n {
                out[index] = dot(query, (base + Int(ids[index]) &* stride).assumingMemoryBound(to: Float.self), count)
            }
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        Kernel.current.dot(a, b, count)
    }

    /// Inner product in portable Swift SIMD (SwitchyardCore's `dotProduct`).
    @inline(__always)
    static func portableDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        dotProduct(a, b, count: count)
    }

    /// Scales `vector` to unit length in place; a zero vector stays zero.
    static func normalise(_ vector: inout [Float]) {
        var norm: Float = 0
        for value in vector { norm += value * value }
        guard norm > 0 else { return }
        let scale = 1 / norm.squareRoot()
        for index in vector.indices { vector[index] *= scale }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in dot(pa.baseAddress!, pb.baseAddress!, a.count) }
        }
    }

    /// Cosine similarity of two vectors of any length (0 when either is zero).
    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let denominator = (dot(a, a) * dot(b, b)).squareRoot()
        return denominator > 0 ? dot(a, b) / denominator : 0
    }
}

/// Errors of the search indexes, with a message a user can act on.
public struct SearchIndexError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case dimensionMismatch, invalidVector, corruptFile, unsupportedFile, io
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A reader-writer lock: many concurrent readers (searches) or one writer (insert, remove, save).
/// `@unchecked Sendable`: the pthread lock lives at a stable heap address and is the synchronisation.
final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    @inline(__always)
    func withReadLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    @inline(__always)
    func withWriteLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
