import Foundation
import SwitchyardCore

/// The semantic entries of one scope: keys, expiry times and the vectors as one contiguous
/// row-major matrix, so a lookup streams the vectors in order.
///
/// (With one heap array per entry, a lookup over ~600 entries took ~100 µs: every vector was a
/// cache miss of its own, and iterating the entries retained and released each key and array.)
struct SemanticIndex {
    private(set) var keys: [String] = []
    /// Expiry times as seconds since the reference date (compared per entry on every lookup).
    private var expiries: [Double] = []
    private var vectors: [Float] = []
    private(set) var dimension = 0

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// Adds an entry. A vector of another length than the index's (another model's) is ignored:
    /// it cannot be compared with the others.
    mutating func append(key: String, vector: [Float], expires: Date) {
        if keys.isEmpty { dimension = vector.count }
        guard vector.count == dimension, dimension > 0 else { return }
        keys.append(key)
        expiries.append(expires.timeIntervalSinceReferenceDate)
        vectors.append(contentsOf: vector)
    }

    /// The entry most similar (dot product of unit vectors) to `query` among those not expired at
    /// `instant`, and whether any entry has expired.
    func nearest(to query: [Float], at instant: Date) -> (best: (key: String, similarity: Float)?, anyExpired: Bool) {
        guard query.count == dimension, !keys.isEmpty else { return (nil, false) }
        let now = instant.timeIntervalSinceReferenceDate
        var bestIndex = -1
        var bestSimilarity: Float = -2
        var anyExpired = false
        query.withUnsafeBufferPointer { q in
            vectors.withUnsafeBufferPointer { rows in
                guard let q = q.baseAddress, var row = rows.baseAddress else { return }
                for index in 0..<keys.count {
                    defer { row += dimension }
                    if expiries[index] <= now { anyExpired = true; continue }
                    let similarity = dotProduct(q, row, count: dimension)
                    if similarity > bestSimilarity { bestSimilarity = similarity; bestIndex = index }
                }
            }
        }
        return (bestIndex < 0 ? nil : (keys[bestIndex], bestSimilarity), anyExpired)
    }

    /// Removes the entries for which `shouldRemove(key, expiry)` holds, keeping the others in order.
    mutating func removeAll(where shouldRemove: (String, Date) -> Bool) {
        var kept = 0
        for index in keys.indices {
            if shouldRemove(keys[index], Date(timeIntervalSinceReferenceDate: expiries[index])) { continue }
            if kept != index {
                keys[kept] = keys[index]
                expiries[kept] = expiries[index]
                let from = index * dimension, to = kept * dimension
                for offset in 0..<dimension { vectors[to + offset] = vectors[from + offset] }
            }
            kept += 1
        }
        if kept == keys.count { return }
        keys.removeLast(keys.count - kept)
        expiries.removeLast(expiries.count - kept)
        vectors.removeLast(vectors.count - kept * dimension)
    }
}
