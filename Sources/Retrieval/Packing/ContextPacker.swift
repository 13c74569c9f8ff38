import Foundation

/// A retrieved chunk with what packing and citing need.
public struct SearchHit: Sendable, Hashable {
    public var chunkID: Int64
    public var documentID: String
    public var score: Float
    public var text: String
    public var position: Int
    public var headingPath: [String]
    public var tokenCount: Int
    public var title: String?
    public var source: String?

    public init(
        chunkID: Int64, documentID: String, score: Float, text: String, position: Int, headingPath: [String], tokenCount: Int,
        title: String? = nil, source: String? = nil
    ) {
        self.chunkID = chunkID
        self.documentID = documentID
        self.score = score
        self.text = text
        self.position = position
        self.headingPath = headingPath
        self.tokenCount = tokenCount
        self.title = title
        self.source = source
    }
}

/// Packed context: passages (merged neighbours) in prompt order, and the system message text.
public struct PackedContext: Sendable {
    public struct Passage: Sendable {
        /// 1-based citation number.
        public var number: Int
        public var documentID: String
        public var title: String?
        public var source: String?
        public var headingPath: [String]
        public var text: String
        /// The chunks merged into it, best first.
        public var hits: [SearchHit]
        public var score: Float { hits.map(\.score).max() ?? 0 }
    }

    public var passages: [Passage]
    public var tokens: Int
    public var rendered: String
}

/// Chooses chunks to fit a token budget and renders them with citation numbers.
///
/// Steps: best-scored first, skip near-duplicates (≥ 0.9 word-trigram overlap with a chunk already
/// taken), take chunks while they fit; then merge chunks of one document at adjacent positions
/// under the same headings into one passage (the repeated overlap dropped). Passages are ordered by their best score, so
/// the most relevant text comes first; a merged passage reads in document order.
public struct ContextPacker: Sendable {
    /// `{context}` is replaced by the passages; `{query}` by the question.
    public static let defaultTemplate = """
        Answer using the context below. Cite passages by their number in brackets, like [1]. \
        If the context does not contain the answer, say so.

        {context}
        """

    public var maxTokens: Int
    public var template: String
    public var duplicateThreshold: Double

    public init(maxTokens: Int, template: String = ContextPacker.defaultTemplate, duplicateThreshold: Double = 0.9) {
        self.maxTokens = maxTokens
        self.template = template
        self.duplicateThreshold = duplicateThreshold
    }

    public func pack(_ hits: [SearchHit], query: String = "") -> PackedContext {
        var taken: [SearchHit] = []
        var shingles: [Set<Int>] = []
        var used = 0
        for hit in hits.sorted(by: { $0.score > $1.score }) {
            let cost = hit.tokenCount + 12  // the citation header of a passage
            guard used + cost <= maxTokens else { continue }
            let signature = Self.shingles(hit.text)
            if shingles.contains(where: { Self.overlap($0, signature) >= duplicateThreshold }) { continue }
            taken.append(hit)
            shingles.append(signature)
            used += cost
        }
        // Group runs of adjacent positions within each document.
        var runs: [[SearchHit]] = []
        let byDocument = Dictionary(grouping: taken, by: \.documentID)
        for (_, hits) in byDocument {
            var run: [SearchHit] = []
            for hit in hits.sorted(by: { $0.position < $1.position }) {
                // Neighbours merge only within one section, so a passage's heading stays true.
                if let last = run.last, hit.position != last.position + 1 || hit.headingPath != last.headingPath {
                    runs.append(run)
                    run = []
                }
                run.append(hit)
            }
            if !run.isEmpty { runs.append(run) }
        }
        runs.sort { lhs, rhs in
            let left = lhs.map(\.score).max() ?? 0
            let right = rhs.map(\.score).max() ?? 0
            return left != right ? left > right : (lhs[0].documentID, lhs[0].position) < (rhs[0].documentID, rhs[0].position)
        }
        var passages: [PackedContext.Passage] = []
        for run in runs {
            var text = run[0].text
            for hit in run.dropFirst() { text = Self.join(text, hit.text) }
            passages.append(
                PackedContext.Passage(
                    number: passages.count + 1, documentID: run[0].documentID, title: run[0].title, source: run[0].source,
                    headingPath: run[0].headingPath, text: text, hits: run.sorted { $0.score > $1.score }))
        }
        let body = passages.map { passage in
            var header = "[\(passage.number)]"
            if let title = passage.title, !title.isEmpty { header += " \(title)" }
            let section = passage.headingPath.filter { $0 != passage.title }
            if !section.isEmpty { header += " — " + section.joined(separator: " › ") }
            if let source = passage.source, source != passage.title { header += " (\(source))" }
            return header + "\n" + passage.text
        }.joined(separator: "\n\n")
        let rendered = template.replacingOccurrences(of: "{context}", with: body).replacingOccurrences(of: "{query}", with: query)
        return PackedContext(passages: passages, tokens: used, rendered: rendered)
    }

    /// Appends `next` to `text`, dropping the part of `next` that repeats the end of `text`
    /// (the chunker's overlap).
    static func join(_ text: String, _ next: String) -> String {
        let maximum = min(text.count, next.count)
        var length = maximum
        while length > 0 {
            if text.hasSuffix(next.prefix(length)) { break }
            length -= 1
        }
        // A chance match of a few characters is not overlap.
        let rest = length >= 12 ? String(next.dropFirst(length)) : next
        let trimmed = rest.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? text : text + (length >= 12 ? " " : "\n") + trimmed
    }

    static func shingles(_ text: String) -> Set<Int> {
        let words = text.lowercased().split { !$0.isLetter && !$0.isNumber }
        guard words.count >= 3 else { return Set(words.map { $0.hashValue }) }
        var result: Set<Int> = []
        for index in 0..<(words.count - 2) {
            var hasher = Hasher()
            hasher.combine(words[index])
            hasher.combine(words[index + 1])
            hasher.combine(words[index + 2])
            result.insert(hasher.finalize())
        }
        return result
    }

    /// Share of the smaller set found in the other (containment, so a chunk inside a longer one counts).
    static func overlap(_ a: Set<Int>, _ b: Set<Int>) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        return Double(a.intersection(b).count) / Double(min(a.count, b.count))
    }
}
