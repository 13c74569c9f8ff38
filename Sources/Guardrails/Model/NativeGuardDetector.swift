import Embeddings
import SwitchyardCore
import Foundation

/// The shipped detector: one pass of the native MiniLM encoder per text feeds both heads — injection (windows and
/// their sentences, the highest score wins) and PII (BIO labels per word, Viterbi-decoded) — and the pattern tier
/// adds checksum-validated numbers, e-mail and IP addresses and secrets, and decodes hidden payloads (base64, hex,
/// Unicode tags…) that are then scored like any other text.
public final class NativeGuardDetector: GuardDetector {
    /// Calls whose texts are longer than this in all (in Unicode scalars) are refused rather than scanned for seconds.
    public let maxScanScalars: Int
    /// Calls whose texts are more word-pieces than this in all are refused (the encoder's cost is per piece: ~3 s of
    /// both cores at the default, in bf16).
    public let maxScanPieces: Int
    private let tokenizer: WordPieceTokenizer
    /// Injection scores at or above this are flagged.
    public let injectionThreshold: Double

    private let encoder: GuardEncoder
    private let injectionHead: DenseHead
    private let piiHead: DenseHead
    private let decoder: BIODecoder
    /// The types the PII head is trusted with; the pattern tier answers for the others (dates included: the head
    /// also tags order numbers and amounts as dates, the date scanners do not).
    static let modelTypes: Set<PIIType> = [.person, .location, .address]

    /// The shipped default threshold, fixed on the dev set by grouped cross-validation.
    public static let defaultInjectionThreshold = GuardWeights.injectionThreshold

    /// The encoder layers the shipped heads read (see `GuardWeights`).
    public static let injectionLayer = GuardWeights.injectionLayer
    public static let piiLayer = GuardWeights.piiLayer

    /// - Parameter precision: the encoder's dense-layer arithmetic; bfloat16 (the default) halves the scan's cost on
    ///   CPUs with AVX512_BF16 and is float32 elsewhere. The heads were trained on float32 states; the two differ by
    ///   less than the heads can tell (cosine ≥ 0.9999 on the reference texts).
    public init(
        embedder: MiniLMEmbedder, injectionThreshold: Double? = nil, maxScanScalars: Int = 200_000, maxScanPieces: Int = 32_768,
        precision: EmbeddingPrecision = .bfloat16
    ) throws {
        let embedder = try embedder.withPrecision(precision)
        tokenizer = embedder.tokenizer
        self.maxScanPieces = maxScanPieces
        encoder = GuardEncoder(embedder: embedder, injectionLayer: GuardWeights.injectionLayer, piiLayer: GuardWeights.piiLayer)
        injectionHead = try DenseHead(base64: GuardWeights.injection)
        piiHead = try DenseHead(base64: GuardWeights.pii)
        decoder = BIODecoder(labels: GuardWeights.piiLabels)
        self.injectionThreshold = injectionThreshold ?? GuardWeights.injectionThreshold
        self.maxScanScalars = maxScanScalars
        guard injectionHead.inputWidth == embedder.hiddenSize, piiHead.inputWidth == embedder.hiddenSize + 3 * GuardWord.shapeWidth,
            piiHead.outputWidth == decoder.labels.count
        else { throw GuardrailError("the guard heads do not fit the encoder (\(injectionHead.inputWidth), \(piiHead.inputWidth))") }
    }

    /// Both verdicts from one encoder pass.
    public func scan(_ text: String, channel: GuardChannel) throws -> (injection: InjectionVerdict, pii: [PIISpan]) {
        try scanAll([GuardScanItem(text: text, channel: channel, injection: true, pii: true)])[0]
    }

    /// All items through the encoder in batches, on the detector's queue (one scan already uses every core).
    public func scan(_ items: [GuardScanItem]) async throws -> [(injection: InjectionVerdict, pii: [PIISpan])] {
        guard !items.isEmpty else { return [] }
        try checkLength(items)
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Result { try self.scanAll(items) }) }
        }
    }

    /// Where batched scans run: serial, since one forward pass already uses every core.
    private static let queue = DispatchQueue(label: "switchyard.guards", qos: .userInitiated)

    public func scanInjection(_ text: String, channel: GuardChannel) throws -> InjectionVerdict {
        try scanAll([GuardScanItem(text: text, channel: channel, injection: true, pii: false)])[0].injection
    }

    public func scanPII(_ text: String) throws -> [PIISpan] {
        try scanAll([GuardScanItem(text: text, channel: .user, injection: false, pii: true)])[0].pii
    }

    /// Words per encoder call: small texts share a call, long ones are cut into runs of this many words, so the
    /// states held at once stay a few MB however large the request (a 10 MB body would otherwise hold gigabytes).
    static let wordsPerPass = 2048

    private func scanAll(_ items: [GuardScanItem]) throws -> [(injection: InjectionVerdict, pii: [PIISpan])] {
        try checkLength(items)
        var best = [(score: Double, reason: String?)](repeating: (0, nil), count: items.count)
        var modelSpans = [[PIISpan]](repeating: [], count: items.count)
        var textWords = [Int](repeating: 0, count: items.count)
        var batch: [(item: Int, words: [GuardWord])] = []
        var batchWords = 0
        func flush() {
            guard !batch.isEmpty else { return }
            for (unit, encoded) in zip(batch, encoder.encode(wordLists: batch.map(\.words))) {
                if items[unit.item].injection {
                    let found = windowScore(encoded, textWords: textWords[unit.item])
                    if found.score > best[unit.item].score { best[unit.item] = found }
                }
                if items[unit.item].pii { modelSpans[unit.item] += headSpans(encoded) }
            }
            batch.removeAll()
            batchWords = 0
        }
        for (index, item) in items.enumerated() where item.injection || item.pii {
            let words = GuardWord.split(item.text)
            textWords[index] = Self.contentWords(words)
            var start = 0
            repeat {
                let run = Array(words[start..<min(words.count, start + Self.wordsPerPass)])
                if batchWords + run.count > Self.wordsPerPass { flush() }
                batch.append((index, run))
                batchWords += run.count
                start += Self.wordsPerPass
            } while start < words.count
        }
        flush()
        return try items.indices.map { index in
            let item = items[index]
            let injection = item.injection ? try verdict(best[index], text: item.text) : InjectionVerdict(score: 0, flagged: false)
            return (injection, item.pii ? pii(modelSpans[index], text: item.text) : [])
        }
    }

    /// The scan budget is per call — one request's texts together — so a large body cannot buy seconds of encoder
    /// time per text. utf8.count bounds the scalar count from above and is O(1) for native strings.
    private func checkLength(_ items: [GuardScanItem]) throws {
        if items.reduce(0, { $0 + $1.text.utf8.count }) > maxScanScalars {
            let total = items.reduce(0) { $0 + $1.text.unicodeScalars.count }
            if total > maxScanScalars {
                throw GuardrailError(
                    "the texts to check are \(total) characters long; the guards scan at most \(maxScanScalars) per request",
                    isInputTooLarge: true)
            }
        }
        // What the encoder costs is word-pieces, and punctuation- or base64-heavy text has several per character.
        let pieces = items.reduce(0) { $0 + tokenizer.pieceCount($1.text) }
        if pieces > maxScanPieces {
            throw GuardrailError(
                "the texts to check are \(pieces) word-pieces long; the guards scan at most \(maxScanPieces) per request",
                isInputTooLarge: true)
        }
    }

    /// The head's best window, then hidden payloads and the keyword tier.
    private func verdict(_ found: (score: Double, reason: String?), text: String) throws -> InjectionVerdict {
        var best = found
        var reason = best.reason
        var keywords = InjectionHeuristics.keywordScore(text)
        // Distinct payloads only (a repeated blob decodes to the same text), and a bounded amount of decoded text
        // through the encoder: the keyword tier still reads every payload.
        var seen = Set<String>()
        var encoderBudget = Self.decodedScalarsPerText
        for payload in InjectionHeuristics.decodedPayloads(in: text) where seen.insert(payload.text).inserted {
            keywords = max(keywords, InjectionHeuristics.keywordScore(payload.text))
            guard encoderBudget > 0 else { continue }
            let read = String(String.UnicodeScalarView(payload.text.unicodeScalars.prefix(encoderBudget)))
            encoderBudget -= read.unicodeScalars.count
            let encodedPayload = encoder.encode(read)
            let decoded = windowScore(encodedPayload, textWords: Self.contentWords(encodedPayload.words))
            // Hidden instructions are themselves a signal: an encoded payload that reads as an injection counts in full.
            if decoded.score > best.score {
                best = decoded
                reason = "encoded: \(payload.encoding)"
            }
        }
        // The keyword tier catches phrasings the head has seen too little of (CV on the dev set: recall 0.846 -> 0.905
        // at the same FPR 0.018); a strong keyword score is put just above the threshold, a weak one well below it.
        let fromKeywords = keywords >= Self.keywordFlag ? 0.99 + 0.01 * keywords : keywords * 0.9
        if fromKeywords > best.score {
            best.score = fromKeywords
            reason = "keywords"
        }
        let flagged = best.score >= injectionThreshold
        return InjectionVerdict(score: best.score, flagged: flagged, reason: flagged ? reason : nil)
    }

    /// Decoded hidden text read by the encoder per scanned text (the rest is read by the keyword tier only).
    static let decodedScalarsPerText = 8192

    /// Keyword scores from here on flag a text whatever the head says.
    static let keywordFlag = 0.5

    /// Texts of at most this many words are left to the keyword tier: the head has never seen a short injection
    /// (the dev set has none under five words) and reads a bare greeting as the opening of a jailbreak
    /// ("hello", "ok" and "yes" scored ≥ 0.99 before this rule).
    static let fewestWordsForTheHead = 5

    /// Words with a letter or digit (punctuation marks are words of their own to the encoder).
    static func contentWords(_ words: some Sequence<GuardWord>) -> Int {
        words.reduce(0) { count, word in
            count + (word.text.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil } ? 1 : 0)
        }
    }

    /// The head's best window or sentence; `textWords` counts the whole text's content words (a long text is
    /// encoded in runs, and a short last run is still part of a long text).
    private func windowScore(_ encoded: GuardEncoder.Encoded, textWords: Int) -> (score: Double, reason: String?) {
        guard textWords >= Self.fewestWordsForTheHead else { return (0, nil) }
        var best = 0.0
        var reason: String?
        for w in encoded.windows.indices {
            let p = Double(injectionHead.probabilities(encoded.pooled(window: w))[1])
            if p > best { (best, reason) = (p, encoded.windows.count > 1 ? "window \(w + 1) of \(encoded.windows.count)" : nil) }
        }
        for segment in encoded.segments() {
            let p = Double(injectionHead.probabilities(encoded.pooled(window: segment.window, rows: segment.rows))[1])
            if p > best { (best, reason) = (p, "sentence at \(encoded.words[segment.words.lowerBound].start)") }
        }
        return (best, reason)
    }

    /// The head's spans in one encoded run of words (absolute offsets), before plausibility and merging.
    private func headSpans(_ encoded: GuardEncoder.Encoded) -> [PIISpan] {
        let probabilities = encoded.wordFeatures().map(piiHead.probabilities)
        return decoder.spans(words: encoded.words.map { ($0.start, $0.end) }, probabilities: probabilities)
            .filter { Self.modelTypes.contains($0.type) }
    }

    private func pii(_ modelSpans: [PIISpan], text: String) -> [PIISpan] {
        let scalars = Array(text.unicodeScalars)
        let plausible = Self.joinAddresses(modelSpans, in: scalars).filter { Self.isPlausible($0, in: scalars) }
        return Self.merge(patterns: PIIPatterns.find(in: text), model: plausible)
    }

    /// What the head proposes must look like a value (measured on the dev set's PII-free rows: 8 % of them got a
    /// span before these rules, 4 % after, with recall unchanged): a name or a place has letters and starts with a
    /// capital (the encoder is uncased, so the head cannot see that itself); a span glued to letters, digits or a
    /// hyphen is part of an identifier (`ORD-2025-230781`, `A-69025-2`); an address without a digit has a capitalised
    /// word; a person is more than a title or a letter. Runs of digits are numbers, which the pattern tier judges.
    static func isPlausible(_ span: PIISpan, in scalars: [Unicode.Scalar]) -> Bool {
        guard span.start >= 0, span.start < span.end, span.end <= scalars.count else { return false }
        let value = scalars[span.start..<span.end]
        func isWordCharacter(_ s: Unicode.Scalar) -> Bool { s.properties.isAlphabetic || s.properties.numericType != nil || s == "_" }
        guard value.contains(where: { $0.properties.isAlphabetic }) else { return false }
        if span.start > 0, isWordCharacter(scalars[span.start - 1]) || scalars[span.start - 1] == "-" { return false }
        if span.end < scalars.count {
            let next = scalars[span.end]
            if isWordCharacter(next) { return false }
            if next == "-", span.end + 1 < scalars.count, isWordCharacter(scalars[span.end + 1]) { return false }
        }
        let words = String(String.UnicodeScalarView(value)).split(whereSeparator: { $0 == " " || $0 == "\n" })
        func capitalised(_ word: Substring) -> Bool { word.unicodeScalars.first?.properties.isUppercase == true }
        switch span.type {
        case .person, .location:
            if let first = value.first, first.properties.isLowercase { return false }
            if span.type == .person {
                let bare = String(String.UnicodeScalarView(value)).lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
                if value.count < 2 || Self.titles.contains(bare) { return false }
            }
        case .address:
            if !value.contains(where: { $0.properties.numericType != nil }), !words.contains(where: capitalised) { return false }
        default:
            break
        }
        return true
    }

    private static let titles: Set<String> = ["sir", "madam", "mr", "mrs", "ms", "dr", "miss", "mister"]

    /// A street address followed by its postcode, town or country is one address: the head often labels the
    /// parts apart ("Via Rota 130" + "12083 Frabosa"), and a redaction should cover the line as one value.
    static func joinAddresses(_ spans: [PIISpan], in scalars: [Unicode.Scalar]) -> [PIISpan] {
        guard spans.count > 1 else { return spans }
        var joined: [PIISpan] = []
        for span in spans.sorted(by: { $0.start < $1.start }) {
            if var last = joined.last, last.type == .address, span.type == .address || span.type == .location,
                last.end <= span.start, span.start <= scalars.count,
                scalars[last.end..<span.start].allSatisfy({ $0 == " " || $0 == "," })
            {
                last.end = span.end
                last.score = min(last.score, span.score)
                joined[joined.count - 1] = last
            } else {
                joined.append(span)
            }
        }
        return joined
    }

    /// Pattern spans win where the two overlap (they are checksum-validated or exact); model spans fill the rest.
    static func merge(patterns: [PIISpan], model: [PIISpan]) -> [PIISpan] {
        var result = patterns
        for span in model where !patterns.contains(where: { $0.start < span.end && span.start < $0.end }) {
            result.append(span)
        }
        return result.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
    }
}
