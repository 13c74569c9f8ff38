import Foundation

/// Which request-log rows a page or an overview covers, besides the caller's `LedgerScope`.
/// Built from validated query values at the HTTP edge; every field narrows.
public struct RequestLogFilter: Sendable, Hashable {
    /// Failed means an error status or an error recorded (a stream that broke after its head).
    public enum Outcome: Sendable, Hashable {
        case succeeded
        case failed
        case status(Int)
    }

    /// The model, route or group asked for, or the model that answered.
    public var model: String?
    public var outcome: Outcome?
    /// A key's id (`key_…`) or its name.
    public var key: String?
    public var team: String?
    public var since: Date?
    public var until: Date?

    public init(
        model: String? = nil, outcome: Outcome? = nil, key: String? = nil, team: String? = nil, since: Date? = nil, until: Date? = nil
    ) {
        self.model = model
        self.outcome = outcome
        self.key = key
        self.team = team
        self.since = since
        self.until = until
    }
}

/// Where a page of the log (newest first) starts: after the row with this time and id. Its text form
/// is what the API hands out as `next_before` and takes back as `before`.
public struct RequestLogCursor: Sendable, Hashable {
    public var createdAt: Double
    public var id: String

    public init(createdAt: Double, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// Parses `TIME:ID`; nil for anything else (the edge answers a 400 naming the field).
    public init?(text: String) {
        guard text.utf8.count <= 128, let colon = text.firstIndex(of: ":") else { return nil }
        guard let time = Double(text[..<colon]), time.isFinite, time >= 0 else { return nil }
        let id = String(text[text.index(after: colon)...])
        guard !id.isEmpty, id.utf8.count <= 64 else { return nil }
        self.init(createdAt: time, id: id)
    }

    /// `TIME:ID`, with the time written so that it reads back as the same `Double`.
    public var text: String { "\(createdAt):\(id)" }
}

/// One page of the log: at most the limit asked for, the cursor of the next page, and how many rows
/// match in all (counted up to `RequestLogPage.countCap`, so a count never scans a huge log).
public struct RequestLogPage: Sendable {
    public static let countCap = 10_000

    public var records: [RequestRecord]
    public var next: RequestLogCursor?
    public var total: Int
    /// False when more than `countCap` rows match (`total` is then the cap).
    public var totalIsExact: Bool

    public init(records: [RequestRecord], next: RequestLogCursor?, total: Int, totalIsExact: Bool) {
        self.records = records
        self.next = next
        self.total = total
        self.totalIsExact = totalIsExact
    }
}

/// Request-log figures over a set of rows: a time bucket, a model, or a whole window.
public struct RequestLogStats: Sendable, Hashable {
    public var requests = 0
    public var errors = 0
    /// Nearest-rank percentiles of the latency clients saw; nil without rows.
    public var p50LatencyMs: Double?
    public var p95LatencyMs: Double?
    public var costUSD = 0.0
    public var savedUSD = 0.0
    public var cacheHits = 0
    public var promptTokens = 0
    public var completionTokens = 0

    public init() {}
}

/// The overview the dashboard charts: the window cut into equal buckets (every bucket present, empty
/// ones too), the window's totals, and the same figures per model that answered.
public struct RequestLogOverview: Sendable {
    public var since: Date
    public var until: Date
    public var bucketSeconds: Int
    public var buckets: [(start: Date, stats: RequestLogStats)]
    public var totals: RequestLogStats
    public var models: [(model: String, stats: RequestLogStats)]

    public init(
        since: Date, until: Date, bucketSeconds: Int, buckets: [(start: Date, stats: RequestLogStats)], totals: RequestLogStats,
        models: [(model: String, stats: RequestLogStats)]
    ) {
        self.since = since
        self.until = until
        self.bucketSeconds = bucketSeconds
        self.buckets = buckets
        self.totals = totals
        self.models = models
    }
}
