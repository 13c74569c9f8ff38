import Foundation

// File layout (little-endian), version 1: "SYBM25I1", version u32, k1 f32, b f32, stemming u8,
// stopwords u8, minimum length u32, term count u32, terms (u32 length + UTF-8 each), document count
// u64, then per document: id i64, length u32, distinct terms u32, (term id u32, frequency u32)…
// Postings are rebuilt from the per-document terms at load, in one pass.
extension BM25Index {
    static let magic = "SYBM25I1"
    static let fileVersion: UInt32 = 1

    /// Writes the index to one file, atomically (temporary file, then rename).
    public func save(to url: URL) throws {
        let writer: IndexFileWriter = lock.withReadLock {
            var writer = IndexFileWriter()
            writer.append(magic: Self.magic)
            writer.append(Self.fileVersion)
            writer.append(parameters.k1)
            writer.append(parameters.b)
            writer.append(UInt8(tokenizer.stemming ? 1 : 0))
            writer.append(UInt8(tokenizer.removesStopwords ? 1 : 0))
            writer.append(UInt32(tokenizer.minimumLength))
            writer.append(UInt32(termStrings.count))
            for term in termStrings { writer.append(string: term) }
            writer.append(UInt64(slotOf.count))
            for slot in slotIDs.indices where slotAlive[slot] {
                writer.append(slotIDs[slot])
                writer.append(UInt32(slotLengths[slot]))
                writer.append(UInt32(slotTerms[slot].count))
                for entry in slotTerms[slot] {
                    writer.append(UInt32(entry.term))
                    writer.append(UInt32(entry.frequency))
                }
            }
            return writer
        }
        try writer.write(to: url)
    }

    public static func load(from url: URL) throws -> BM25Index {
        try IndexFileReader.withContents(of: url, magic: magic, kind: "a BM25 index file") { reader in
            let version = try reader.read(UInt32.self)
            guard version == fileVersion else {
                throw SearchIndexError(.unsupportedFile, "\(url.path) is BM25 file version \(version); this build reads version \(fileVersion); rebuild the index")
            }
            let k1 = try reader.readFloat()
            let b = try reader.readFloat()
            let stemming = try reader.read(UInt8.self) != 0
            let stopwords = try reader.read(UInt8.self) != 0
            let minimumLength = Int(try reader.read(UInt32.self))
            let index = BM25Index(
                parameters: BM25Parameters(k1: k1, b: b, stemming: stemming),
                tokenizer: TextTokenizer(removesStopwords: stopwords, stemming: stemming, minimumLength: minimumLength))
            let termCount = Int(try reader.read(UInt32.self))
            guard termCount <= reader.size else { throw reader.corrupt("terms") }
            index.termStrings.reserveCapacity(termCount)
            for _ in 0..<termCount {
                let term = try reader.readString("terms")
                index.termIDs[term] = Int32(index.termStrings.count)
                index.termStrings.append(term)
            }
            index.postings = Array(repeating: [], count: termCount)
            index.documentFrequency = Array(repeating: 0, count: termCount)
            let documents = Int(try reader.read(UInt64.self))
            guard documents <= reader.size else { throw reader.corrupt("documents") }
            for slot in 0..<documents {
                let id = try reader.read(Int64.self, "documents")
                let length = try reader.read(UInt32.self, "documents")
                let distinct = Int(try reader.read(UInt32.self, "documents"))
                var entries: [(term: Int32, frequency: Int32)] = []
                entries.reserveCapacity(distinct)
                for _ in 0..<distinct {
                    let term = Int(try reader.read(UInt32.self, "documents"))
                    let frequency = try reader.read(UInt32.self, "documents")
                    guard term < termCount, frequency > 0 else { throw reader.corrupt("documents") }
                    index.postings[term].append(Posting(slot: Int32(slot), frequency: Float(frequency)))
                    index.documentFrequency[term] += 1
                    entries.append((Int32(term), Int32(frequency)))
                }
                guard index.slotOf[id] == nil else { throw reader.corrupt("duplicate document id \(id)") }
                index.slotIDs.append(id)
                index.slotLengths.append(Float(length))
                index.slotAlive.append(true)
                index.slotTerms.append(entries)
                index.slotOf[id] = Int32(slot)
                index.totalLength += Double(length)
            }
            return index
        }
    }
}
