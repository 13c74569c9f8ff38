import Foundation

/// A retrieval benchmark in BEIR's format: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl`
/// (`_id`, `text`) and `qrels.tsv` (query id, corpus id, graded relevance; an optional header line).
public struct BEIRDataset: Sendable {
    public struct Passage: Sendable, Hashable {
        public var id: String
        public var title: String
        public var text: String

        /// What gets embedded and indexed: BEIR's convention of title, a space, then the text.
        public var indexedText: String { title.isEmpty ? text : "\(title) \(text)" }
    }

    public struct Query: Sendable, Hashable {
        public var id: String
        public var text: String
    }

    public var corpus: [Passage]
    public var queries: [Query]
    /// Query id → corpus id → grade (0 = judged not relevant).
    public var judgements: [String: [String: Int]]

    public init(corpus: [Passage], queries: [Query], judgements: [String: [String: Int]]) {
        self.corpus = corpus
        self.queries = queries
        self.judgements = judgements
    }

    public static func load(corpus: URL, queries: URL, qrels: URL) throws -> BEIRDataset {
        let passages = try jsonLines(corpus).enumerated().map { line, object in
            Passage(
                id: try field("_id", in: object, file: corpus, line: line + 1),
                title: object["title"] as? String ?? "",
                text: try field("text", in: object, file: corpus, line: line + 1))
        }
        let questions = try jsonLines(queries).enumerated().map { line, object in
            Query(id: try field("_id", in: object, file: queries, line: line + 1), text: try field("text", in: object, file: queries, line: line + 1))
        }
        var judgements: [String: [String: Int]] = [:]
        let text = try readText(qrels)
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let columns = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
            // BEIR writes "query-id corpus-id score"; TREC qrels put an iteration column second.
            let (query, document, gradeText): (String, String, String)
            switch columns.count {
            case 3: (query, document, gradeText) = (columns[0], columns[1], columns[2])
            case 4: (query, document, gradeText) = (columns[0], columns[2], columns[3])
            default:
                throw SearchIndexError(.corruptFile, "\(qrels.path) line \(number + 1): expected 'query-id corpus-id score', got \(columns.count) columns")
            }
            guard let grade = Int(gradeText) else {
                if number == 0 { continue }  // header
                throw SearchIndexError(.corruptFile, "\(qrels.path) line \(number + 1): the score '\(gradeText)' is not an integer")
            }
            judgements[query, default: [:]][document] = grade
        }
        return BEIRDataset(corpus: passages, queries: questions, judgements: judgements)
    }

    static func readText(_ url: URL) throws -> String {
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw SearchIndexError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func jsonLines(_ url: URL) throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        for (number, line) in try readText(url).split(separator: "\n").enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw SearchIndexError(.corruptFile, "\(url.path) line \(number + 1) is not a JSON object")
            }
            objects.append(object)
        }
        return objects
    }

    static func field(_ name: String, in object: [String: Any], file: URL, line: Int) throws -> String {
        if let string = object[name] as? String { return string }
        if let number = object[name] as? NSNumber { return number.stringValue }
        throw SearchIndexError(.corruptFile, "\(file.path) line \(line) has no string field \"\(name)\"")
    }
}
