import Foundation

#if canImport(CVectorKernels)
import CVectorKernels
#endif

/// Inner product of two float vectors with the fastest kernel this CPU runs (`VectorKernel`):
/// the one path every vector scan takes — retrieval indexes, the semantic cache, learned routers.
@inline(__always)
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    VectorKernel.current.dot(a, b, count)
}

/// Which inner-product loop runs: AVX-512 or AVX2 FMA kernels (CVectorKernels) when the CPU has
/// them, else portable Swift SIMD. `SWITCHYARD_RETRIEVAL_KERNELS=portable|avx2|avx512` overrides the
/// choice (a kernel the CPU lacks is never chosen).
public enum VectorKernel: String, Sendable, CaseIterable {
    case avx512, avx2, portable

    public static let current: VectorKernel = {
        let supported = VectorKernel.supported
        if let forced = ProcessInfo.processInfo.environment["SWITCHYARD_RETRIEVAL_KERNELS"].flatMap(VectorKernel.init(rawValue:)),
            supported.contains(forced)
        {
            return forced
        }
        return supported[0]
    }()

    /// Kernels this CPU can run, fastest first.
    public static let supported: [VectorKernel] = {
        #if arch(x86_64) && os(Linux)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [.portable] }
        let flags = Set(line.split(separator: " ").map(String.init))
        var kernels: [VectorKernel] = []
        if flags.isSuperset(of: ["avx512f", "fma"]) { kernels.append(.avx512) }
        if flags.isSuperset(of: ["avx2", "fma"]) { kernels.append(.avx2) }
        return kernels + [.portable]
        #else
        return [.portable]
        #endif
    }()

    @inline(__always)
    public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        #if arch(x86_64) && canImport(CVectorKernels)
        switch self {
        case .avx512: return rk_dot_avx512(a, b, count)
        case .avx2: return rk_dot_avx2(a, b, count)
        case .portable: return portableDotProduct(a, b, count: count)
        }
        #else
        return portableDotProduct(a, b, count: count)
        #endif
    }
}

/// Inner product of two float vectors in portable Swift SIMD: 16 lanes, four accumulators so
/// consecutive blocks overlap, a pairwise reduction at the end.
///
/// Swift does not vectorise a plain `sum += a[i] * b[i]` loop (float addition is not
/// associative), and each add then waits for the previous one: ~4× slower at 384 dimensions.
@inlinable @inline(__always)
public func portableDotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var index = 0
    var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>(), sum2 = SIMD16<Float>(), sum3 = SIMD16<Float>()
    let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
    while index &+ 64 <= count {
        let offset = index &* 4
        sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        sum1 += rawA.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset &+ 64, as: SIMD16<Float>.self)
        sum2 += rawA.loadUnaligned(fromByteOffset: offset &+ 128, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset &+ 128, as: SIMD16<Float>.self)
        sum3 += rawA.loadUnaligned(fromByteOffset: offset &+ 192, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset &+ 192, as: SIMD16<Float>.self)
        index &+= 64
    }
    while index &+ 16 <= count {
        let offset = index &* 4
        sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        index &+= 16
    }
    let sum = (sum0 + sum1) + (sum2 + sum3)
    let eight = sum.lowHalf + sum.highHalf
    let four = eight.lowHalf + eight.highHalf
    var total = (four[0] + four[2]) + (four[1] + four[3])
    while index < count {
        total += a[index] * b[index]
        index &+= 1
    }
    return total
}

/// `dotProduct` over two arrays; nil when their lengths differ.
public func dotProduct(_ a: [Float], _ b: [Float]) -> Float? {
    guard a.count == b.count else { return nil }
    return a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
            guard let px = x.baseAddress, let py = y.baseAddress else { return 0 }
            return dotProduct(px, py, count: x.count)
        }
    }
}
