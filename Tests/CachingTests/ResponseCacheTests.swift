import Foundation
import Synchronization
import Testing

@testable import Caching
import SwitchyardCore

/// A wall clock the test moves by hand.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_700_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Words to vectors deterministically, for scope and threshold logic (the real model is tested
/// in the precision benchmark and the end-to-end tests).
struct BagOfWordsEmbedder: TextEmbedder {
    var modelName: String { "test/bag-of-words" }
    var dimensions: Int { 64 }
    func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let vectors = texts.map { text -> [Float] in
            var vector = [Float](repeating: 0, count: 64)
            for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) {
                vector[Int(UInt(bitPattern: word.hashValue) % 64)] += 1
            }
            let norm = sqrt(vector.reduce(0) { $0 + $1 * $1 })
            return norm > 0 ? vector.map { $0 / norm } : vector
        }
        return EmbeddingBatch(vectors: vectors, promptTokens: 0)
    }
}

@Suite("Response cache")
struct ResponseCacheTests {
    func request(_ text: String = "What is the capital of France?", model: String = "m") -> ChatRequest {
        ChatRequest(model: model, messages: [.system("Be brief."), .user(text)])
    }

    func answer(_ text: String = "Paris.") -> ChatResponse {
        ChatResponse(
            id: "x", created: 1, model: "up", choices: [.init(message: .assistant(text), finishReason: .stop)],
            usage: Usage(promptTokens: 20, completionTokens: 3))
    }

    func key(_ request: ChatRequest, namespace: String = "t") -> String { CacheKey(namespace: namespace, request: request)!.digest }

    @Test func keyIgnoresWhatDoesNotChangeTheAnswer() {
        let base = request()
        var other = base
        other.user = "alice"
        other.stream = true
        other.includeUsage = true
        other.metadata = ["trace": "1"]
        other.switchyard = ["cache": "no-store"]
        #expect(key(base) == key(other))
        var tokens = base
        tokens.maxTokens = 50
        var completionTokens = base
        completionTokens.maxCompletionTokens = 50
        #expect(key(tokens) == key(completionTokens))  // the same limit, either spelling
    }

    @Test(arguments: [
        "model", "message", "system", "temperature", "top_p", "max_tokens", "stop", "seed", "tools", "tool_choice",
        "response_format", "n", "extra", "namespace",
    ])
    func keyChangesWithEverythingThatChangesTheAnswer(field: String) {
        let base = request()
        var changed = base
        var namespace = "t"
        switch field {
        case "model": changed.model = "other"
        case "message": changed.messages[1] = .user("What is the capital of Spain?")
        case "system": changed.messages[0] = .system("Be verbose.")
        case "temperature": changed.temperature = 0.9
        case "top_p": changed.topP = 0.5
        case "max_tokens": changed.maxTokens = 10
        case "stop": changed.stop = ["\n"]
        case "seed": changed.seed = 3
        case "tools": changed.tools = [ToolDefinition(function: .init(name: "f"))]
        case "tool_choice": changed.toolChoice = ToolChoice.none
        case "response_format": changed.responseFormat = ResponseFormat(type: .jsonObject)
        case "n": changed.n = 2
        case "extra": changed.extra["reasoning_effort"] = "high"
        default: namespace = "other-tenant"
        }
        #expect(key(base) != key(changed, namespace: namespace))
    }

    @Test func exactHitsMissesAndTTL() async throws {
        let clock = TestClock()
        let cache = ResponseCache(now: { clock.now })
        let policy = CachePolicy(exact: true, ttl: .seconds(60))
        guard case .miss(let fill) = await cache.lookup(request(), namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("expected a miss")
            return
        }
        cache.store(answer(), for: fill, costUSD: 0.002)
        guard case .hit(let hit) = await cache.lookup(request(), namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("expected a hit")
            return
        }
        #expect(hit.kind == .exact && hit.response.message?.text == "Paris." && hit.savedCostUSD == 0.002)
        clock.advance(61)
        if case .hit = await cache.lookup(request(), namespace: "t", policy: policy, directive: .normal) {
            Issue.record("expired entry served")
        }
        let stats = cache.stats()
        #expect(stats.exactHits == 1 && stats.misses == 2 && stats.tokensSaved == 23 && abs(stats.dollarsSaved - 0.002) < 1e-12)
    }

    @Test func tenantsNeverSeeEachOthersAnswers() async throws {
        let cache = ResponseCache()
        let policy = CachePolicy()
        guard case .miss(let fill) = await cache.lookup(request(), namespace: "team-a", policy: policy, directive: .normal) else { return }
        cache.store(answer(), for: fill, costUSD: 0)
        if case .hit = await cache.lookup(request(), namespace: "team-b", policy: policy, directive: .normal) {
            Issue.record("cross-tenant hit")
        }
        try await cache.clear(namespace: "team-a")
        if case .hit = await cache.lookup(request(), namespace: "team-a", policy: policy, directive: .normal) {
            Issue.record("cleared entry served")
        }
    }

    @Test func lruEvictsByBytes() async throws {
        let cache = ResponseCache(capacityBytes: 1200)
        let policy = CachePolicy()
        for index in 0..<5 {
            guard case .miss(let fill) = await cache.lookup(request("q\(index)"), namespace: "t", policy: policy, directive: .normal) else { continue }
            cache.store(answer(String(repeating: "x", count: 100)), for: fill, costUSD: 0)
            if index == 1 { _ = await cache.lookup(request("q0"), namespace: "t", policy: policy, directive: .normal) }  // q0 is recent again
        }
        let stats = cache.stats()
        #expect(stats.bytes <= 1200 && stats.evictions > 0)
        if case .hit = await cache.lookup(request("q4"), namespace: "t", policy: policy, directive: .normal) {} else {
            Issue.record("newest entry evicted")
        }
        if case .hit = await cache.lookup(request("q1"), namespace: "t", policy: policy, directive: .normal) {
            Issue.record("least recent entry kept")
        }
    }

    @Test func directives() async throws {
        let cache = ResponseCache()
        let policy = CachePolicy()
        guard case .miss(let fill) = await cache.lookup(request(), namespace: "t", policy: policy, directive: .noStore) else { return }
        cache.store(answer(), for: fill, costUSD: 0)  // no-store: the fill is inert
        #expect(cache.stats().entries == 0)
        guard case .bypass(let bypass?) = await cache.lookup(request(), namespace: "t", policy: policy, directive: .noCache) else {
            Issue.record("no-cache must bypass")
            return
        }
        cache.store(answer(), for: bypass, costUSD: 0)  // no-cache still stores the fresh answer
        if case .hit = await cache.lookup(request(), namespace: "t", policy: policy, directive: .normal) {} else {
            Issue.record("no-cache answer not stored")
        }
        if case .bypass = await cache.lookup(request(), namespace: "t", policy: .off, directive: .normal) {} else {
            Issue.record("policy off must bypass")
        }
    }

    @Test func semanticHitsStayInsideTheirScope() async throws {
        let cache = ResponseCache(embedder: BagOfWordsEmbedder())
        let policy = CachePolicy(exact: true, semantic: .init(threshold: 0.8))
        guard case .miss(let fill) = await cache.lookup(request("What is the capital of France?"), namespace: "t", policy: policy, directive: .normal) else { return }
        cache.store(answer(), for: fill, costUSD: 0.001)
        guard case .hit(let hit) = await cache.lookup(request("what is the capital of france"), namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("paraphrase missed")
            return
        }
        #expect(hit.kind == .semantic && (hit.similarity ?? 0) >= 0.8)

        var otherSystem = request("what is the capital of france")
        otherSystem.messages[0] = .system("Answer in French.")
        var otherTools = request("what is the capital of france")
        otherTools.tools = [ToolDefinition(function: .init(name: "lookup_city"))]
        var sideEffects = request("what is the capital of france")
        sideEffects.tools = [ToolDefinition(function: .init(name: "send_email"))]
        var hot = request("what is the capital of france")
        hot.temperature = 1.2
        var otherModel = request("what is the capital of france")
        otherModel.model = "other"
        for (label, variant) in [("system", otherSystem), ("tools", otherTools), ("side effects", sideEffects), ("temperature", hot), ("model", otherModel)] {
            if case .hit = await cache.lookup(variant, namespace: "t", policy: policy, directive: .normal) { Issue.record("hit across \(label)") }
        }
        if case .hit = await cache.lookup(request("what is the capital of france"), namespace: "u", policy: policy, directive: .normal) {
            Issue.record("hit across tenants")
        }
        if case .hit = await cache.lookup(request("How do volcanoes form?"), namespace: "t", policy: policy, directive: .normal) {
            Issue.record("unrelated question hit")
        }
    }

    @Test func verificationTurnsDownANearDuplicateAboutSomethingElse() async throws {
        let cache = ResponseCache(embedder: BagOfWordsEmbedder())
        let verified = CachePolicy(exact: true, semantic: .init(threshold: 0.5))
        let unverified = CachePolicy(exact: true, semantic: .init(threshold: 0.5, verify: false))
        guard case .miss(let fill) = await cache.lookup(request("What does the `columns` method return?"), namespace: "t", policy: verified, directive: .normal) else { return }
        #expect(fill.rejection == nil)  // nothing cached yet: no candidate, nothing verified
        cache.store(answer("A list of columns."), for: fill, costUSD: 0.001)
        let other = request("What does the `column` method return?")
        guard case .miss(let rejected) = await cache.lookup(other, namespace: "t", policy: verified, directive: .normal) else {
            Issue.record("a different identifier was served")
            return
        }
        #expect(rejected.rejection == .code && (rejected.rejectedSimilarity ?? 0) >= 0.5)
        // Cosine alone serves it: that is the wrong answer verification exists for.
        if case .hit(let hit) = await cache.lookup(other, namespace: "t", policy: unverified, directive: .noStore) {
            #expect(hit.kind == .semantic && !hit.verified)
        } else {
            Issue.record("without verification the near-duplicate should hit")
        }
        // The miss is cached in turn; then a paraphrase of it finds it, behind the nearer near-duplicate.
        cache.store(answer("One column."), for: rejected, costUSD: 0.001)
        guard case .hit(let hit) = await cache.lookup(request("Which value does the `column` method give back?"), namespace: "t", policy: verified, directive: .normal) else {
            Issue.record("the paraphrase missed")
            return
        }
        #expect(hit.kind == .semantic && hit.verified && hit.response.message?.text == "One column.")
    }

    @Test func laterCandidatesAreVerifiedWhenTheNearestIsRejected() async throws {
        let cache = ResponseCache(embedder: BagOfWordsEmbedder())
        let policy = CachePolicy(semantic: .init(threshold: 0.3))
        for (text, reply) in [("which value does the `column` method give back", "right"), ("what does the `columns` method return", "wrong")] {
            guard case .miss(let fill) = await cache.lookup(request(text), namespace: "t", policy: policy, directive: .normal) else { return }
            cache.store(answer(reply), for: fill, costUSD: 0)
        }
        // The query shares more words with the wrong entry: it is the nearest, and rejected.
        guard case .hit(let hit) = await cache.lookup(request("what does the `column` method return"), namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("the second candidate was not tried")
            return
        }
        #expect(hit.response.message?.text == "right")
    }

    @Test func entriesPersistedWithoutTheirTextAreNotServedVerified() async throws {
        let store = MemoryPersistence()
        let first = ResponseCache(embedder: BagOfWordsEmbedder(), persistence: store)
        let policy = CachePolicy(semantic: .init(threshold: 0.8))
        guard case .miss(let fill) = await first.lookup(request(), namespace: "t", policy: policy, directive: .normal) else { return }
        first.store(answer(), for: fill, costUSD: 0.5)
        try await first.flush()
        store.stripTexts()  // as written before verification existed
        let second = ResponseCache(embedder: BagOfWordsEmbedder(), persistence: store)
        try second.restore()
        let paraphrase = request("what is the capital of france")
        if case .miss(let miss) = await second.lookup(paraphrase, namespace: "t", policy: policy, directive: .normal) {
            #expect(miss.rejection == .unverifiable)
        } else {
            Issue.record("an unverifiable entry was served")
        }
        let cosineOnly = CachePolicy(semantic: .init(threshold: 0.8, verify: false))
        if case .hit = await second.lookup(paraphrase, namespace: "t", policy: cosineOnly, directive: .normal) {} else {
            Issue.record("without verification the old entry still serves")
        }
    }

    @Test func persistedEntriesComeBackAfterRestart() async throws {
        let clock = TestClock()
        let store = MemoryPersistence()
        let first = ResponseCache(embedder: BagOfWordsEmbedder(), persistence: store, now: { clock.now })
        let policy = CachePolicy(semantic: .init(threshold: 0.8))
        guard case .miss(let fill) = await first.lookup(request(), namespace: "t", policy: policy, directive: .normal) else { return }
        first.store(answer(), for: fill, costUSD: 0.5)
        try await first.flush()
        let second = ResponseCache(embedder: BagOfWordsEmbedder(), persistence: store, now: { clock.now })
        try second.restore()
        if case .hit = await second.lookup(request(), namespace: "t", policy: policy, directive: .normal) {} else { Issue.record("exact lost") }
        if case .hit(let hit) = await second.lookup(request("what is the capital of france"), namespace: "t", policy: policy, directive: .normal) {
            #expect(hit.kind == .semantic && hit.verified)  // the text came back with it
        } else {
            Issue.record("semantic index not rebuilt")
        }
    }
}

final class MemoryPersistence: CachePersistence, Sendable {
    private let records = Mutex<[String: CacheRecord]>([:])
    func save(_ batch: [CacheRecord]) throws { records.withLock { for record in batch { $0[record.key] = record } } }
    func remove(keys: [String]) throws { records.withLock { for key in keys { $0[key] = nil } } }
    func removeAll(namespace: String?) throws { records.withLock { $0 = $0.filter { namespace != nil && $0.value.namespace != namespace } } }
    func load(now: Date) throws -> [CacheRecord] { records.withLock { Array($0.values.filter { $0.expiresAt > now }) } }
    func stripTexts() { records.withLock { for key in $0.keys { $0[key]?.text = nil } } }
}
