import Foundation

/// Checks that two requests an embedding model finds close can be the same question, from what
/// must agree between paraphrases: code spans, identifiers, numbers, quoted strings, negation,
/// named entities and the content words that one has and the other lacks.
///
/// Run only on semantic candidates above the threshold, so a miss costs nothing more. Each check
/// is generic (no vocabulary of a domain) and conservative about technical tokens: `column` and
/// `columns` are different identifiers, `uint8` and `uint16` different types, even where a sentence
/// embedding finds the statements 0.98 alike. A rejection names the check that failed.
public struct SemanticVerifier: Sendable, Hashable {
    /// The checks, by the name a rejection reports (`x-switchyard-cache-verify: rejected:<name>`).
    public enum Check: String, Sendable, CaseIterable, Hashable {
        /// Backtick code spans of one appear in the other (as a span or as words).
        case code
        /// Code-like tokens (snake_case, camelCase, dotted.names, `call()`, letters with digits,
        /// acronyms) appear in both, compared exactly but for case: no stemming, plurals differ.
        case identifiers
        /// The same numbers (digits, or number words two to twenty), in any order.
        case numbers
        /// Quoted strings of one appear in the other.
        case quotes
        /// As many negations in both (not, no, never, n't, cannot, …; not "not only" or "or not").
        case negation
        /// Capitalised names not at the start of a sentence appear in both.
        case entities
        /// A near-duplicate that swaps content words: the swapped words are what differs.
        case content
        /// The cached entry has no text to compare (persisted before verification existed).
        case unverifiable
    }

    /// The content check's reach: two texts that each have at most this many content words the
    /// other lacks (and share at least twice as many) are a minimal edit of each other, and differ
    /// in meaning by exactly those words. 0 turns the check off.
    public var maximumSwappedWords: Int

    public init(maximumSwappedWords: Int = 0) {
        self.maximumSwappedWords = max(0, maximumSwappedWords)
    }

    /// Whether `candidate` (a cached request) may answer `query`: nil when it may, else the first
    /// check that failed.
    public func rejection(_ query: Signature, _ candidate: Signature) -> Check? {
        if !Self.covers(query.codeSpans, in: candidate) || !Self.covers(candidate.codeSpans, in: query) { return .code }
        if !Self.present(query, in: candidate) || !Self.present(candidate, in: query) { return .identifiers }
        if !Self.numbersAgree(query, candidate) || !Self.numbersAgree(candidate, query) { return .numbers }
        if !Self.covers(query.quotes, in: candidate) || !Self.covers(candidate.quotes, in: query) { return .quotes }
        if query.negations != candidate.negations { return .negation }
        if !query.entities.isSubset(of: candidate.stems) || !candidate.entities.isSubset(of: query.stems) { return .entities }
        if swapsContent(query, candidate) { return .content }
        return nil
    }

    /// Convenience over texts (the cache keeps signatures, computed once per entry).
    public func rejection(_ query: String, _ candidate: String) -> Check? {
        rejection(Signature(query), Signature(candidate))
    }

    /// True when each side has content words the other lacks (a substitution, not an addition)
    /// and, past those, the two share at least as many: the few words swapped are then the
    /// difference in meaning ("the cast method casts a table to another schema" / "... an array to
    /// another schema"; "reset my password" / "reset my username"). Paraphrases reword more
    /// widely, or only add or drop words.
    func swapsContent(_ a: Signature, _ b: Signature) -> Bool {
        guard maximumSwappedWords > 0 else { return false }
        var onlyA = 0
        for stem in a.contentStems where !b.stems.contains(stem) { onlyA += 1 }
        var onlyB = 0
        for stem in b.contentStems where !a.stems.contains(stem) { onlyB += 1 }
        guard onlyA > 0, onlyB > 0 else { return false }
        let swapped = max(onlyA, onlyB)
        let shared = a.contentStems.intersection(b.contentStems).count
        return swapped <= maximumSwappedWords && shared >= swapped
    }

    /// Each identifier of `one` is a word of `other` or the name a qualified one ends with, or its qualified parts all are
    /// (`datasets.Audio` / "Audio of datasets"), or, an acronym, is spelt out there by initials.
    static func present(_ one: Signature, in other: Signature) -> Bool {
        for identifier in one.identifiers where !other.words.contains(identifier) && !other.qualifiedTails.contains(identifier) {
            if one.acronyms.contains(identifier), (2...8).contains(identifier.count), other.initials.contains(identifier) { continue }
            let parts = identifier.split(whereSeparator: { $0 == "." || $0 == ":" || $0 == "/" })
            if parts.count > 1, parts.allSatisfy({ other.words.contains(String($0)) }) { continue }
            return false
        }
        return true
    }

    /// Every number of `one` is in `other`, except a spelt-out one where `other` has none at all.
    static func numbersAgree(_ one: Signature, _ other: Signature) -> Bool {
        for number in one.numbers where !other.numbers.contains(number) {
            if one.digitNumbers.contains(number) || !other.numbers.isEmpty { return false }
        }
        return true
    }

    /// Every span appears in `other`: as one of its spans, as one of its words, or (several words)
    /// with all its words among the other's.
    static func covers(_ spans: Set<String>, in other: Signature) -> Bool {
        for span in spans {
            if other.codeSpans.contains(span) || other.quotes.contains(span) || other.words.contains(span) { continue }
            let words = Signature.words(of: span)
            if words.isEmpty || !words.allSatisfy(other.words.contains) { return false }
        }
        return true
    }
}
