import Foundation

/// The distance kernels every vector index shares. Vectors are stored normalised for cosine, so both
/// metrics reduce to an inner product; "distance" is the negated inner product (smaller is nearer).
enum VectorMath {
    /// Inner product of two `count`-long float runs, 16 lanes at a time with four accumulators so
    /// the loads and fused multiply-adds of consecutive blocks overlap.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var index = 0
        var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>(), sum2 = SIMD16<Float>(), sum3 = SIMD16<Float>()
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        let stride = MemoryLayout<SIMD16<Float>>.stride
        while index + 64 <= count {
            let offset = index * 4
            sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sum1 += rawA.loadUnaligned(fromByteOffset: offset + stride, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: offset + stride, as: SIMD16<Float>.self)
            sum2 += rawA.loadUnaligned(fromByteOffset: offset + 2 * stride, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: offset + 2 * stride, as: SIMD16<Float>.self)
            sum3 += rawA.loadUnaligned(fromByteOffset: offset + 3 * stride, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: offset + 3 * stride, as: SIMD16<Float>.self)
            index += 64
        }
        while index + 16 <= count {
            let offset = index * 4
            sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            index += 16
        }
        var total = ((sum0 + sum1) + (sum2 + sum3)).sum()
        while index < count {
            total += a[index] * b[index]
            index += 1
        }
        return total
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
