/// Inner product of two float vectors in portable Swift SIMD: 16 lanes, four accumulators so
/// consecutive blocks overlap, a pairwise reduction at the end.
///
/// Swift does not vectorise a plain `sum += a[i] * b[i]` loop (float addition is not
/// associative), and each add then waits for the previous one: ~4× slower at 384 dimensions.
/// The semantic cache's scan, the kNN router and the retrieval indexes' portable path use this.
@inlinable @inline(__always)
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
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
@inlinable
public func dotProduct(_ a: [Float], _ b: [Float]) -> Float? {
    guard a.count == b.count else { return nil }
    return a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
            guard let px = x.baseAddress, let py = y.baseAddress else { return 0 }
            return dotProduct(px, py, count: x.count)
        }
    }
}
