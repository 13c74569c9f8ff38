import Foundation
import Testing

@testable import Retrieval

@Suite("BM25 index")
struct BM25IndexTests {
    /// Terms as written, so the expected scores below can be computed by hand.
    static func plainIndex() -> BM25Index {
        let index = BM25Index(
            parameters: BM25Parameters(k1: 0.9, b: 0.4, stemming: false),
            tokenizer: TextTokenizer(removesStopwords: false, stemming: false))
        index.insert(id: 1, text: "cat sat mat")
        index.insert(id: 2, text: "cat cat dog")
        index.insert(id: 3, text: "dog bird")
        return index
    }

    @Test("scores match the Lucene BM25 formula computed by hand")
    func handComputed() {
        let index = Self.plainIndex()
        // N = 3, avgdl = 8/3, df(cat) = 2: idf = ln(1 + 1.5/2.5) = ln 1.6.
        // |d| = 3: k1·(1 − b + b·3/(8/3)) = 0.9 · 1.05 = 0.945.
        let results = index.search("cat", k: 10)
        #expect(results.map(\.id) == [2, 1])
        #expect(abs(results[0].score - Float(log(1.6) * 2 / 2.945)) < 1e-6)
        #expect(abs(results[1].score - Float(log(1.6) * 1 / 1.945)) < 1e-6)
        // Two terms add up; dog: df = 2, d3 has |d| = 2: norm = 0.9·(0.6 + 0.4·0.75) = 0.81.
        let both = index.search("cat dog", k: 10)
        let d2 = log(1.6) * 2 / 2.945 + log(1.6) * 1 / 1.945
        let d3 = log(1.6) * 1 / 1.81
        #expect(both.map(\.id) == [2, 3, 1])
        #expect(abs(both[0].score - Float(d2)) < 1e-6)
        #expect(abs(both[1].score - Float(d3)) < 1e-6)
        // A repeated query term counts twice (as in Lucene, bm25s and rank-bm25).
        #expect(abs(index.search("bird bird", k: 1)[0].score - 2 * index.search("bird", k: 1)[0].score) < 1e-6)
        #expect(index.search("unicorn", k: 10).isEmpty)
    }

    @Test("removal updates N, df and avgdl, and the document is gone")
    func removal() {
        let index = Self.plainIndex()
        index.remove(id: 2)
        #expect(index.count == 2)
        // N = 2, avgdl = 5/2, df(cat) = 1: idf = ln 2; norm = 0.9·(0.6 + 0.4·3/2.5) = 0.972.
        let results = index.search("cat", k: 10)
        #expect(results.map(\.id) == [1])
        #expect(abs(results[0].score - Float(log(2.0) / 1.972)) < 1e-6)
        index.insert(id: 1, text: "bird")
        #expect(index.search("cat", k: 10).isEmpty)
        #expect(index.search("bird", k: 10).map(\.id).sorted() == [1, 3])
    }

    @Test("the filter runs inside the search: k accepted results come back")
    func filter() {
        let index = BM25Index()
        for id in 0..<200 { index.insert(id: Int64(id), text: "shared words here \(id % 2 == 0 ? "even" : "odd") number \(id)") }
        let results = index.search("shared even", k: 5, filter: { $0 % 4 == 1 })
        #expect(results.count == 5)
        #expect(results.allSatisfy { $0.id % 4 == 1 })
    }

    @Test("stemming matches inflected forms; stopwords do not match")
    func stemmingAndStopwords() {
        let index = BM25Index()
        index.insert(id: 1, text: "Connecting the connected connections")
        index.insert(id: 2, text: "A study of running shoes")
        #expect(index.search("connection", k: 5).map(\.id) == [1])
        #expect(index.search("runs", k: 5).map(\.id) == [2])
        #expect(index.search("run", k: 5).map(\.id) == [2])
        #expect(index.search("the of a", k: 5).isEmpty)
    }

    @Test("many removals compact the postings and keep scores right")
    func compaction() {
        let index = BM25Index()
        for id in 0..<300 { index.insert(id: Int64(id), text: "alpha beta \(id)") }
        for id in 0..<250 { index.remove(id: Int64(id)) }
        let fresh = BM25Index()
        for id in 250..<300 { fresh.insert(id: Int64(id), text: "alpha beta \(id)") }
        #expect(index.search("alpha 260", k: 10) == fresh.search("alpha 260", k: 10))
    }

    @Test("save and load round trip")
    func saveLoad() throws {
        let index = Self.plainIndex()
        index.remove(id: 3)
        let url = searchTestFile("bm25.idx")
        defer { try? FileManager.default.removeItem(at: url) }
        try index.save(to: url)
        let loaded = try BM25Index.load(from: url)
        #expect(loaded.count == 2)
        #expect(loaded.tokenizer == index.tokenizer)
        #expect(loaded.search("cat dog", k: 10) == index.search("cat dog", k: 10))
        loaded.insert(id: 9, text: "dog dog")
        #expect(loaded.search("dog", k: 1).first?.id == 9)
    }
}

@Suite("Tokeniser and stemmer")
struct TokenizerTests {
    @Test("Unicode word split, lowercase and accent folding")
    func words() {
        #expect(TextTokenizer.words("Café au LAIT, naïve résumé! don't x_y 42 Ærø Straße") ==
            ["cafe", "au", "lait", "naive", "resume", "don", "t", "x_y", "42", "ærø", "straße"])
        #expect(TextTokenizer.words("Москва и Киев") == ["москва", "и", "киев"])
        #expect(TextTokenizer.words("東京 2024-05-01") == ["東京", "2024", "05", "01"])
    }

    @Test("terms drop stopwords and one-letter words, then stem")
    func terms() {
        let tokenizer = TextTokenizer()
        #expect(tokenizer.terms("The cats are running to a meeting in Paris") == ["cat", "run", "meet", "pari"])
        #expect(TextTokenizer(removesStopwords: false, stemming: false).terms("The cats are running") == ["the", "cats", "are", "running"])
    }

    @Test("Porter's own examples", arguments: [
        ("caresses", "caress"), ("ponies", "poni"), ("ties", "ti"), ("caress", "caress"), ("cats", "cat"),
        ("feed", "feed"), ("agreed", "agre"), ("plastered", "plaster"), ("bled", "bled"), ("motoring", "motor"),
        ("sing", "sing"), ("conflated", "conflat"), ("troubled", "troubl"), ("sized", "size"), ("hopping", "hop"),
        ("tanned", "tan"), ("falling", "fall"), ("hissing", "hiss"), ("fizzed", "fizz"), ("failing", "fail"),
        ("filing", "file"), ("happy", "happi"), ("sky", "sky"), ("relational", "relat"), ("conditional", "condit"),
        ("rational", "ration"), ("valenci", "valenc"), ("hesitanci", "hesit"), ("digitizer", "digit"),
        ("conformabli", "conform"), ("radicalli", "radic"), ("differentli", "differ"), ("vileli", "vile"),
        ("analogousli", "analog"), ("vietnamization", "vietnam"), ("predication", "predic"), ("operator", "oper"),
        ("feudalism", "feudal"), ("decisiveness", "decis"), ("hopefulness", "hope"), ("callousness", "callous"),
        ("formaliti", "formal"), ("sensitiviti", "sensit"), ("sensibiliti", "sensibl"), ("triplicate", "triplic"),
        ("formative", "form"), ("formalize", "formal"), ("electriciti", "electr"), ("electrical", "electr"),
        ("hopeful", "hope"), ("goodness", "good"), ("revival", "reviv"), ("allowance", "allow"),
        ("inference", "infer"), ("airliner", "airlin"), ("gyroscopic", "gyroscop"), ("adjustable", "adjust"),
        ("defensible", "defens"), ("irritant", "irrit"), ("replacement", "replac"), ("adjustment", "adjust"),
        ("dependent", "depend"), ("adoption", "adopt"), ("homologou", "homolog"), ("communism", "commun"),
        ("activate", "activ"), ("angulariti", "angular"), ("homologous", "homolog"), ("effective", "effect"),
        ("bowdlerize", "bowdler"), ("probate", "probat"), ("rate", "rate"), ("cease", "ceas"), ("controll", "control"),
        ("roll", "roll"), ("generalizations", "gener"), ("oscillators", "oscil"), ("is", "is"), ("a", "a"),
    ])
    func porter(word: String, stem: String) {
        #expect(PorterStemmer.stem(word) == stem)
    }
}

@Suite("Fusion and MMR")
struct FusionTests {
    static func list(_ pairs: [(Int64, Float)]) -> [ScoredID] { pairs.map { ScoredID(id: $0.0, score: $0.1) } }

    @Test("reciprocal rank fusion adds 1/(k + rank) per list")
    func rrf() {
        let fused = Fusion.reciprocalRank([Self.list([(1, 0.9), (2, 0.5), (3, 0.1)]), Self.list([(3, 12), (1, 4)])], limit: 10)
        #expect(fused.map(\.id) == [1, 3, 2])
        #expect(abs(fused[0].score - (1.0 / 61 + 1.0 / 62)) < 1e-7)
        #expect(abs(fused[1].score - (1.0 / 63 + 1.0 / 61)) < 1e-7)
        #expect(abs(fused[2].score - 1.0 / 62) < 1e-7)
        let weighted = Fusion.reciprocalRank([Self.list([(1, 0)]), Self.list([(2, 0)])], weights: [1, 2], k: 1, limit: 1)
        #expect(weighted == [ScoredID(id: 2, score: 1)])
    }

    @Test("weighted fusion min-max normalises each list, then adds weighted scores")
    func weighted() {
        let fused = Fusion.weighted(
            [Self.list([(1, 10), (2, 5), (3, 0)]), Self.list([(3, 0.9), (1, 0.5)])], weights: [0.3, 0.7], limit: 10)
        #expect(fused.map(\.id) == [3, 1, 2])
        #expect(abs(fused[0].score - 0.7) < 1e-6)
        #expect(abs(fused[1].score - 0.3) < 1e-6)
        #expect(abs(fused[2].score - 0.15) < 1e-6)
        #expect(Fusion.weighted([Self.list([(4, 2), (5, 2)])], weights: [1], limit: 5).map(\.score) == [1, 1])
    }

    @Test("MMR trades relevance for diversity as lambda falls")
    func mmr() {
        let vectors: [Int64: [Float]] = [1: [1, 0], 2: [0.99, 0.14], 3: [0.6, 0.8]]
        let candidates = Self.list([(1, 0.9), (2, 0.8), (3, 0.5)])
        let relevanceOnly = MMR.select(candidates, vector: { vectors[$0] }, query: [1, 0], lambda: 1, k: 3)
        #expect(relevanceOnly.map(\.id) == [1, 2, 3])
        let diverse = MMR.select(candidates, vector: { vectors[$0] }, query: [1, 0], lambda: 0.3, k: 2)
        #expect(diverse.map(\.id) == [1, 3])
        #expect(diverse[1].score == 0.5)
    }
}
