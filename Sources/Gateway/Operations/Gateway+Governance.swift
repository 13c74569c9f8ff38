import Foundation
import Governance
import SwitchyardCore

public typealias RateLimitAdmission = Governor.Admission
public typealias RateLimitStatus = RateCell.Status

/// What an endpoint needs of its caller. The HTTP edge checks one permission per endpoint, in one
/// place; operations below also scope what they return to the caller.
public enum Permission: String, Sendable, CaseIterable {
    case useModels, readRequestLog, readCollections, writeCollections, readCache, clearCache, manageKeys, readTeams, manageTeams, readSpend, readAudit
    /// Feedback on the requests the key may read (its scope is checked by the operation).
    case giveFeedback
    /// Experiment reports: admins only (they cover every key's traffic).
    case readExperiments
    /// `GET /metrics`: admins (and the configured metrics token), as the metrics cover every key's traffic.
    case readMetrics
    /// Stored eval reports: admins and team admins read them (they belong to no team and hold no
    /// one key's traffic, only a suite's answers); only admins upload and delete them.
    case readEvalReports, publishEvalReports
}

extension Caller {
    /// `admin`: everything. `team_admin`: models, its team's keys, log and spend. `member`: models,
    /// its own log and spend. Collection writes need the key's `collections: write` (admins have it).
    public func may(_ permission: Permission) -> Bool {
        if role == .admin { return true }
        switch permission {
        case .useModels, .readRequestLog, .readCollections, .readSpend, .giveFeedback: return true
        case .writeCollections: return collectionWrite
        case .manageKeys, .readTeams, .readEvalReports: return role == .teamAdmin
        case .readCache, .clearCache, .manageTeams, .readAudit, .readExperiments, .readMetrics, .publishEvalReports: return false
        }
    }

    /// `key_…` and name, for the audit log.
    var actor: String { "\(id) (\(name))" }
}

extension Gateway {
    /// Loads stored keys, teams and each budget's spend so far (at start).
    public func restoreGovernance() throws { try governor.load() }

    // MARK: Admission

    /// Admits a request under the caller's (and its team's) rate limits, once: the returned context
    /// carries the admission, and the pipeline does not count the request again (tool-loop turns).
    /// Refused: a 429 with `retry-after`, code `rate_limit_exceeded`.
    public func admit(_ request: ChatRequest, context: CallContext) async throws -> CallContext {
        try await admit(tokens: TokenEstimator.estimate(request) + (request.outputTokenLimit ?? 256), context: context)
    }

    /// Admits one request of `tokens` (prompt and expected output) under the caller's limits.
    func admit(tokens: Int, context: CallContext) async throws -> CallContext {
        guard context.admission == nil else { return context }
        var admitted = context
        guard let key = context.caller.key else {
            admitted.admission = RateLimitAdmission()
            return admitted
        }
        do {
            admitted.admission = try await governor.admit(key, tokens: tokens)
        } catch let limited as Governor.RateLimited {
            let wait = max(1, Int(limited.retryAfterSeconds.rounded(.up)))
            var error = SwitchyardError(
                code: .rateLimited,
                message: "Rate limit reached: \(limited.what). Try again in \(wait) s.", status: 429, retryAfter: String(wait))
            let status = limited.what.contains("requests") ? RateLimitAdmission(requests: limited.status) : RateLimitAdmission(tokens: limited.status)
            for (name, value) in Self.rateLimitHeaders(status) { error.headers[name] = value }
            throw error
        }
        return admitted
    }

    /// Admits an embeddings request: one request, its input's estimated tokens.
    public func admit(_ request: EmbeddingRequest, context: CallContext) async throws -> CallContext {
        guard context.admission == nil else { return context }
        guard request.tokenInput == nil else { return try await admit(tokens: request.estimatedTokens + 1, context: context) }
        let chat = ChatRequest(model: request.model, messages: request.input.map { .user($0) }, maxTokens: 1)
        return try await admit(chat, context: context)
    }

    /// OpenAI's rate-limit headers for an admission: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`.
    public static func rateLimitHeaders(_ admission: RateLimitAdmission) -> [(String, String)] {
        var fields: [(String, String)] = []
        for (kind, status) in [("requests", admission.requests), ("tokens", admission.tokens)] {
            guard let status else { continue }
            fields.append(("x-ratelimit-limit-\(kind)", String(status.limit)))
            fields.append(("x-ratelimit-remaining-\(kind)", String(status.remaining)))
            fields.append(("x-ratelimit-reset-\(kind)", RateLimitDuration.format(status.resetSeconds)))
        }
        return fields
    }

    /// The most a request can cost on any deployment of its plan: its prompt at one token per byte
    /// (no tokenizer makes more; a model's whole context window when it has images), its output at
    /// `max_tokens`, else the model's `max_output_tokens`, else the rest of its context window, else
    /// 4,096 tokens — priced without cache discounts. A budget reserves this before the call.
    func worstCaseCost(_ request: ChatRequest, models: [ModelSpec]) -> Double {
        var bytes = 0
        var images = false
        for message in request.messages {
            bytes += 8 + message.text.utf8.count
            for call in message.toolCalls ?? [] { bytes += call.function.name.utf8.count + call.function.arguments.utf8.count }
            if message.content?.parts.contains(where: { if case .text = $0 { return false } else { return true } }) == true { images = true }
        }
        for tool in request.tools ?? [] {
            bytes += tool.function.name.utf8.count + (tool.function.description ?? "").utf8.count
                + (tool.function.parameters?.jsonString() ?? "").utf8.count
        }
        var worst = 0.0
        for model in models {
            var prompt = bytes
            if let window = model.contextWindow { prompt = images ? window : min(prompt, window) } else if images { prompt = max(prompt, 100_000) }
            let output = request.outputTokenLimit ?? model.maxOutputTokens ?? model.contextWindow.map { max(1, $0 - prompt) } ?? 4096
            let price = model.price
            let cost = (Double(prompt) * max(price.input, price.cacheWrite ?? 0) + Double(output) * price.output) / 1_000_000
            worst = max(worst, cost)
        }
        return worst
    }

    /// Reserves a request's worst case on the caller's budgets (nothing to do without one).
    func reserveBudget(_ request: ChatRequest, steps: [ModelSpec], context: CallContext) async throws -> Governor.Reservation {
        guard let key = context.caller.key else { return .none }
        do {
            return try await governor.reserve(key, usd: worstCaseCost(request, models: steps))
        } catch is Governor.BudgetUnavailable {
            throw Self.budgetUnavailable
        } catch let exceeded as Governor.BudgetExceeded {
            let whose = exceeded.subject.hasPrefix("team:") ? "team '\(exceeded.subject.dropFirst(5))'" : "key '\(context.caller.name)'"
            throw SwitchyardError(
                code: .budgetExceeded,
                message: String(
                    format: "The budget of %@ ($%.4f per %@) has $%.6f left, less than this request may cost. %@",
                    whose, exceeded.budget.usd, exceeded.budget.period.rawValue, exceeded.available,
                    exceeded.budget.period == .total ? "It is a total budget: it does not reset." : "It resets at the start of the next \(exceeded.budget.period.rawValue) (UTC)."),
                status: 429)
        }
    }

    /// A shared budget whose state cannot be read (the database is down): refused rather than spent blind.
    static var budgetUnavailable: SwitchyardError {
        SwitchyardError(
            code: .storageUnavailable,
            message: "This key's budget is kept in the shared database, which cannot be reached now; the request was not sent. Try again shortly.",
            status: 503, retryAfter: "1")
    }

    // MARK: Keys

    /// What `POST /v1/switchyard/keys` asks for.
    public struct KeyRequest: Sendable {
        public var name: String
        public var team: String?
        public var role: Role = .member
        public var models: [String]?
        public var tools: [String]?
        public var groups: [String] = []
        public var collectionWrite = false
        public var budget: Budget?
        public var rpm: Int?
        public var tpm: Int?
        public var tags: [String: String] = [:]
        public var expiresIn: Duration?
        public init(name: String) { self.name = name }
    }

    /// Creates a key; the secret is in the result and nowhere else. A team admin creates keys of its
    /// own team only, and no admins. Keys can only be created on a gateway with an admin key (with no
    /// keys at all, the first virtual key would lock out everyone else).
    public func createKey(_ request: KeyRequest, caller: Caller) async throws -> (StoredKey, secret: String) {
        guard requiresAuth else {
            throw SwitchyardError(
                code: .permission, message: "Keys can be created once the config has an admin key (auth.keys with role: admin).", status: 403)
        }
        var team = request.team
        if caller.role == .teamAdmin {
            guard request.role != .admin else { throw SwitchyardError(code: .permission, message: "A team admin cannot create admin keys.", status: 403, param: "role") }
            if team == nil { team = caller.team }
            guard team == caller.team, team != nil else {
                throw SwitchyardError(code: .permission, message: "A team admin creates keys of its own team only.", status: 403, param: "team")
            }
        }
        let template = StoredKey(
            id: "", hash: "", prefix: "", name: request.name, team: team, role: request.role, models: request.models, tools: request.tools,
            groups: request.groups, collectionWrite: request.collectionWrite, budget: request.budget, rpm: request.rpm, tpm: request.tpm,
            tags: request.tags, expiresAt: request.expiresIn.map { Date().addingTimeInterval(Double($0.components.seconds)) })
        let (key, secret) = try await governor.createKey(template, actor: caller.actor)
        return (key, secret)
    }

    /// The keys a caller may manage: all for an admin, its team's for a team admin.
    public func listKeys(caller: Caller) -> [(key: StoredKey, source: Governor.Source)] {
        governor.keys().filter { visible($0.0, to: caller) }.map { ($0.0, $0.1) }
    }

    private func visible(_ key: StoredKey, to caller: Caller) -> Bool {
        caller.role == .admin || (caller.role == .teamAdmin && key.team != nil && key.team == caller.team)
    }

    public func updateKey(_ id: String, changes: Governor.KeyChanges, caller: Caller) async throws -> StoredKey {
        guard let (key, _) = governor.key(id: id), visible(key, to: caller) else {
            throw SwitchyardError(code: .notFound, message: "No key with id '\(id.quotedPrefix(80))'.", status: 404, param: "id")
        }
        if caller.role == .teamAdmin {
            if changes.role == .admin { throw SwitchyardError(code: .permission, message: "A team admin cannot make admin keys.", status: 403, param: "role") }
            if let team = changes.team, team != caller.team {
                throw SwitchyardError(code: .permission, message: "A team admin cannot move keys to another team.", status: 403, param: "team")
            }
        }
        return try await governor.updateKey(id, changes, actor: caller.actor)
    }

    public func revokeKey(_ id: String, caller: Caller) async throws -> StoredKey {
        guard let (key, _) = governor.key(id: id), visible(key, to: caller) else {
            throw SwitchyardError(code: .notFound, message: "No key with id '\(id.quotedPrefix(80))'.", status: 404, param: "id")
        }
        return try await governor.revokeKey(id, actor: caller.actor)
    }

    /// Spent and reserved this period against a key's (`key:…`) or team's (`team:…`) budget.
    public func budgetAccount(_ subject: String) -> (spent: Double, reserved: Double, periodStart: Date)? {
        governor.account(subject).map { ($0.spent, $0.reserved, $0.periodStart) }
    }

    // MARK: Teams

    public func createTeam(_ team: StoredTeam, caller: Caller) async throws -> StoredTeam {
        try await governor.createTeam(team, actor: caller.actor)
    }

    public func listTeams(caller: Caller) -> [StoredTeam] {
        governor.teams().filter { caller.role == .admin || $0.name == caller.team }
    }

    public func updateTeam(_ name: String, budget: Budget??, rpm: Int??, tpm: Int??, caller: Caller) async throws -> StoredTeam {
        try await governor.updateTeam(name, budget: budget, rpm: rpm, tpm: tpm, actor: caller.actor)
    }

    // MARK: Spend and audit

    /// The spend report over the request log (flushed first), within what the caller may see.
    public func spendReport(groupBy: SpendGrouping, since: Date?, until: Date?, caller: Caller) async throws -> [SpendRow] {
        guard let store = requestLog.store else { return [] }
        await requestLog.flushForRead()
        return try await store.spendReport(groupBy: groupBy, since: since, until: until, scope: caller.ledgerScope)
    }

    public func auditEntries(caller: Caller) async throws -> [AuditEntry] { try await governor.auditEntries() }

    /// Records an administrative action of the caller in the audit chain.
    func audit(_ caller: Caller, _ action: String, target: String, details: JSONValue = [:]) async {
        do {
            try await governor.audit(actor: caller.actor, action: action, target: target, details: details)
        } catch {
            logger.error("could not append to the audit log", metadata: ["switchyard.action": .string(action), "error": "\(error)"])
        }
    }
}

extension Gateway {
    /// Admission as the chat pipeline does it, without the upstream call: authenticate the key,
    /// admit under its rate limits, reserve the worst case on its budgets, settle to `costUSD`.
    /// `switchyard bench governance` times this against a gateway without keys.
    public func admitAndSettle(_ request: ChatRequest, presentedKey: String?, costUSD: Double) async throws {
        let context = try await admit(request, context: CallContext(caller: authenticate(presentedKey)))
        let steps = models[request.model].map { [$0] } ?? []
        governor.settle(try await reserveBudget(request, steps: steps, context: context), actualUSD: costUSD)
    }
}
