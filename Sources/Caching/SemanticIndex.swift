import Foundation
import SwitchyardCore

/// The semantic entries of one scope: keys, expiry times and the vectors as one contiguous
/// row-major matrix, so a lookup streams the vectors in order.
///
/// (With one heap array per entry, a lookup over ~600 entries took ~100 µs: every vector was a
/// cache miss of its own, and iterating the entries retained and released each key and array.)
struct SemanticIndex {
    private(set) var keys: [String] = []
    /// The embedded text per entry (nil for entries persisted before verification).
    private(set) var texts: [String?] = []
    /// What the verifier compares, read from the text the first time the entry is a candidate (not
    /// at store: a miss's answer is stored on the request path, and most entries never become one).
    private(set) var signatures: [SemanticVerifier.Signature?] = []
    /// Expiry times as seconds since the reference date (compared per entry on every lookup).
    private var expiries: [Double] = []
    private var vectors: [Float] = []
    private(set) var dimension = 0

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// Adds an entry. A vector of another length than the index's (another model's) is ignored:
    /// it cannot be compared with the others.
    mutating func append(key: String, vector: [Float], expires: Date, text: String? = nil) {
        if keys.isEmpty { dimension = vector.count }
        guard vector.count == dimension, dimension > 0 else { return }
        keys.append(key)
        texts.append(text)
        signatures.append(nil)
        expiries.append(expires.timeIntervalSinceReferenceDate)
        vectors.append(contentsOf: vector)
    }

    /// The entry most similar (dot product of unit vectors) to `query` among those not expired at
    /// `instant`, and whether any entry has expired.
    func nearest(to query: [Float], at instant: Date) -> (best: (key: String, similarity: Float)?, anyExpired: Bool) {
        let (found, anyExpired) = candidates(to: query, at: instant, atLeast: -2, limit: 1)
        return (found.first.map { ($0.key, $0.similarity) }, anyExpired)
    }

    /// A candidate for a semantic hit.
    struct Candidate {
        var key: String
        var similarity: Float
        var text: String?
        var signature: SemanticVerifier.Signature?
        /// Where the entry was, to keep its signature once read (if it is still there).
        var position: Int
    }

    /// Keeps the signature read for the entry at `position`, if that is still `key`'s.
    mutating func remember(_ signature: SemanticVerifier.Signature, at position: Int, key: String) {
        guard signatures.indices.contains(position), keys[position] == key else { return }
        signatures[position] = signature
    }

    /// Up to `limit` unexpired entries at least `minimum` similar to `query`, most similar first, and
    /// whether any entry has expired. One pass, as for the nearest alone: an entry below `minimum`
    /// costs the dot product and one comparison.
    func candidates(to query: [Float], at instant: Date, atLeast minimum: Float, limit: Int) -> (candidates: [Candidate], anyExpired: Bool) {
        guard query.count == dimension, !keys.isEmpty, limit > 0 else { return ([], false) }
        let now = instant.timeIntervalSinceReferenceDate
        var best: [(index: Int, similarity: Float)] = []
        var floor = minimum  // the least similarity that can still enter `best`
        var anyExpired = false
        query.withUnsafeBufferPointer { q in
            vectors.withUnsafeBufferPointer { rows in
                guard let q = q.baseAddress, var row = rows.baseAddress else { return }
                for index in 0..<keys.count {
                    defer { row += dimension }
                    if expiries[index] <= now { anyExpired = true; continue }
                    let similarity = dotProduct(q, row, count: dimension)
                    guard similarity >= floor else { continue }
                    var position = best.count
                    while position > 0, best[position - 1].similarity < similarity { position -= 1 }
                    best.insert((index, similarity), at: position)
                    if best.count > limit { best.removeLast() }
                    if best.count == limit { floor = max(minimum, best[limit - 1].similarity.nextUp) }
                }
            }
        }
        let found = best.map {
            Candidate(key: keys[$0.index], similarity: $0.similarity, text: texts[$0.index], signature: signatures[$0.index], position: $0.index)
        }
        return (found, anyExpired)
    }

    /// Removes the entries for which `shouldRemove(key, expiry)` holds, keeping the others in order.
    mutating func removeAll(where shouldRemove: (String, Date) -> Bool) {
        var kept = 0
        for index in keys.indices {
            if shouldRemove(keys[index], Date(timeIntervalSinceReferenceDate: expiries[index])) { continue }
            if kept != index {
                keys[kept] = keys[index]
                texts[kept] = texts[index]
                signatures[kept] = signatures[index]
                expiries[kept] = expiries[index]
                let from = index * dimension, to = kept * dimension
                for offset in 0..<dimension { vectors[to + offset] = vectors[from + offset] }
            }
            kept += 1
        }
        if kept == keys.count { return }
        keys.removeLast(keys.count - kept)
        texts.removeLast(texts.count - kept)
        signatures.removeLast(signatures.count - kept)
        expiries.removeLast(expiries.count - kept)
        vectors.removeLast(vectors.count - kept * dimension)
    }
}
