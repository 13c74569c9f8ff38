import Foundation

/// Turns per-word label probabilities into spans: Viterbi over BIO tags, where an `I-` tag may only continue a
/// `B-` or `I-` of the same type, so a name is never split in two by one uncertain word.
struct BIODecoder: Sendable {
    /// `O`, then `B-TYPE`/`I-TYPE` pairs.
    let labels: [String]
    private let types: [PIIType?]
    private let isInside: [Bool]
    private let transitionAllowed: [[Bool]]

    init(labels: [String]) {
        self.labels = labels
        types = labels.map { $0 == "O" ? nil : PIIType(rawValue: String($0.dropFirst(2))) }
        isInside = labels.map { $0.hasPrefix("I-") }
        var allowed = [[Bool]](repeating: [Bool](repeating: true, count: labels.count), count: labels.count)
        for (a, from) in labels.enumerated() {
            for (b, to) in labels.enumerated() where to.hasPrefix("I-") {
                allowed[a][b] = from != "O" && from.dropFirst(2) == to.dropFirst(2)
            }
        }
        transitionAllowed = allowed
    }

    /// Spans over `words` (start/end in Unicode scalars) from one probability row per word.
    func spans(words: [(start: Int, end: Int)], probabilities: [[Float]]) -> [PIISpan] {
        let n = min(words.count, probabilities.count), k = labels.count
        guard n > 0 else { return [] }
        let impossible = -Float.greatestFiniteMagnitude / 4
        func logp(_ t: Int, _ j: Int) -> Float { log(max(probabilities[t][j], 1e-9)) }
        var score = (0..<k).map { isInside[$0] ? impossible : logp(0, $0) }
        var back = [[Int]](repeating: [Int](repeating: 0, count: k), count: n)
        for t in 1..<max(n, 1) {
            var next = [Float](repeating: impossible, count: k)
            for b in 0..<k {
                var best = impossible, argument = 0
                for a in 0..<k where transitionAllowed[a][b] && score[a] > best {
                    best = score[a]
                    argument = a
                }
                next[b] = best + logp(t, b)
                back[t][b] = argument
            }
            score = next
        }
        var path = [Int](repeating: 0, count: n)
        path[n - 1] = score.indices.max { score[$0] < score[$1] } ?? 0
        if n > 1 {
            for t in stride(from: n - 1, to: 0, by: -1) { path[t - 1] = back[t][path[t]] }
        }
        var spans: [PIISpan] = []
        var open = false
        for t in 0..<n {
            guard let type = types[path[t]] else {
                open = false
                continue
            }
            if isInside[path[t]], open, let last = spans.last, last.type == type {
                spans[spans.count - 1].end = words[t].end
                spans[spans.count - 1].score = min(last.score, Double(probabilities[t][path[t]]))
            } else {
                spans.append(PIISpan(start: words[t].start, end: words[t].end, type: type, score: Double(probabilities[t][path[t]])))
                open = true
            }
        }
        return spans
    }
}
