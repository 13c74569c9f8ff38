import Foundation
import Testing

@testable import Caching

@Suite("The semantic index of one scope")
struct SemanticIndexTests {
    /// A unit vector along axis `axis`, slightly tilted towards axis `axis + 1`.
    func vector(_ axis: Int, tilt: Float = 0) -> [Float] {
        var v = [Float](repeating: 0, count: 8)
        v[axis] = (1 - tilt * tilt).squareRoot()
        v[(axis + 1) % 8] = tilt
        return v
    }

    let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test("finds the nearest unexpired entry and reports expired ones")
    func nearest() {
        var index = SemanticIndex()
        index.append(key: "a", vector: vector(0), expires: start.addingTimeInterval(10))
        index.append(key: "b", vector: vector(1), expires: start.addingTimeInterval(100))
        index.append(key: "c", vector: vector(2), expires: start.addingTimeInterval(100))
        let query = vector(0, tilt: 0.1)
        let first = index.nearest(to: query, at: start)
        #expect(first.best?.key == "a" && !first.anyExpired)
        #expect(abs((first.best?.similarity ?? 0) - (1 - 0.01 as Float).squareRoot()) < 1e-6)
        // After "a" expires, the query's next-nearest is "b" (the tilt is towards axis 1).
        let later = index.nearest(to: query, at: start.addingTimeInterval(50))
        #expect(later.best?.key == "b" && later.anyExpired)
        #expect(index.nearest(to: [1, 0], at: start).best == nil)  // another model's length
    }

    @Test("removal keeps the survivors' keys and vectors together")
    func removal() {
        var index = SemanticIndex()
        for axis in 0..<6 { index.append(key: "k\(axis)", vector: vector(axis), expires: start.addingTimeInterval(Double(axis))) }
        index.removeAll { key, expires in key == "k1" || expires < start.addingTimeInterval(3) }
        #expect(index.keys == ["k3", "k4", "k5"])
        for axis in 3..<6 {
            let found = index.nearest(to: vector(axis), at: start)
            #expect(found.best?.key == "k\(axis)" && abs((found.best?.similarity ?? 0) - 1) < 1e-6)
        }
        index.removeAll { _, _ in true }
        #expect(index.isEmpty && index.nearest(to: vector(0), at: start).best == nil)
    }

    @Test("a vector of another length than the index's is not added")
    func dimension() {
        var index = SemanticIndex()
        index.append(key: "a", vector: vector(0), expires: start.addingTimeInterval(10))
        index.append(key: "short", vector: [1, 0, 0], expires: start.addingTimeInterval(10))
        #expect(index.count == 1 && index.dimension == 8)
    }

    @Test("candidates come most similar first, at most the limit, none below the minimum; a read signature is kept with its entry")
    func candidates() {
        var index = SemanticIndex()
        for (key, tilt) in [("far", Float(0.6)), ("near", 0.1), ("mid", 0.3), ("below", 0.9)] {
            index.append(key: key, vector: vector(0, tilt: tilt), expires: start.addingTimeInterval(10), text: "text of \(key)")
        }
        let (found, _) = index.candidates(to: vector(0), at: start, atLeast: 0.7, limit: 2)
        #expect(found.map(\.key) == ["near", "mid"])
        #expect(found.allSatisfy { $0.signature == nil } && found.first?.text == "text of near")
        let signature = SemanticVerifier.Signature("text of near")
        index.remember(signature, at: found[0].position, key: "near")
        index.remember(signature, at: found[1].position, key: "not mid")  // moved or gone: not kept
        let again = index.candidates(to: vector(0), at: start, atLeast: 0.7, limit: 3).candidates
        #expect(again.map(\.key) == ["near", "mid", "far"])
        #expect(again[0].signature == signature && again[1].signature == nil)
        // Removal keeps texts and signatures with their keys.
        index.removeAll { key, _ in key == "far" || key == "below" }
        let after = index.candidates(to: vector(0), at: start, atLeast: 0, limit: 3).candidates
        #expect(after.map(\.key) == ["near", "mid"] && after[0].signature == signature && after[1].text == "text of mid")
    }
}
