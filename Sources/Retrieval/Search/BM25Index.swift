import Foundation

/// Okapi BM25 over an inverted index, scored as Lucene (and bm25s' default `"lucene"` method) do:
///
///     idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
///     score(d, q) = Σ_{t ∈ q} idf(t) · tf(t, d) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))
///
/// where N is the number of live documents, df the number containing t, |d| the number of terms of d
/// after tokenisation and avgdl their mean. A query term repeated counts once per repeat. Unlike the
/// original Robertson idf this one is never negative, so a very common term never lowers a score.
///
/// Removal updates N, df and avgdl at once; the removed document's postings are skipped and swept out
/// when dead postings outnumber live ones.
public final class BM25Index: KeywordIndex, @unchecked Sendable {
    // @unchecked Sendable: all mutable state is read under `lock` and written under it exclusively.

    public let parameters: BM25Parameters
    public let tokenizer: TextTokenizer

    struct Posting {
        var slot: Int32
        var frequency: Float
    }

    let lock = ReadWriteLock()
    var termIDs: [String: Int32] = [:]
    var termStrings: [String] = []
    var postings: [ContiguousArray<Posting>] = []
    var documentFrequency: [Int32] = []
    var slotIDs: [Int64] = []
    var slotLengths: [Float] = []
    var slotAlive: [Bool] = []
    var slotTerms: [[(term: Int32, frequency: Int32)]] = []
    var slotOf: [Int64: Int32] = [:]
    var totalLength: Double = 0
    var deadSlots = 0

    /// - Parameter tokenizer: defaults to English stopwords on and stemming as `parameters.stemming` says.
    public init(parameters: BM25Parameters = .init(), tokenizer: TextTokenizer? = nil) {
        self.parameters = parameters
        self.tokenizer = tokenizer ?? TextTokenizer(removesStopwords: true, stemming: parameters.stemming)
    }

    public var count: Int { lock.withReadLock { slotOf.count } }

    public func contains(_ id: Int64) -> Bool { lock.withReadLock { slotOf[id] != nil } }

    public func insert(id: Int64, text: String) {
        insert(id: id, terms: tokenizer.terms(text))
    }

    /// Indexes already tokenised terms (used to compare scores with other BM25 implementations on
    /// identical tokens, and by callers with their own analysis).
    public func insert(id: Int64, terms: [String]) {
        var counts: [String: Int32] = [:]
        for term in terms { counts[term, default: 0] += 1 }
        lock.withWriteLock {
            if let old = slotOf[id] { kill(old) }
            let slot = Int32(slotIDs.count)
            var entries: [(term: Int32, frequency: Int32)] = []
            entries.reserveCapacity(counts.count)
            for (term, frequency) in counts {
                let termID: Int32
                if let known = termIDs[term] {
                    termID = known
                } else {
                    termID = Int32(termStrings.count)
                    termIDs[term] = termID
                    termStrings.append(term)
                    postings.append([])
                    documentFrequency.append(0)
                }
                postings[Int(termID)].append(Posting(slot: slot, frequency: Float(frequency)))
                documentFrequency[Int(termID)] += 1
                entries.append((termID, frequency))
            }
            slotIDs.append(id)
            slotLengths.append(Float(terms.count))
            slotAlive.append(true)
            slotTerms.append(entries)
            slotOf[id] = slot
            totalLength += Double(terms.count)
            compactIfNeeded()
        }
    }

    public func remove(id: Int64) {
        lock.withWriteLock {
            guard let slot = slotOf[id] else { return }
            kill(slot)
            compactIfNeeded()
        }
    }

    private func kill(_ slot: Int32) {
        let index = Int(slot)
        guard slotAlive[index] else { return }
        slotAlive[index] = false
        slotOf[slotIDs[index]] = nil
        totalLength -= Double(slotLengths[index])
        for entry in slotTerms[index] { documentFrequency[Int(entry.term)] -= 1 }
        slotTerms[index] = []
        deadSlots += 1
    }

    private func compactIfNeeded() {
        guard deadSlots > 64, deadSlots * 2 > slotIDs.count else { return }
        var renumbered = [Int32](repeating: -1, count: slotIDs.count)
        var next: Int32 = 0
        for slot in slotIDs.indices where slotAlive[slot] {
            renumbered[slot] = next
            next += 1
        }
        for term in postings.indices {
            postings[term] = ContiguousArray(postings[term].compactMap { posting in
                let slot = renumbered[Int(posting.slot)]
                return slot < 0 ? nil : Posting(slot: slot, frequency: posting.frequency)
            })
        }
        let live = slotIDs.indices.filter { slotAlive[$0] }
        slotIDs = live.map { slotIDs[$0] }
        slotLengths = live.map { slotLengths[$0] }
        slotTerms = live.map { slotTerms[$0] }
        slotAlive = [Bool](repeating: true, count: live.count)
        slotOf = [:]
        for (slot, id) in slotIDs.enumerated() { slotOf[id] = Int32(slot) }
        deadSlots = 0
    }

    public func search(_ query: String, k: Int, filter: ChunkFilter? = nil) -> [ScoredID] {
        search(terms: tokenizer.terms(query), k: k, filter: filter)
    }

    /// Scores already tokenised query terms.
    public func search(terms: [String], k: Int, filter: ChunkFilter? = nil) -> [ScoredID] {
        guard k > 0, !terms.isEmpty else { return [] }
        return lock.withReadLock {
            let documents = slotOf.count
            guard documents > 0 else { return [] }
            let averageLength = Float(totalLength / Double(documents))
            let k1 = parameters.k1, b = parameters.b
            var scores = [Float](repeating: 0, count: slotIDs.count)
            var touched: [Int32] = []
            for term in terms {
                guard let termID = termIDs[term] else { continue }
                let df = Float(documentFrequency[Int(termID)])
                guard df > 0 else { continue }
                let idf = Self.idf(documents: Float(documents), documentFrequency: df)
                postings[Int(termID)].withUnsafeBufferPointer { list in
                    for posting in list {
                        let slot = Int(posting.slot)
                        guard slotAlive[slot] else { continue }
                        let norm = k1 * (1 - b + b * slotLengths[slot] / max(averageLength, .leastNormalMagnitude))
                        if scores[slot] == 0 { touched.append(posting.slot) }
                        scores[slot] += idf * posting.frequency / (posting.frequency + norm)
                    }
                }
            }
            var top = TopK(k: k)
            for slot in touched {
                let score = scores[Int(slot)]
                guard score >= top.threshold else { continue }
                let id = slotIDs[Int(slot)]
                if let filter, !filter(id) { continue }
                top.offer(ScoredID(id: id, score: score))
            }
            return top.sorted()
        }
    }

    public func scores(_ query: String, ids: [Int64]) -> [Float] {
        scores(terms: tokenizer.terms(query), ids: ids)
    }

    /// The BM25 score of each of `ids` for already tokenised query terms, from the documents' own
    /// term lists (no posting scan): cost grows with the candidates, not the collection.
    public func scores(terms: [String], ids: [Int64]) -> [Float] {
        guard !terms.isEmpty else { return [Float](repeating: 0, count: ids.count) }
        return lock.withReadLock {
            let documents = slotOf.count
            guard documents > 0 else { return [Float](repeating: 0, count: ids.count) }
            let averageLength = Float(totalLength / Double(documents))
            let k1 = parameters.k1, b = parameters.b
            // Query term → (idf, repeats): a term repeated in the query counts once per repeat, as in `search`.
            var weights: [Int32: (idf: Float, repeats: Float)] = [:]
            for term in terms {
                guard let termID = termIDs[term], documentFrequency[Int(termID)] > 0 else { continue }
                if weights[termID] == nil {
                    let idf = Self.idf(documents: Float(documents), documentFrequency: Float(documentFrequency[Int(termID)]))
                    weights[termID] = (idf, 0)
                }
                weights[termID]!.repeats += 1
            }
            return ids.map { id in
                guard let slot = slotOf[id].map(Int.init), slotAlive[slot] else { return 0 }
                let norm = k1 * (1 - b + b * slotLengths[slot] / max(averageLength, .leastNormalMagnitude))
                var score: Float = 0
                for entry in slotTerms[slot] {
                    guard let weight = weights[entry.term] else { continue }
                    let frequency = Float(entry.frequency)
                    score += weight.repeats * weight.idf * frequency / (frequency + norm)
                }
                return score
            }
        }
    }

    @inline(__always)
    static func idf(documents: Float, documentFrequency df: Float) -> Float {
        log(1 + (documents - df + 0.5) / (df + 0.5))
    }
}
