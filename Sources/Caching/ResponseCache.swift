import Foundation
import SwitchyardCore
import Synchronization

/// How a model or route uses the cache.
public struct CachePolicy: Sendable, Hashable {
    public struct Semantic: Sendable, Hashable {
        /// Cosine similarity at or above which a cached answer is a candidate.
        public var threshold: Double
        public var ttl: Duration
        /// Whether a candidate must also pass `SemanticVerifier` (same identifiers, numbers,
        /// negation, …) to be served. Without it the threshold alone decides.
        public var verify: Bool

        public init(threshold: Double? = nil, ttl: Duration = .seconds(3600), verify: Bool = true) {
            self.threshold = threshold ?? (verify ? ResponseCache.defaultSemanticThreshold : ResponseCache.defaultUnverifiedThreshold)
            self.ttl = ttl
            self.verify = verify
        }
    }

    public var exact: Bool
    public var ttl: Duration
    public var semantic: Semantic?
    /// Above this temperature answers are meant to vary: no semantic hits.
    public var maxSemanticTemperature: Double

    public init(exact: Bool = true, ttl: Duration = .seconds(3600), semantic: Semantic? = nil, maxSemanticTemperature: Double = 0.7) {
        self.exact = exact
        self.ttl = ttl
        self.semantic = semantic
        self.maxSemanticTemperature = maxSemanticTemperature
    }

    public static let off = CachePolicy(exact: false)
}

/// What the client asked of the cache (`x-switchyard-cache` header or `switchyard.cache`).
public enum CacheDirective: String, Sendable, Hashable {
    case normal
    /// Do not answer from the cache (still store the fresh answer).
    case noCache = "no-cache"
    /// Answer from the cache if possible, but do not store this answer.
    case noStore = "no-store"
    /// Answer only from the cache; a miss is an error (504, like HTTP's only-if-cached).
    case onlyIfCached = "only-if-cached"
}

/// The outcome of a lookup.
public enum CacheLookup: Sendable {
    case hit(CachedAnswer)
    /// Not found; `fill` carries what is needed to store the fresh answer later.
    case miss(CacheFill)
    /// The cache was not consulted (policy off, no-cache directive).
    case bypass(CacheFill?)
}

public struct CachedAnswer: Sendable {
    public enum Kind: String, Sendable { case exact = "hit-exact", semantic = "hit-semantic" }
    public var response: ChatResponse
    /// `response` as stored, encoded without its `switchyard` extension, when the hit came from memory.
    public var encoded: Data? = nil
    public var kind: Kind
    public var similarity: Double?
    /// A semantic hit that the verifier accepted.
    public var verified = false
    /// What the original call cost: the saving of this hit.
    public var savedCostUSD: Double
    public var savedTokens: Int
}

/// The key and (for semantic caching) the embedding of a request that missed, kept until its answer arrives.
public struct CacheFill: Sendable {
    let key: CacheKey
    let namespace: String
    let scope: String?
    let vector: [Float]?
    let policy: CachePolicy
    /// The text embedded (the last user turn), kept so later candidates can be verified against it.
    var text: String? = nil
    /// Why the most similar cached request above the threshold was not served, if one was not:
    /// the verifier check it failed (`x-switchyard-cache-verify: rejected:<check>`).
    public internal(set) var rejection: SemanticVerifier.Check? = nil
    /// That candidate's similarity.
    public internal(set) var rejectedSimilarity: Double? = nil
}

/// Cache counters, for `switchyard cache stats`.
public struct CacheStats: Sendable, Codable, Hashable {
    public var entries: Int
    public var bytes: Int
    public var semanticEntries: Int
    public var exactHits: Int
    public var semanticHits: Int
    public var misses: Int
    public var evictions: Int
    public var tokensSaved: Int
    public var dollarsSaved: Double

    enum CodingKeys: String, CodingKey {
        case entries, bytes, misses, evictions
        case semanticEntries = "semantic_entries"
        case exactHits = "exact_hits"
        case semanticHits = "semantic_hits"
        case tokensSaved = "tokens_saved"
        case dollarsSaved = "dollars_saved"
        case exactHitRate = "exact_hit_rate"
        case semanticHitRate = "semantic_hit_rate"
    }

    public var lookups: Int { exactHits + semanticHits + misses }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(semanticEntries, forKey: .semanticEntries)
        try container.encode(exactHits, forKey: .exactHits)
        try container.encode(semanticHits, forKey: .semanticHits)
        try container.encode(misses, forKey: .misses)
        try container.encode(evictions, forKey: .evictions)
        try container.encode(tokensSaved, forKey: .tokensSaved)
        try container.encode(dollarsSaved, forKey: .dollarsSaved)
        try container.encode(lookups == 0 ? 0 : Double(exactHits) / Double(lookups), forKey: .exactHitRate)
        try container.encode(lookups == 0 ? 0 : Double(semanticHits) / Double(lookups), forKey: .semanticHitRate)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        entries = try container.decode(Int.self, forKey: .entries)
        bytes = try container.decode(Int.self, forKey: .bytes)
        semanticEntries = try container.decode(Int.self, forKey: .semanticEntries)
        exactHits = try container.decode(Int.self, forKey: .exactHits)
        semanticHits = try container.decode(Int.self, forKey: .semanticHits)
        misses = try container.decode(Int.self, forKey: .misses)
        evictions = try container.decode(Int.self, forKey: .evictions)
        tokensSaved = try container.decode(Int.self, forKey: .tokensSaved)
        dollarsSaved = try container.decode(Double.self, forKey: .dollarsSaved)
    }

    init(entries: Int, bytes: Int, semanticEntries: Int, exactHits: Int, semanticHits: Int, misses: Int, evictions: Int, tokensSaved: Int, dollarsSaved: Double) {
        self.entries = entries
        self.bytes = bytes
        self.semanticEntries = semanticEntries
        self.exactHits = exactHits
        self.semanticHits = semanticHits
        self.misses = misses
        self.evictions = evictions
        self.tokensSaved = tokensSaved
        self.dollarsSaved = dollarsSaved
    }
}

/// Exact and semantic response cache, in memory, optionally persisted. Lookups never touch the
/// database; persistence happens through `pendingWrites`, drained by a background service.
public final class ResponseCache: Sendable {
    /// Chosen with the verifier by cross-validation on the public paraphrase pairs, for precision
    /// first (see `switchyard bench cache-precision` and the README's Caching section).
    public static let defaultSemanticThreshold = 0.93
    /// The threshold when verification is off: cosine alone, chosen for ≥ 99 % precision on the same pairs.
    public static let defaultUnverifiedThreshold = 0.97
    /// Candidates above the threshold verified per lookup, most similar first: a near-duplicate
    /// about something else must not hide the paraphrase behind it.
    public static let verifiedCandidates = 3
    /// Fills queued for the database at most; see `store`.
    public static let maximumPendingWrites = 10_000

    struct Entry {
        var response: ChatResponse
        /// `response` encoded (without the `switchyard` extension), as stored: a hit on the fast path
        /// splices its own `id`, `created` and extension into these bytes instead of encoding again.
        var encoded: Data
        var namespace: String
        var scope: String?
        var costUSD: Double
        var tokens: Int
    }

    struct State {
        var store: LRUStore<Entry>
        var semantic: [String: SemanticIndex] = [:]  // scope → entries
        var exactHits = 0
        var semanticHits = 0
        var misses = 0
        var tokensSaved = 0
        var dollarsSaved = 0.0
        var pendingWrites: [CacheRecord] = []
        var pendingDeletes: [String] = []
        var droppedWrites = 0

        /// Keeps the signatures a lookup read, so the next lookup with these candidates does not.
        mutating func remember(_ read: [(SemanticIndex.Candidate, SemanticVerifier.Signature)], in scope: String) {
            for (candidate, signature) in read {
                semantic[scope]?.remember(signature, at: candidate.position, key: candidate.key)
            }
        }

        /// Removes semantic entries of the given scopes, and scopes left empty.
        mutating func removeSemantic(in scopes: [String], where shouldRemove: (String, Date) -> Bool) {
            for scope in scopes {
                semantic[scope]?.removeAll(where: shouldRemove)
                if semantic[scope]?.isEmpty == true { semantic[scope] = nil }
            }
        }
    }

    private let state: Mutex<State>
    private let embedder: (any TextEmbedder)?
    private let now: @Sendable () -> Date
    public let persistence: (any CachePersistence)?
    /// `persistence` when other gateways share it: a local exact miss asks it before missing.
    private let shared: (any SharedCachePersistence)?
    /// Tool names (globs) that have side effects: requests offering them get no semantic hits.
    public let sideEffectTools: [String]
    /// Decides whether a semantic candidate may answer (when the policy verifies).
    public let verifier: SemanticVerifier

    public init(
        capacityBytes: Int = 256 * 1024 * 1024, embedder: (any TextEmbedder)? = nil,
        persistence: (any CachePersistence)? = nil, verifier: SemanticVerifier = SemanticVerifier(),
        sideEffectTools: [String] = ["*send*", "*delete*", "*remove*", "*create*", "*update*", "*write*", "*pay*", "*book*", "*post*", "*execute*", "*run*"],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.state = Mutex(State(store: LRUStore(capacityBytes: capacityBytes)))
        self.embedder = embedder
        self.persistence = persistence
        self.shared = persistence as? any SharedCachePersistence
        self.sideEffectTools = sideEffectTools
        self.verifier = verifier
        self.now = now
    }

    /// Loads persisted entries (at start).
    public func restore() throws {
        guard let persistence else { return }
        let records = try persistence.load(now: now())
        let decoder = JSONDecoder()
        state.withLock { state in
            for record in records {
                guard let response = try? decoder.decode(ChatResponse.self, from: record.response) else { continue }
                state.store.set(
                    Entry(response: response, encoded: record.response, namespace: record.namespace, scope: record.scope, costUSD: record.costUSD,
                          tokens: record.promptTokens + record.completionTokens),
                    for: record.key, bytes: record.response.count, expires: record.expiresAt)
                if let scope = record.scope, let vector = record.vector {
                    state.semantic[scope, default: SemanticIndex()].append(
                        key: record.key, vector: vector, expires: record.expiresAt, text: record.text)
                }
            }
        }
    }

    /// Looks a request up: exact first, then semantic when the policy allows it.
    /// The entry stored under `digest` in this gateway's memory, counted as an exact hit; nil when there is none.
    private func exactHit(_ digest: String, at instant: Date) -> CachedAnswer? {
        state.withLock { state -> CachedAnswer? in
            guard let entry = state.store.value(for: digest, now: instant) else { return nil }
            state.exactHits += 1
            state.tokensSaved += entry.tokens
            state.dollarsSaved += entry.costUSD
            return CachedAnswer(
                response: entry.response, encoded: entry.encoded, kind: .exact, similarity: nil, savedCostUSD: entry.costUSD, savedTokens: entry.tokens)
        }
    }

    /// `lookup` without waiting, for the gateway's fast path (no directive): nil when the answer could
    /// need an embedding or the shared store (a semantic policy that applies; a shared table on a miss).
    ///
    /// - Parameter key: the request's key under `namespace`, when the caller has it already.
    public func lookupNow(_ request: ChatRequest, namespace: String, policy: CachePolicy, key: CacheKey? = nil) -> CacheLookup? {
        guard policy.exact || policy.semantic != nil, let key = key ?? CacheKey(namespace: namespace, request: request) else {
            return .bypass(nil)
        }
        if semanticAllowed(request, policy: policy), policy.semantic != nil { return nil }
        let instant = now()
        if policy.exact, let hit = exactHit(key.digest, at: instant) { return .hit(hit) }
        if shared != nil { return nil }
        state.withLock { state in state.misses += 1 }
        return .miss(CacheFill(key: key, namespace: namespace, scope: nil, vector: nil, policy: policy, text: nil))
    }

    public func lookup(_ request: ChatRequest, namespace: String, policy: CachePolicy, directive: CacheDirective) async -> CacheLookup {
        guard policy.exact || policy.semantic != nil, let key = CacheKey(namespace: namespace, request: request) else {
            return .bypass(nil)
        }
        let semanticPolicy = semanticAllowed(request, policy: policy) ? policy.semantic : nil

        if directive == .noCache {
            let scope = semanticPolicy != nil ? Self.scope(namespace: namespace, request: request) : nil
            return .bypass(await fill(key, namespace, scope, request, policy, embed: semanticPolicy != nil))
        }
        let instant = now()
        if policy.exact, let hit = exactHit(key.digest, at: instant) { return .hit(hit) }
        if policy.exact, let shared, let hit = await sharedHit(key.digest, from: shared, at: instant) {
            return .hit(hit)
        }
        // The scope (a hash over tools, format and the conversation so far) only after an exact miss.
        let scope = semanticPolicy != nil ? Self.scope(namespace: namespace, request: request) : nil
        var vector: [Float]?
        var rejection: (check: SemanticVerifier.Check, similarity: Double)?
        var read: [(SemanticIndex.Candidate, SemanticVerifier.Signature)] = []  // signatures read for the first time
        if let semanticPolicy, let scope, let embedder {
            vector = try? await embedder.embed([Self.semanticText(request)]).vectors.first
            if let vector {
                let limit = semanticPolicy.verify ? Self.verifiedCandidates : 1
                let candidates = state.withLock { state -> [SemanticIndex.Candidate] in
                    // Scan in place; the index is rewritten only when an entry has expired.
                    guard let (found, expired) = state.semantic[scope]?.candidates(
                        to: vector, at: instant, atLeast: Float(semanticPolicy.threshold), limit: limit)
                    else { return [] }
                    if expired { state.removeSemantic(in: [scope]) { _, expires in expires <= instant } }
                    return found
                }
                // Verification only when there is a candidate: a miss costs what it did.
                var chosen: SemanticIndex.Candidate?
                if semanticPolicy.verify, !candidates.isEmpty {
                    let query = SemanticVerifier.Signature(Self.semanticText(request))
                    for candidate in candidates {
                        let signature = candidate.signature ?? candidate.text.map(SemanticVerifier.Signature.init)
                        if candidate.signature == nil, let signature { read.append((candidate, signature)) }
                        let check = signature.map { verifier.rejection(query, $0) } ?? .unverifiable
                        if let check {
                            if rejection == nil { rejection = (check, Double(candidate.similarity)) }
                        } else {
                            chosen = candidate
                            break
                        }
                    }
                } else {
                    chosen = candidates.first
                }
                if let chosen, let hit = state.withLock({ state -> CachedAnswer? in
                    state.remember(read, in: scope)
                    guard let entry = state.store.value(for: chosen.key, now: instant) else { return nil }
                    state.semanticHits += 1
                    state.tokensSaved += entry.tokens
                    state.dollarsSaved += entry.costUSD
                    return CachedAnswer(
                        response: entry.response, kind: .semantic, similarity: Double(chosen.similarity), verified: semanticPolicy.verify,
                        savedCostUSD: entry.costUSD, savedTokens: entry.tokens)
                }) {
                    return .hit(hit)
                }
            }
        }
        state.withLock { state in
            state.misses += 1
            if let scope { state.remember(read, in: scope) }
        }
        guard directive != .noStore else { return .miss(CacheFill(key: key, namespace: namespace, scope: nil, vector: nil, policy: .off)) }
        return .miss(
            CacheFill(
                key: key, namespace: namespace, scope: vector == nil ? nil : scope, vector: vector, policy: policy,
                text: vector == nil ? nil : Self.semanticText(request), rejection: rejection?.check, rejectedSimilarity: rejection?.similarity))
    }

    /// An answer another gateway stored under `key` in the shared persistence, kept here too (so the
    /// next lookup is local) and counted as an exact hit; nil when there is none.
    private func sharedHit(_ key: String, from shared: any SharedCachePersistence, at instant: Date) async -> CachedAnswer? {
        guard let record = await shared.record(key: key, now: instant), record.expiresAt > instant,
            let response = try? JSONDecoder().decode(ChatResponse.self, from: record.response)
        else { return nil }
        let tokens = record.promptTokens + record.completionTokens
        return state.withLock { state in
            if state.store.value(for: key, now: instant) == nil {
                let textBytes = record.text.map { 3 * $0.utf8.count } ?? 0
                let evicted = state.store.set(
                    Entry(
                        response: response, encoded: record.response, namespace: record.namespace, scope: record.scope, costUSD: record.costUSD,
                        tokens: tokens),
                    for: key, bytes: record.response.count + (record.vector?.count ?? 0) * 4 + textBytes, expires: record.expiresAt)
                if let scope = record.scope, let vector = record.vector, !evicted.contains(key) {
                    state.semantic[scope, default: SemanticIndex()].append(key: key, vector: vector, expires: record.expiresAt, text: record.text)
                }
                if !evicted.isEmpty {
                    let gone = Set(evicted)
                    state.removeSemantic(in: Array(state.semantic.keys)) { key, _ in gone.contains(key) }
                }
            }
            state.exactHits += 1
            state.tokensSaved += tokens
            state.dollarsSaved += record.costUSD
            return CachedAnswer(response: response, kind: .exact, similarity: nil, savedCostUSD: record.costUSD, savedTokens: tokens)
        }
    }

    private func fill(_ key: CacheKey, _ namespace: String, _ scope: String?, _ request: ChatRequest, _ policy: CachePolicy, embed: Bool) async -> CacheFill {
        var vector: [Float]?
        if embed, let embedder { vector = try? await embedder.embed([Self.semanticText(request)]).vectors.first }
        return CacheFill(
            key: key, namespace: namespace, scope: vector == nil ? nil : scope, vector: vector, policy: policy,
            text: vector == nil ? nil : Self.semanticText(request))
    }

    /// Stores a fresh answer. Only complete answers are kept (a finish reason of stop, length or
    /// tool calls); the database write is queued, never awaited.
    public func store(_ response: ChatResponse, for fill: CacheFill, costUSD: Double) {
        guard fill.policy.exact || fill.policy.semantic != nil, let finish = response.choices.first?.finishReason,
            finish != .contentFilter
        else { return }
        var clean = response
        clean.switchyard = nil
        guard let data = try? JSONEncoder().encode(clean) else { return }
        let created = now()
        let ttl = fill.policy.semantic.map { max($0.ttl, fill.policy.ttl) } ?? fill.policy.ttl
        let expires = created.addingTimeInterval(Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18)
        let usage = response.usage ?? Usage(promptTokens: 0, completionTokens: 0)
        // Read once here, off the lookup path, so a candidate costs only the new request's reading.
        let semantic = fill.scope != nil && fill.vector != nil && fill.policy.semantic != nil
        // The text and, once read, its signature (sets of its words) are held too: about three times the text.
        let textBytes = semantic ? 3 * (fill.text?.utf8.count ?? 0) : 0
        state.withLock { state in
            let evicted = state.store.set(
                Entry(response: clean, encoded: data, namespace: fill.namespace, scope: fill.scope, costUSD: costUSD, tokens: usage.totalTokens),
                for: fill.key.digest, bytes: data.count + (fill.vector?.count ?? 0) * 4 + textBytes, expires: expires)
            if semantic, let scope = fill.scope, let vector = fill.vector, !evicted.contains(fill.key.digest) {
                state.semantic[scope, default: SemanticIndex()].append(key: fill.key.digest, vector: vector, expires: expires, text: fill.text)
            }
            if !evicted.isEmpty {
                let gone = Set(evicted)
                state.removeSemantic(in: Array(state.semantic.keys)) { key, _ in gone.contains(key) }
                // A shared table outlives this gateway's memory: other gateways may still serve what it
                // evicts (expiry removes those rows instead).
                if shared == nil { state.pendingDeletes += evicted }
            }
            if persistence != nil {
                // Bounded: when the database falls behind, the oldest queued fills are dropped (the
                // entries stay served from memory; only their persistence is lost).
                if state.pendingWrites.count >= Self.maximumPendingWrites {
                    state.pendingWrites.removeFirst(state.pendingWrites.count - Self.maximumPendingWrites + 1)
                    state.droppedWrites += 1
                }
                state.pendingWrites.append(
                    CacheRecord(
                        key: fill.key.digest, namespace: fill.namespace, scope: fill.scope, vector: fill.vector,
                        text: semantic ? fill.text : nil, response: data,
                        model: response.model, costUSD: costUSD, promptTokens: usage.promptTokens,
                        completionTokens: usage.completionTokens, createdAt: created, expiresAt: expires))
            }
        }
    }

    /// Writes queued fills and evictions to the persistent store (called by a background service).
    public func flush() async throws {
        guard let persistence else { return }
        let (writes, deletes) = state.withLock { state -> ([CacheRecord], [String]) in
            defer {
                state.pendingWrites.removeAll()
                state.pendingDeletes.removeAll()
            }
            return (state.pendingWrites, state.pendingDeletes)
        }
        if !writes.isEmpty { try await persistence.save(writes) }
        if !deletes.isEmpty { try await persistence.remove(keys: deletes) }
    }

    public func stats() -> CacheStats {
        state.withLock { state in
            CacheStats(
                entries: state.store.count, bytes: state.store.bytes,
                semanticEntries: state.semantic.values.reduce(0) { $0 + $1.count }, exactHits: state.exactHits,
                semanticHits: state.semanticHits, misses: state.misses, evictions: state.store.evictions,
                tokensSaved: state.tokensSaved, dollarsSaved: state.dollarsSaved)
        }
    }

    /// Empties the cache, or one namespace of it. Returns how many entries went.
    @discardableResult
    public func clear(namespace: String? = nil) async throws -> Int {
        let removed = state.withLock { state -> Int in
            let keys = state.store.removeAll { _, entry in namespace == nil || entry.namespace == namespace }
            let gone = Set(keys)
            state.removeSemantic(in: Array(state.semantic.keys)) { key, _ in gone.contains(key) }
            state.pendingWrites.removeAll { namespace == nil || $0.namespace == namespace }
            return keys.count
        }
        try await persistence?.removeAll(namespace: namespace)
        return removed
    }

    // MARK: Scope

    func semanticAllowed(_ request: ChatRequest, policy: CachePolicy) -> Bool {
        guard policy.semantic != nil, embedder != nil else { return false }
        if let temperature = request.temperature, temperature > policy.maxSemanticTemperature { return false }
        if (request.n ?? 1) > 1 { return false }
        for tool in request.tools ?? [] where GlobPattern.allows(sideEffectTools, tool.function.name.lowercased()) { return false }
        guard let last = request.messages.last, last.role == .user, !last.text.isEmpty else { return false }
        return true
    }

    /// Everything that must match for a semantic hit: namespace, model, system prompt, tools,
    /// response format, the conversation before the last user turn, and the temperature bucket.
    static func scope(namespace: String, request: ChatRequest) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let tools = request.tools.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let toolChoice = request.toolChoice.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let format = request.responseFormat.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let prefix = request.messages.dropLast().filter { $0.role != .system && $0.role != .developer }
        let prefixText = (try? encoder.encode(Array(prefix))).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let bucket: String
        switch request.temperature ?? 1 {
        case ...0.0: bucket = "t0"
        case ...0.3: bucket = "t0.3"
        case ...0.7: bucket = "t0.7"
        default: bucket = "t1"
        }
        let extras = request.extra.keys.sorted().map { "\($0)=\(request.extra[$0]!.jsonString())" }.joined(separator: "&")
        return CacheKey.hash([
            namespace, request.model, request.systemText, tools, toolChoice, format, prefixText, bucket,
            String(request.outputTokenLimit ?? 0), (request.stop ?? []).joined(separator: "\u{1}"), extras,
        ])
    }

    static func semanticText(_ request: ChatRequest) -> String {
        request.messages.last { $0.role == .user }?.text ?? ""
    }
}
