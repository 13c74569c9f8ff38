import Foundation

/// What a key may do. `admin`: everything. `team_admin`: its team's keys, request log and spend.
/// `member`: use models, read the log and spend of its own requests.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    case admin
    case teamAdmin = "team_admin"
    case member
}

/// How long a budget's spend accumulates before it starts again (UTC calendar periods).
public enum BudgetPeriod: String, Sendable, Hashable, Codable, CaseIterable {
    case day, week, month, total

    /// The start of the period that contains `date` (weeks start on Monday; `total`: the epoch).
    public func start(containing date: Date) -> Date { interval(containing: date).start }

    /// The period that contains `date`, in UTC: its start, and the start of the next one (the far
    /// future for `total`).
    public func interval(containing date: Date) -> (start: Date, end: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        calendar.firstWeekday = 2
        let component: Calendar.Component
        switch self {
        case .day: component = .day
        case .week: component = .weekOfYear
        case .month: component = .month
        case .total: return (Date(timeIntervalSince1970: 0), .distantFuture)
        }
        if let interval = calendar.dateInterval(of: component, for: date) { return (interval.start, interval.end) }
        let day = calendar.startOfDay(for: date)
        return (day, day.addingTimeInterval(86_400))
    }
}

/// A spending cap in US dollars over a period. `hard` refuses what would pass it; `soft` lets it
/// through and flags it (log, record, metrics).
public struct Budget: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable { case hard, soft }

    public var usd: Double
    public var period: BudgetPeriod
    public var mode: Mode

    public init(usd: Double, period: BudgetPeriod = .month, mode: Mode = .hard) {
        self.usd = usd
        self.period = period
        self.mode = mode
    }

    /// Reads `{"usd": 5.0, "period": "month", "mode": "hard"}`; errors name `field`.
    public static func parse(_ value: JSONValue, field: String) throws -> Budget {
        guard let object = value.objectValue else {
            throw SwitchyardError.invalidRequest("\(field) must be an object like {\"usd\": 5.0, \"period\": \"month\", \"mode\": \"hard\"}.", param: field)
        }
        for key in object.keys.sorted() where !["usd", "period", "mode"].contains(key) {
            throw SwitchyardError.invalidRequest("Unknown field '\(field).\(key.quotedPrefix(60))'; allowed: mode, period, usd.", param: "\(field).\(key.quotedPrefix(60))")
        }
        guard let usdValue = object["usd"] else { throw SwitchyardError.invalidRequest("\(field).usd is required.", param: "\(field).usd") }
        var budget = Budget(usd: try usdValue.number("\(field).usd", in: 0...1_000_000_000))
        if let period = object["period"] {
            guard let text = period.stringValue, let parsed = BudgetPeriod(rawValue: text) else {
                throw SwitchyardError.invalidRequest("\(field).period must be day, week, month or total.", param: "\(field).period")
            }
            budget.period = parsed
        }
        if let mode = object["mode"] {
            guard let text = mode.stringValue, let parsed = Mode(rawValue: text) else {
                throw SwitchyardError.invalidRequest("\(field).mode must be hard or soft.", param: "\(field).mode")
            }
            budget.mode = parsed
        }
        return budget
    }

    public var json: JSONValue { ["usd": .double(usd), "period": .string(period.rawValue), "mode": .string(mode.rawValue)] }
}

/// A team: a budget and rate limits shared by its keys.
public struct StoredTeam: Sendable, Hashable, Codable {
    public var name: String
    public var budget: Budget?
    public var rpm: Int?
    public var tpm: Int?
    public var createdAt: Date

    public init(name: String, budget: Budget? = nil, rpm: Int? = nil, tpm: Int? = nil, createdAt: Date = Date()) {
        self.name = name
        self.budget = budget
        self.rpm = rpm
        self.tpm = tpm
        self.createdAt = createdAt
    }
}

/// A virtual key as stored: never the secret, only its SHA-256 and a short prefix for display.
public struct StoredKey: Sendable, Hashable, Codable {
    /// `key_` + 16 hex digits of the secret's SHA-256 (the same for config keys).
    public var id: String
    /// Lowercase hex SHA-256 of the secret.
    public var hash: String
    /// The first characters of the secret, to recognise it (`sk-sy-Ab3d…`).
    public var prefix: String
    public var name: String
    public var team: String?
    public var role: Role
    public var models: [String]?
    public var tools: [String]?
    public var groups: [String]
    /// May create, delete and change collections and their documents.
    public var collectionWrite: Bool
    public var budget: Budget?
    public var rpm: Int?
    public var tpm: Int?
    /// Free-form labels for cost attribution (`{"project": "search"}`).
    public var tags: [String: String]
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var createdAt: Date

    public init(
        id: String, hash: String, prefix: String, name: String, team: String? = nil, role: Role = .member, models: [String]? = nil,
        tools: [String]? = nil, groups: [String] = [], collectionWrite: Bool = false, budget: Budget? = nil, rpm: Int? = nil,
        tpm: Int? = nil, tags: [String: String] = [:], expiresAt: Date? = nil, revokedAt: Date? = nil, createdAt: Date = Date()
    ) {
        self.id = id
        self.hash = hash
        self.prefix = prefix
        self.name = name
        self.team = team
        self.role = role
        self.models = models
        self.tools = tools
        self.groups = groups
        self.collectionWrite = collectionWrite
        self.budget = budget
        self.rpm = rpm
        self.tpm = tpm
        self.tags = tags
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.createdAt = createdAt
    }
}

/// One administrative action in the hash-chained audit log.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var sequence: Int
    public var at: Date
    /// Who did it: `key_…` id and name.
    public var actor: String
    public var action: String
    public var target: String
    /// The details exactly as stored and hashed (JSON text).
    public var detailsJSON: String
    public var previousHash: String
    public var hash: String

    public var details: JSONValue { JSONValue.parse(Data(detailsJSON.utf8)) ?? .string(detailsJSON) }

    public init(sequence: Int, at: Date, actor: String, action: String, target: String, detailsJSON: String, previousHash: String, hash: String) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.detailsJSON = detailsJSON
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// How the spend report groups the ledger: by key (its id), team, model (the configured model that
/// answered), route (what the request asked for: a model, route or group), provider, the request's
/// `user`, UTC day, or one of the keys' tags (`tag:project`).
public enum SpendGrouping: Sendable, Hashable {
    case key, team, model, route, provider, user, day
    case tag(String)

    public static let names = ["key", "team", "model", "route", "provider", "user", "day", "tag:<name>"]

    public init?(_ text: String) {
        switch text {
        case "key": self = .key
        case "team": self = .team
        case "model": self = .model
        case "route": self = .route
        case "provider": self = .provider
        case "user": self = .user
        case "day": self = .day
        default:
            guard text.hasPrefix("tag:") else { return nil }
            let name = String(text.dropFirst(4))
            guard (1...64).contains(name.utf8.count), name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else { return nil }
            self = .tag(name)
        }
    }

    /// The field each report row names its group in (`key`, `team`, …, `tag`).
    public var field: String {
        switch self {
        case .key: return "key"
        case .team: return "team"
        case .model: return "model"
        case .route: return "route"
        case .provider: return "provider"
        case .user: return "user"
        case .day: return "day"
        case .tag: return "tag"
        }
    }
}

/// One row of a spend report.
public struct SpendRow: Sendable, Hashable {
    public var group: String
    /// The key's name, when grouped by key.
    public var name: String?
    public var costUSD: Double
    public var requests: Int
    public var promptTokens: Int
    public var completionTokens: Int
    /// Feedback on the group's requests (and their episodes) per metric: how much, and its mean.
    public var feedback: [String: FeedbackStat] = [:]

    public init(group: String, name: String? = nil, costUSD: Double, requests: Int, promptTokens: Int, completionTokens: Int) {
        self.group = group
        self.name = name
        self.costUSD = costUSD
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

/// Which rows a spend report or a request-log read may see.
public enum LedgerScope: Sendable, Hashable {
    case all
    case team(String)
    case key(String)
}

/// Where keys, teams and the audit chain live (SQLite now; PostgreSQL later, where budgets and limits
/// must hold across replicas). Spend is read from the request log, whose every line carries the key,
/// team, user and tags. Calls block: the Governance layer makes them off the request path.
public protocol GovernancePersistence: Sendable {
    func loadKeys() throws -> [StoredKey]
    func saveKey(_ key: StoredKey) throws
    func loadTeams() throws -> [StoredTeam]
    func saveTeam(_ team: StoredTeam) throws
    /// Appends an entry, chaining its hash to the last one, in one transaction.
    func appendAudit(at: Date, actor: String, action: String, target: String, details: JSONValue) throws -> AuditEntry
    func auditEntries() throws -> [AuditEntry]
    /// Cost so far, since `since`, of a key (`key_…`) or a team, from the request log.
    func spend(key: String?, team: String?, since: Date) throws -> Double
}

/// The audit chain's hash: SHA-256 over the previous hash and the entry's fields, so that editing,
/// removing or reordering any row breaks every hash after it.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    /// The bytes hashed for an entry (hashed in Governance: Core has no crypto). Times count at
    /// millisecond precision, the precision stored.
    public static func material(sequence: Int, at: Date, actor: String, action: String, target: String, detailsJSON: String, previousHash: String) -> Data {
        let millis = Int64((at.timeIntervalSince1970 * 1000).rounded())
        let fields = [previousHash, String(sequence), String(millis), actor, action, target, detailsJSON]
        return Data(fields.joined(separator: "\u{1F}").utf8)
    }
}
