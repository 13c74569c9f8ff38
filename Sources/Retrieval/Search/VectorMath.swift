import Foundation
import SwitchyardCore

#if canImport(CVectorKernels)
import CVectorKernels
#endif

/// The distance kernels every vector index shares. Vectors are stored normalised for cosine, so both
/// metrics reduce to an inner product; "distance" is the negated inner product (smaller is nearer).
enum VectorMath {
    /// The kernel choice is Core's (`VectorKernel`): one dot product for every vector scan.
    typealias Kernel = VectorKernel

    /// `query`·v into `out[i]` for the vectors at `base + ids[i]·stride` bytes, each value exactly
    /// what `dot(query, v, count)` returns. The AVX-512 kernel keeps a 384-d query in registers.
    @inline(__always)
    static func dots(
        _ kernel: Kernel, _ query: UnsafePointer<Float>, base: UnsafeRawPointer, stride: Int, ids: UnsafePointer<Int32>, _ n: Int,
        count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        #if arch(x86_64) && canImport(CVectorKernels)
        if kernel == .avx512 {
            rk_dots_avx512(query, base, stride, ids, n, count, out)
            return
        }
        #endif
        for index in 0..<n {
            out[index] = kernel.dot(query, (base + Int(ids[index]) &* stride).assumingMemoryBound(to: Float.self), count)
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
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

    /// Inner product over the common length (vectors of one index always match).
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        let count = min(a.count, b.count)
        guard count > 0 else { return 0 }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in dot(pa.baseAddress!, pb.baseAddress!, count) }
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
