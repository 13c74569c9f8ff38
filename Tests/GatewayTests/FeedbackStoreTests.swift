import Foundation
import Routing
import Storage
import SwitchyardCore
import Testing

@testable import Gateway

/// Feedback in SQLite: the newest per target and metric counts, episodes reach their requests,
/// spend rows and experiment reports carry quality, and `--from-log` gets its training rows.
@Suite("Feedback store")
struct FeedbackStoreTests {
    static func record(
        _ id: String, at seconds: Double, model: String = "m", served: String? = nil, team: String? = nil, key: String? = nil,
        episode: String? = nil, prompt: String? = nil, variant: String? = nil, status: Int = 200, cost: Double = 0.001,
        latency: Double = 100, tags: [String: String]? = nil
    ) -> RequestRecord {
        var record = RequestRecord(
            id: id, createdAt: Date(timeIntervalSince1970: 1_795_000_000 + seconds), caller: "test", clientProtocol: "openai",
            endpoint: "chat", model: model, costUSD: cost, latencyMs: latency, status: status)
        record.servedModel = served
        record.team = team
        record.keyID = key
        record.episodeID = episode
        record.prompt = prompt
        record.variant = variant
        record.tags = tags
        if status >= 400 { record.error = "failed" }
        return record
    }

    static func feedback(
        _ id: String, request: String? = nil, episode: String? = nil, metric: String = "helpful", _ value: FeedbackValue, at seconds: Double
    ) -> Feedback {
        Feedback(
            id: id, requestID: request, episodeID: episode, metric: metric, value: value,
            createdAt: Date(timeIntervalSince1970: 1_795_000_000 + seconds))
    }

    static func store(_ records: [RequestRecord]) async throws -> RequestLogStore {
        let store = try RequestLogStore(path: ":memory:")
        try await store.insert { records }
        return store
    }

    @Test func newColumnsRoundTripAndFeedbackAttachesToRequestsAndEpisodes() async throws {
        let store = try await Self.store([
            Self.record("req_1", at: 1, episode: "ep-1", prompt: "hello", variant: "exp/a"),
            Self.record("req_2", at: 2, episode: "ep-1"),
            Self.record("req_3", at: 3),
        ])
        let one = try #require(try await store.record(id: "req_1"))
        #expect(one.episodeID == "ep-1" && one.prompt == "hello" && one.variant == "exp/a")
        try await store.insertFeedback(Self.feedback("fb_1", request: "req_1", .bool(true), at: 10))
        try await store.insertFeedback(Self.feedback("fb_2", episode: "ep-1", metric: "rating", .number(4), at: 11))
        let exists = try await store.episodeExists("ep-1")
        let unknown = try await store.episodeExists("ep-2")
        let hidden = try await store.episodeExists("ep-1", scope: .team("other"))
        #expect(exists && !unknown && !hidden)
        let two = try #require(try await store.record(id: "req_2"))
        let three = try #require(try await store.record(id: "req_3"))
        let attached = try await store.feedback(for: [one, two, three])
        #expect(attached["req_1"]?.map(\.id) == ["fb_1", "fb_2"])
        #expect(attached["req_2"]?.map(\.id) == ["fb_2"])
        #expect(attached["req_3"] == nil)
        #expect(attached["req_2"]?.first?.value == .number(4) && attached["req_1"]?.first?.value == .bool(true))
    }

    /// Two answers per group; feedback given twice on one request counts only the newest.
    @Test func spendRowsCarryTheNewestFeedbackPerMetric() async throws {
        let store = try await Self.store([
            Self.record("req_a1", at: 1, served: "small", team: "t1"), Self.record("req_a2", at: 2, served: "small", team: "t1"),
            Self.record("req_b1", at: 3, served: "large", team: "t2", episode: "ep"), Self.record("req_b2", at: 4, served: "large", team: "t2", episode: "ep"),
        ])
        try await store.insertFeedback(Self.feedback("fb_1", request: "req_a1", .bool(false), at: 10))
        try await store.insertFeedback(Self.feedback("fb_2", request: "req_a1", .bool(true), at: 11))  // newest wins
        try await store.insertFeedback(Self.feedback("fb_3", request: "req_a2", .bool(false), at: 12))
        try await store.insertFeedback(Self.feedback("fb_4", episode: "ep", .bool(true), at: 13))  // one episode, two requests: counted once
        try await store.insertFeedback(Self.feedback("fb_5", request: "req_b1", metric: "rating", .number(3), at: 14))
        let rows = try await store.spendReport(groupBy: .model, since: nil, until: nil, scope: .all)
        let small = try #require(rows.first { $0.group == "small" })
        let large = try #require(rows.first { $0.group == "large" })
        #expect(small.feedback == ["helpful": FeedbackStat(count: 2, mean: 0.5)])
        #expect(large.feedback == ["helpful": FeedbackStat(count: 1, mean: 1), "rating": FeedbackStat(count: 1, mean: 3)])
        // Scoped: a team sees only its own rows' feedback.
        let scoped = try await store.spendReport(groupBy: .team, since: nil, until: nil, scope: .team("t1"))
        #expect(scoped.map(\.group) == ["t1"] && scoped[0].feedback["helpful"]?.count == 2)
    }

    @Test func trainingRowsTakeStoredPromptsAndScaleValues() async throws {
        let store = try await Self.store([
            Self.record("req_1", at: 1, served: "small", team: "t1", prompt: "q1"),
            Self.record("req_2", at: 2, model: "big", team: "t1", prompt: "q1", tags: ["source": "suite-a"]),
            Self.record("req_3", at: 3, served: "small", episode: "ep-9", prompt: "q2"),
            Self.record("req_4", at: 4, served: "small", prompt: nil),  // no prompt kept
            Self.record("req_5", at: 5, served: "small", prompt: "q3", status: 500),  // failed: nothing to judge
        ])
        try await store.insertFeedback(Self.feedback("fb_1", request: "req_1", metric: "rating", .number(1), at: 10))
        try await store.insertFeedback(Self.feedback("fb_2", request: "req_2", metric: "rating", .number(2), at: 11))
        try await store.insertFeedback(Self.feedback("fb_3", request: "req_2", metric: "rating", .number(5), at: 12))
        try await store.insertFeedback(Self.feedback("fb_4", episode: "ep-9", metric: "rating", .number(3), at: 13))
        try await store.insertFeedback(Self.feedback("fb_5", request: "req_4", metric: "rating", .number(5), at: 14))
        try await store.insertFeedback(Self.feedback("fb_6", request: "req_5", metric: "rating", .number(5), at: 15))
        try await store.insertFeedback(Self.feedback("fb_7", request: "req_1", metric: "other", .bool(true), at: 16))
        let rows = try await store.outcomeObservations(metric: "rating")
        #expect(rows.map(\.requestID) == ["req_1", "req_2", "req_3"])
        // 1-5 ratings scaled over the metric's newest values (1 … 5): 1 → 0, 5 → 1, 3 → 0.5.
        #expect(rows.map(\.value) == [0, 1, 0.5])
        #expect(rows.map(\.model) == ["small", "big", "small"])
        #expect(rows.map(\.source) == ["t1", "suite-a", "episode:ep-9"])
        #expect(try await store.outcomeObservations(metric: "missing").isEmpty)
    }

    @Test func experimentObservationsAndTheReport() async throws {
        var records: [RequestRecord] = []
        for index in 0..<8 {
            records.append(Self.record("req_c\(index)", at: Double(index), variant: "reply/control", cost: 0.002, latency: Double(100 + index)))
            records.append(Self.record("req_t\(index)", at: Double(index), variant: "reply/cheap", status: index == 0 ? 502 : 200, cost: 0.001, latency: 50))
        }
        records.append(Self.record("req_other", at: 20, variant: "replyx/control"))  // another experiment, sharing a prefix
        let store = try await Self.store(records)
        for index in 0..<8 {
            try await store.insertFeedback(Self.feedback("fc\(index)", request: "req_c\(index)", .bool(index < 6), at: 30))
            try await store.insertFeedback(Self.feedback("ft\(index)", request: "req_t\(index)", .bool(index < 2), at: 30))
        }
        try await store.insertFeedback(Self.feedback("fr", request: "req_c0", metric: "stars", .number(4), at: 31))
        let observations = try await store.experimentObservations("reply")
        #expect(observations.requests["control"]?.count == 8 && observations.requests["cheap"]?.count == 8)
        #expect(observations.requests["cheap"]?.filter(\.failed).count == 1)
        let experiment = Experiment(name: "reply", variants: [.init(name: "control", target: "a"), .init(name: "cheap", target: "b")])
        let report = ExperimentReport.make(experiment, observations: observations)
        let cheap = try #require(report["variants"]?.arrayValue?.first { $0["name"] == "cheap" })
        #expect(cheap["requests"] == 8 && cheap["error_rate"] == .double(0.125))
        #expect(cheap["cost_usd"]?["total"]?.doubleValue.map { abs($0 - 0.008) < 1e-12 } == true)
        #expect(cheap["feedback"]?["helpful"]?["count"] == 8 && cheap["feedback"]?["helpful"]?["mean"] == .double(0.25))
        let control = try #require(report["variants"]?.arrayValue?.first { $0["name"] == "control" })
        #expect(control["latency_ms"]?["p50"] == .double(103.5) && control["control"] == true)
        let comparisons = report["comparisons"]?.arrayValue ?? []
        let helpful = try #require(comparisons.first { $0["metric"] == "helpful" })
        // 2/8 against 6/8, pooled z-test: z = -2.0, p = 0.0455 (2·(1 − Φ(2))).
        #expect(helpful["test"] == "two-proportion z")
        #expect(helpful["statistic"]?.doubleValue.map { abs($0 + 2) < 1e-12 } == true)
        #expect(helpful["p_value"]?.doubleValue.map { abs($0 - 0.04550026389635842) < 1e-12 } == true)
        #expect(helpful["significant"] == true)
        let stars = try #require(comparisons.first { $0["metric"] == "stars" })
        #expect(stars["p_value"] == .null && (stars["note"]?.stringValue ?? "").contains("not enough data"))
    }
}
