import Crypto
import Foundation
import SwitchyardCore
import Synchronization

/// The gateway's governor: keys, teams, budgets, rate limits and the audit chain. Everything a request needs — the key
/// lookup, its role, a rate-limit admission and a budget reservation — is answered from memory
/// under one lock; changes are written to the persistence (keys, teams, audit) off the request path,
/// and spend reaches the database through the request log.
public final class Governor: Sendable {
    /// Where a key comes from: the YAML config (its secret is in the config) or the keys API (only a hash is kept).
    public enum Source: String, Sendable, Hashable { case config, api }

    struct RateCells: Sendable {
        var requests = RateCell()
        var tokens = RateCell()
    }

    struct State: Sendable {
        var byHash: [String: StoredKey] = [:]
        var byID: [String: StoredKey] = [:]
        var configIDs: Set<String> = []
        var teams: [String: StoredTeam] = [:]
        var rates: [String: RateCells] = [:]
        var budgets = BudgetBook()
    }

    private let state = Mutex(State())
    /// Budgets and limits shared with other replicas (PostgreSQL); nil: this process's book is the truth.
    private let shared = Mutex<SharedHandle?>(nil)
    public let persistence: (any GovernancePersistence)?
    private let now: @Sendable () -> Date
    private let clock: @Sendable () -> ContinuousClock.Instant
    /// The clock's reading at start: rate cells count seconds from here (never negative).
    private let origin: ContinuousClock.Instant

    public init(
        configKeys: [StoredKey], persistence: (any GovernancePersistence)?, now: @escaping @Sendable () -> Date = { Date() },
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.persistence = persistence
        self.now = now
        self.clock = clock
        origin = clock()
        let at = now()
        state.withLock { state in
            for key in configKeys {
                state.byHash[key.hash] = key
                state.byID[key.id] = key
                state.configIDs.insert(key.id)
                // Spent so far is read from the ledger by `load()`; without persistence it starts at 0.
                if let budget = key.budget { state.budgets.open("key:" + key.id, budget: budget, spent: 0, now: at) }
            }
        }
    }

    // MARK: Secrets

    /// Lowercase hex SHA-256 of a secret: all that is ever stored of a key.
    public static func hash(_ secret: String) -> String { hexString(SHA256.hash(data: Data(secret.utf8))) }

    /// A key's public id: `key_` and the first 16 hex digits of its hash.
    public static func keyID(hash: String) -> String { "key_" + hash.prefix(16) }

    /// A new secret: `sk-sy-` and 40 base-62 characters (238 bits).
    public static func newSecret() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var generator = SystemRandomNumberGenerator()
        return "sk-sy-" + String((0..<40).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    /// The display prefix of a secret (`sk-sy-Ab3d…`).
    public static func prefix(of secret: String) -> String { String(secret.prefix(secret.hasPrefix("sk-sy-") ? 10 : 4)) + "…" }

    /// A config key as the keyring holds it.
    public static func configKey(secret: String, name: String, role: Role, models: [String]?, tools: [String]?, groups: [String],
                                 collectionWrite: Bool?, budget: Budget?, rpm: Int?, tpm: Int?, tags: [String: String]) -> StoredKey {
        let hash = hash(secret)
        return StoredKey(
            id: keyID(hash: hash), hash: hash, prefix: prefix(of: secret), name: name, role: role, models: models, tools: tools,
            groups: groups, collectionWrite: collectionWrite ?? (role == .admin), budget: budget, rpm: rpm, tpm: tpm, tags: tags,
            createdAt: Date(timeIntervalSince1970: 0))
    }

    // MARK: Loading

    /// Reads the stored keys and teams, and what every budget has spent in its current period.
    public func load() throws {
        guard let persistence else { return }
        let keys = try persistence.loadKeys()
        let teams = try persistence.loadTeams()
        let at = now()
        var spent: [String: Double] = [:]
        for key in keys where key.budget != nil && key.revokedAt == nil {
            spent["key:" + key.id] = try persistence.spend(key: key.id, team: nil, since: key.budget!.period.start(containing: at))
        }
        for team in teams where team.budget != nil {
            spent["team:" + team.name] = try persistence.spend(key: nil, team: team.name, since: team.budget!.period.start(containing: at))
        }
        let configBudgets = state.withLock { state in state.byID.values.filter { state.configIDs.contains($0.id) && $0.budget != nil } }
        for key in configBudgets {
            spent["key:" + key.id] = try persistence.spend(key: key.id, team: nil, since: key.budget!.period.start(containing: at))
        }
        state.withLock { state in
            for key in keys where !state.configIDs.contains(key.id) {
                state.byHash[key.hash] = key
                state.byID[key.id] = key
                if let budget = key.budget { state.budgets.open("key:" + key.id, budget: budget, spent: spent["key:" + key.id] ?? 0, now: at) }
            }
            for team in teams {
                state.teams[team.name] = team
                if let budget = team.budget { state.budgets.open("team:" + team.name, budget: budget, spent: spent["team:" + team.name] ?? 0, now: at) }
            }
            for key in configBudgets {
                state.budgets.open("key:" + key.id, budget: key.budget!, spent: spent["key:" + key.id] ?? 0, now: at)
            }
        }
    }

    // MARK: Replicas

    struct SharedHandle: Sendable {
        var limits: any SharedLimits
        /// How many replicas are alive, for the share of a rate limit this one applies alone when
        /// the database cannot be reached.
        var replicas: @Sendable () -> Int
    }

    /// Makes budgets and rate limits count in `limits` (shared by every replica) from now on.
    public func share(_ limits: any SharedLimits, replicasAlive: @escaping @Sendable () -> Int) {
        shared.withLock { $0 = SharedHandle(limits: limits, replicas: replicasAlive) }
    }

    public var isShared: Bool { shared.withLock { $0 != nil } }

    /// A key as another replica stored it (created, changed, revoked): replaces this replica's copy.
    /// Config keys are not touched (each replica reads them from its own config).
    public func applyStored(key: StoredKey) {
        let at = now()
        state.withLock { state in
            guard !state.configIDs.contains(key.id) else { return }
            let before = state.byID[key.id]
            // Revocation is final: a copy read before it (a resync racing the revoking write) never undoes it.
            if before?.revokedAt != nil, key.revokedAt == nil { return }
            if let before, before.hash != key.hash { state.byHash[before.hash] = nil }
            state.byHash[key.hash] = key
            state.byID[key.id] = key
            if before?.budget != key.budget {
                if let budget = key.budget, key.revokedAt == nil { state.budgets.open("key:" + key.id, budget: budget, spent: 0, now: at) } else { state.budgets.close("key:" + key.id) }
            }
        }
    }

    /// A team as another replica stored it.
    public func applyStored(team: StoredTeam) {
        let at = now()
        state.withLock { state in
            let before = state.teams[team.name]
            state.teams[team.name] = team
            if before?.budget != team.budget {
                if let budget = team.budget { state.budgets.open("team:" + team.name, budget: budget, spent: 0, now: at) } else { state.budgets.close("team:" + team.name) }
            }
        }
    }

    /// The safety net under change notifications: every stored key and team, as the database has them.
    public func resync(keys: [StoredKey], teams: [StoredTeam]) {
        for key in keys { applyStored(key: key) }
        for team in teams { applyStored(team: team) }
    }

    // MARK: Authentication

    public enum AuthenticationFailure: Error, Sendable, Hashable {
        case unknown
        case revoked(name: String)
        case expired(name: String)
    }

    /// True when any key exists (config or API): then every request needs one.
    public var hasKeys: Bool { state.withLock { !$0.byHash.isEmpty } }

    /// The key a presented secret belongs to: a hash lookup in memory.
    public func authenticate(_ secret: String) -> Result<(StoredKey, Source), AuthenticationFailure> {
        authenticate(hash: Self.hash(secret))
    }

    /// `authenticate` for a secret whose `hash(_:)` the caller has already.
    public func authenticate(hash: String) -> Result<(StoredKey, Source), AuthenticationFailure> {
        let found = state.withLock { state in state.byHash[hash].map { ($0, state.configIDs.contains($0.id) ? Source.config : .api) } }
        guard let (key, source) = found else { return .failure(.unknown) }
        if key.revokedAt != nil { return .failure(.revoked(name: key.name)) }
        if let expires = key.expiresAt, expires <= now() { return .failure(.expired(name: key.name)) }
        return .success((key, source))
    }

    public func key(id: String) -> (StoredKey, Source)? {
        state.withLock { state in state.byID[id].map { ($0, state.configIDs.contains($0.id) ? .config : .api) } }
    }

    public func team(named name: String) -> StoredTeam? { state.withLock { $0.teams[name] } }

    // MARK: Rate limits

    /// The outcome of a rate-limit admission, with what the response headers say (the tighter of
    /// the key's and the team's limits).
    public struct Admission: Sendable, Hashable {
        public var requests: RateCell.Status?
        public var tokens: RateCell.Status?
        public init(requests: RateCell.Status? = nil, tokens: RateCell.Status? = nil) {
            self.requests = requests
            self.tokens = tokens
        }
    }

    public struct RateLimited: Error, Sendable {
        public var retryAfterSeconds: Double
        public var what: String
        public var status: RateCell.Status
    }

    private func limits(for key: StoredKey, teams: [String: StoredTeam]) -> [(subject: String, rpm: Int?, tpm: Int?)] {
        var result: [(String, Int?, Int?)] = []
        if key.rpm != nil || key.tpm != nil { result.append(("key:" + key.id, key.rpm, key.tpm)) }
        if let name = key.team, let team = teams[name], team.rpm != nil || team.tpm != nil { result.append(("team:" + name, team.rpm, team.tpm)) }
        return result
    }

    private var seconds: Double {
        let elapsed = clock() - origin
        return max(0, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Admits one request of `tokens` (its prompt plus its output limit, as OpenAI counts TPM) under the
    /// key's and its team's limits, all or none. Shared (replicas on PostgreSQL): one database round
    /// trip, and only for keys with limits; when the database cannot be reached, this replica applies
    /// its share of each limit (limit ÷ replicas alive) on its own.
    public func admit(_ key: StoredKey, tokens estimatedTokens: Int) async throws -> Admission {
        if let handle = shared.withLock({ handle in handle }) {
            let limits = state.withLock { state in self.limits(for: key, teams: state.teams) }
            if limits.isEmpty { return Admission() }
            var cells: [SharedRateCell] = []
            for (subject, rpm, tpm) in limits {
                if let rpm { cells.append(SharedRateCell(subject: subject, kind: "requests", limit: max(rpm, 1), weight: 1)) }
                if let tpm { cells.append(SharedRateCell(subject: subject, kind: "tokens", limit: max(tpm, 1), weight: min(max(estimatedTokens, 1), tpm))) }
            }
            do {
                let result = try await handle.limits.admit(cells)
                if let refused = result.refusedIndex, refused < cells.count, refused < result.statuses.count {
                    let cell = cells[refused]
                    let status = result.statuses[refused]
                    throw RateLimited(
                        retryAfterSeconds: status.retryAfterSeconds,
                        what: "\(cell.limit) \(cell.kind) per minute (\(cell.subject.hasPrefix("team:") ? "team" : "key"))", status: status)
                }
                var admission = Admission()
                for (cell, status) in zip(cells, result.statuses) {
                    if cell.kind == "requests" {
                        if admission.requests == nil || status.remaining < admission.requests!.remaining { admission.requests = status }
                    } else if admission.tokens == nil || status.remaining < admission.tokens!.remaining { admission.tokens = status }
                }
                return admission
            } catch let limited as RateLimited {
                throw limited
            } catch {
                return try admitLocally(key, tokens: estimatedTokens, share: max(1, handle.replicas()))
            }
        }
        return try admitLocally(key, tokens: estimatedTokens, share: 1)
    }

    /// `admit` without waiting, for the gateway's fast path: nil when the answer needs the shared
    /// database (a key with limits on replicas); otherwise the same in-memory admission or refusal.
    public func admitNow(_ key: StoredKey, tokens estimatedTokens: Int) throws -> Admission? {
        if shared.withLock({ handle in handle }) != nil {
            let limited = state.withLock { state in !self.limits(for: key, teams: state.teams).isEmpty }
            return limited ? nil : Admission()
        }
        return try admitLocally(key, tokens: estimatedTokens, share: 1)
    }

    /// The in-memory GCRA: the whole truth for one process; a replica's share (`limit / share`) when
    /// the shared database cannot be reached.
    private func admitLocally(_ key: StoredKey, tokens estimatedTokens: Int, share: Int) throws -> Admission {
        let at = seconds
        return try state.withLock { state in
            var limits = limits(for: key, teams: state.teams)
            if limits.isEmpty { return Admission() }
            if share > 1 { limits = limits.map { ($0.subject, $0.rpm.map { max(1, $0 / share) }, $0.tpm.map { max(1, $0 / share) }) } }
            var trial = state.rates
            var admission = Admission()
            for (subject, rpm, tpm) in limits {
                var cells = trial[subject] ?? RateCells()
                if let rpm {
                    let (admitted, status) = cells.requests.admit(1, limit: rpm, now: at)
                    guard admitted else {
                        throw RateLimited(retryAfterSeconds: status.retryAfterSeconds, what: "\(rpm) requests per minute (\(subject.hasPrefix("team:") ? "team" : "key"))", status: status)
                    }
                    if admission.requests == nil || status.remaining < admission.requests!.remaining { admission.requests = status }
                }
                if let tpm {
                    let weight = min(max(estimatedTokens, 1), tpm)
                    let (admitted, status) = cells.tokens.admit(weight, limit: tpm, now: at)
                    guard admitted else {
                        throw RateLimited(retryAfterSeconds: status.retryAfterSeconds, what: "\(tpm) tokens per minute (\(subject.hasPrefix("team:") ? "team" : "key"))", status: status)
                    }
                    if admission.tokens == nil || status.remaining < admission.tokens!.remaining { admission.tokens = status }
                }
                trial[subject] = cells
            }
            state.rates = trial
            return admission
        }
    }

    /// What a subject's (`key:…`, `team:…`) request limit says now, without counting anything.
    public func rateStatus(subject: String, rpm: Int) -> RateCell.Status? {
        let at = seconds
        return state.withLock { $0.rates[subject]?.requests.status(limit: rpm, now: at) }
    }

    // MARK: Budgets

    /// A budget reservation to settle once the request's cost is known.
    public struct Reservation: Sendable {
        public var usd: Double
        var subjects: [String]
        /// Soft budgets this request passes (let through, flagged).
        public var softOverruns: [String]
        /// Shared budgets: the database's holds, and the accounts they are on.
        var holds: [Int64] = []
        var accounts: [SharedBudgetAccount] = []
        public static let none = Reservation(usd: 0, subjects: [], softOverruns: [])
    }

    /// The shared budget state cannot be read: budgets fail closed.
    public struct BudgetUnavailable: Error, Sendable {
        public var subject: String
    }

    public struct BudgetExceeded: Error, Sendable {
        public var subject: String
        public var budget: Budget
        public var available: Double
    }

    /// Reserves `usd` (the request's worst case) on the key's and its team's budgets, or throws.
    /// Shared: atomic in the database (one round trip, only for keys with budgets); when it cannot
    /// be reached, refused (`BudgetUnavailable`): a hard budget is never spent blind.
    public func reserve(_ key: StoredKey, usd: Double) async throws -> Reservation {
        let at = now()
        if let handle = shared.withLock({ handle in handle }) {
            let accounts: [SharedBudgetAccount] = state.withLock { state in
                var accounts: [SharedBudgetAccount] = []
                if let account = state.budgets.account("key:" + key.id) {
                    accounts.append(SharedBudgetAccount(subject: "key:" + key.id, budget: account.budget, periodStart: account.budget.period.start(containing: at)))
                }
                if let team = key.team, let account = state.budgets.account("team:" + team) {
                    accounts.append(SharedBudgetAccount(subject: "team:" + team, budget: account.budget, periodStart: account.budget.period.start(containing: at)))
                }
                return accounts
            }
            guard !accounts.isEmpty else { return .none }
            let result: SharedReservation
            do {
                result = try await handle.limits.reserve(usd, on: accounts)
            } catch {
                throw BudgetUnavailable(subject: accounts[0].subject)
            }
            state.withLock { state in
                for (index, account) in accounts.enumerated() where index < result.spent.count && index < result.held.count {
                    state.budgets.observe(account.subject, spent: result.spent[index], reserved: result.held[index], now: at)
                }
            }
            if let (index, available) = result.refused, index < accounts.count {
                throw BudgetExceeded(subject: accounts[index].subject, budget: accounts[index].budget, available: available)
            }
            return Reservation(
                usd: usd, subjects: accounts.map(\.subject), softOverruns: result.softOverruns.compactMap { $0 < accounts.count ? accounts[$0].subject : nil },
                holds: result.holds, accounts: accounts)
        }
        return try reserveLocally(key, usd: usd, at: at)
    }

    /// The in-memory reservation: the whole truth for one process.
    private func reserveLocally(_ key: StoredKey, usd: Double, at: Date) throws -> Reservation {
        try state.withLock { state in
            var subjects: [String] = []
            if state.budgets.account("key:" + key.id) != nil { subjects.append("key:" + key.id) }
            if let team = key.team, state.budgets.account("team:" + team) != nil { subjects.append("team:" + team) }
            guard !subjects.isEmpty else { return .none }
            var soft: [String] = []
            for verdict in state.budgets.reserve(usd, on: subjects, now: at) {
                switch verdict {
                case .reserved: break
                case .overSoft(let subject, _): soft.append(subject)
                case .refused(let subject, let budget, let available): throw BudgetExceeded(subject: subject, budget: budget, available: available)
                }
            }
            return Reservation(usd: usd, subjects: subjects, softOverruns: soft)
        }
    }

    /// `reserve` without waiting, for the gateway's fast path: nil when the budget lives in the shared
    /// database; otherwise the same in-memory reservation or refusal.
    public func reserveNow(_ key: StoredKey, usd: Double) throws -> Reservation? {
        if shared.withLock({ handle in handle != nil }) {
            let budgeted = state.withLock { state in
                state.budgets.account("key:" + key.id) != nil || key.team.map { state.budgets.account("team:" + $0) != nil } == true
            }
            return budgeted ? nil : Reservation.none
        }
        return try reserveLocally(key, usd: usd, at: now())
    }

    public func settle(_ reservation: Reservation, actualUSD: Double) {
        guard !reservation.subjects.isEmpty else { return }
        if !reservation.holds.isEmpty, let handle = shared.withLock({ handle in handle }) {
            handle.limits.settle(holds: reservation.holds, actualUSD: actualUSD, on: reservation.accounts)
            return
        }
        let at = now()
        state.withLock { $0.budgets.settle(reserved: reservation.usd, actual: actualUSD, on: reservation.subjects, now: at) }
    }

    /// Spent and reserved in the current period of a key's (`key:…`) or team's (`team:…`) budget.
    /// Every budget's account (`key:ID`, `team:NAME`), for the metrics.
    public func budgetAccounts() -> [String: BudgetBook.Account] { state.withLock { $0.budgets.accounts } }

    public func account(_ subject: String) -> BudgetBook.Account? { state.withLock { $0.budgets.account(subject) } }

    // MARK: Administration

    /// What a key may be changed in (nil: unchanged; `clear*`: removed).
    public struct KeyChanges: Sendable {
        public var name: String?
        public var team: String??
        public var role: Role?
        public var models: [String]??
        public var tools: [String]??
        public var groups: [String]?
        public var collectionWrite: Bool?
        public var budget: Budget??
        public var rpm: Int??
        public var tpm: Int??
        public var tags: [String: String]?
        public var expiresAt: Date??
        public init() {}
    }

    /// Creates a key; returns it and its secret (the only time the secret exists outside the client).
    public func createKey(_ template: StoredKey, actor: String) async throws -> (StoredKey, String) {
        let secret = Self.newSecret()
        let hash = Self.hash(secret)
        var key = template
        key.hash = hash
        key.id = Self.keyID(hash: hash)
        key.prefix = Self.prefix(of: secret)
        key.createdAt = now()
        if let name = key.team, team(named: name) == nil {
            throw SwitchyardError(code: .notFound, message: "No team named '\(name.quotedPrefix(80))'; create it first (POST /v1/switchyard/teams).", status: 404, param: "team")
        }
        let stored = key
        try await write { try $0.saveKey(stored) }
        let at = now()
        state.withLock { state in
            state.byHash[stored.hash] = stored
            state.byID[stored.id] = stored
            if let budget = stored.budget { state.budgets.open("key:" + stored.id, budget: budget, spent: 0, now: at) }
        }
        try await audit(actor: actor, action: "key.create", target: key.id, details: Self.describe(key))
        return (key, secret)
    }

    /// Changes an API key (config keys change in the config).
    public func updateKey(_ id: String, _ changes: KeyChanges, actor: String) async throws -> StoredKey {
        guard let (current, source) = key(id: id) else {
            throw SwitchyardError(code: .notFound, message: "No key with id '\(id.quotedPrefix(80))'.", status: 404, param: "id")
        }
        guard source == .api else {
            throw SwitchyardError(code: .invalidRequest, message: "The key '\(current.name)' is defined in the config file; change it there.", status: 409, param: "id")
        }
        var key = current
        if let name = changes.name { key.name = name }
        if let team = changes.team {
            if let team, self.team(named: team) == nil {
                throw SwitchyardError(code: .notFound, message: "No team named '\(team.quotedPrefix(80))'.", status: 404, param: "team")
            }
            key.team = team
        }
        if let role = changes.role { key.role = role }
        if let models = changes.models { key.models = models }
        if let tools = changes.tools { key.tools = tools }
        if let groups = changes.groups { key.groups = groups }
        if let write = changes.collectionWrite { key.collectionWrite = write }
        if let budget = changes.budget { key.budget = budget }
        if let rpm = changes.rpm { key.rpm = rpm }
        if let tpm = changes.tpm { key.tpm = tpm }
        if let tags = changes.tags { key.tags = tags }
        if let expires = changes.expiresAt { key.expiresAt = expires }
        try await replace(key, budgetChanged: changes.budget != nil)
        try await audit(actor: actor, action: "key.update", target: key.id, details: Self.describe(key))
        return key
    }

    /// Revokes a key at once; it stays in the store for the spend history.
    public func revokeKey(_ id: String, actor: String) async throws -> StoredKey {
        guard let (current, source) = key(id: id) else {
            throw SwitchyardError(code: .notFound, message: "No key with id '\(id.quotedPrefix(80))'.", status: 404, param: "id")
        }
        guard source == .api else {
            throw SwitchyardError(code: .invalidRequest, message: "The key '\(current.name)' is defined in the config file; remove it there.", status: 409, param: "id")
        }
        var key = current
        if key.revokedAt == nil { key.revokedAt = now() }
        let revoked = key
        state.withLock { $0.byHash[revoked.hash] = revoked; $0.byID[revoked.id] = revoked }  // refused from now on
        try await write { try $0.saveKey(revoked) }
        try await audit(actor: actor, action: "key.revoke", target: key.id, details: ["name": .string(key.name)])
        return key
    }

    private func replace(_ key: StoredKey, budgetChanged: Bool) async throws {
        try await write { try $0.saveKey(key) }
        var spent = 0.0
        if budgetChanged, let budget = key.budget, let persistence {
            spent = try await BlockingWork.run { try persistence.spend(key: key.id, team: nil, since: budget.period.start(containing: Date())) }
        }
        let at = now()
        state.withLock { state in
            state.byHash[key.hash] = key
            state.byID[key.id] = key
            if budgetChanged {
                if let budget = key.budget { state.budgets.open("key:" + key.id, budget: budget, spent: spent, now: at) } else { state.budgets.close("key:" + key.id) }
            }
        }
    }

    /// Every key (API and config), newest first, with where it comes from.
    public func keys() -> [(StoredKey, Source)] {
        state.withLock { state in
            state.byID.values.map { ($0, state.configIDs.contains($0.id) ? Source.config : .api) }.sorted { $0.0.createdAt > $1.0.createdAt }
        }
    }

    public func createTeam(_ team: StoredTeam, actor: String) async throws -> StoredTeam {
        guard self.team(named: team.name) == nil else {
            throw SwitchyardError(code: .invalidRequest, message: "A team named '\(team.name.quotedPrefix(80))' already exists.", status: 409, param: "name")
        }
        var team = team
        team.createdAt = now()
        let stored = team
        try await write { try $0.saveTeam(stored) }
        let at = now()
        state.withLock { state in
            state.teams[stored.name] = stored
            if let budget = stored.budget { state.budgets.open("team:" + stored.name, budget: budget, spent: 0, now: at) }
        }
        try await audit(actor: actor, action: "team.create", target: team.name, details: Self.describe(team))
        return team
    }

    public func updateTeam(_ name: String, budget: Budget??, rpm: Int??, tpm: Int??, actor: String) async throws -> StoredTeam {
        guard var team = self.team(named: name) else {
            throw SwitchyardError(code: .notFound, message: "No team named '\(name.quotedPrefix(80))'.", status: 404, param: "name")
        }
        if let budget { team.budget = budget }
        if let rpm { team.rpm = rpm }
        if let tpm { team.tpm = tpm }
        let stored = team
        try await write { try $0.saveTeam(stored) }
        var spent = 0.0
        if budget != nil, let newBudget = team.budget, let persistence {
            spent = try await BlockingWork.run { try persistence.spend(key: nil, team: name, since: newBudget.period.start(containing: Date())) }
        }
        let at = now()
        state.withLock { state in
            state.teams[name] = stored
            if budget != nil {
                if let newBudget = stored.budget { state.budgets.open("team:" + name, budget: newBudget, spent: spent, now: at) } else { state.budgets.close("team:" + name) }
            }
        }
        try await audit(actor: actor, action: "team.update", target: name, details: Self.describe(team))
        return team
    }

    public func teams() -> [StoredTeam] { state.withLock { $0.teams.values.sorted { $0.name < $1.name } } }

    // MARK: Audit

    /// Appends an administrative action to the hash-chained audit log (a no-op without persistence).
    @discardableResult
    public func audit(actor: String, action: String, target: String, details: JSONValue = [:]) async throws -> AuditEntry? {
        guard let persistence else { return nil }
        let at = now()
        return try await BlockingWork.run { try persistence.appendAudit(at: at, actor: actor, action: action, target: target, details: details) }
    }

    public func auditEntries() async throws -> [AuditEntry] {
        guard let persistence else { return [] }
        return try await BlockingWork.run { try persistence.auditEntries() }
    }

    private func write(_ body: @escaping @Sendable (any GovernancePersistence) throws -> Void) async throws {
        guard let persistence else { return }
        try await BlockingWork.run { try body(persistence) }
    }

    // MARK: Descriptions

    public static func describe(_ key: StoredKey) -> JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(key.name), "role": .string(key.role.rawValue), "groups": .array(key.groups.map { .string($0) }),
            "collection_write": .bool(key.collectionWrite),
        ]
        if let team = key.team { object["team"] = .string(team) }
        if let models = key.models { object["models"] = .array(models.map { .string($0) }) }
        if let tools = key.tools { object["tools"] = .array(tools.map { .string($0) }) }
        if let budget = key.budget { object["budget"] = budget.json }
        if let rpm = key.rpm { object["rpm"] = .int(Int64(rpm)) }
        if let tpm = key.tpm { object["tpm"] = .int(Int64(tpm)) }
        if !key.tags.isEmpty { object["tags"] = .object(key.tags.mapValues { .string($0) }) }
        if let expires = key.expiresAt { object["expires_at"] = .double(expires.timeIntervalSince1970) }
        return .object(object)
    }

    public static func describe(_ team: StoredTeam) -> JSONValue {
        var object: [String: JSONValue] = ["name": .string(team.name)]
        if let budget = team.budget { object["budget"] = budget.json }
        if let rpm = team.rpm { object["rpm"] = .int(Int64(rpm)) }
        if let tpm = team.tpm { object["tpm"] = .int(Int64(tpm)) }
        return .object(object)
    }
}
