import Foundation
import Gateway
import Governance
import Hummingbird
import SwitchyardCore

/// `/v1/switchyard/{keys,teams,spend,audit}`: virtual keys, teams, the spend report and the audit
/// log. Who may call which is decided once, in `EndpointPolicy`; the operations scope what they
/// return to the caller (a team admin sees its team only).
struct GovernanceRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        router.post("/v1/switchyard/keys") { request, context in
            await handle(request, caller: context.caller, created: true) { try await createKey($0) }
        }
        router.get("/v1/switchyard/keys") { request, context in await handle(request, caller: context.caller) { listKeys($0) } }
        router.get("/v1/switchyard/keys/{id}") { request, context in
            await handle(request, caller: context.caller) { try describeKey(context.parameters.get("id") ?? "", call: $0) }
        }
        router.patch("/v1/switchyard/keys/{id}") { request, context in
            await handle(request, caller: context.caller) { try await updateKey(context.parameters.get("id") ?? "", call: $0) }
        }
        router.delete("/v1/switchyard/keys/{id}") { request, context in
            await handle(request, caller: context.caller) { try await revokeKey(context.parameters.get("id") ?? "", call: $0) }
        }
        router.post("/v1/switchyard/teams") { request, context in
            await handle(request, caller: context.caller, created: true) { try await createTeam($0) }
        }
        router.get("/v1/switchyard/teams") { request, context in await handle(request, caller: context.caller) { listTeams($0) } }
        router.patch("/v1/switchyard/teams/{name}") { request, context in
            await handle(request, caller: context.caller) { try await updateTeam(context.parameters.get("name") ?? "", call: $0) }
        }
        router.get("/v1/switchyard/spend") { request, context in await spend(request, caller: context.caller) }
        router.get("/v1/switchyard/audit") { request, context in await handle(request, caller: context.caller) { try await audit($0) } }
    }

    typealias Call = CollectionsRoutes.Call

    private func handle(
        _ request: Request, caller: Caller, created: Bool = false, _ body: (Call) async throws -> JSONValue
    ) async -> Response {
        await JSONRoute.respond(request, caller: caller, maxBodyBytes: maxBodyBytes, status: created ? .created : .ok, body)
    }

    // MARK: Keys

    static let keyFields: Set<String> = [
        "name", "team", "role", "models", "tools", "groups", "collections", "budget", "rpm", "tpm", "tags", "expires_in_s",
    ]

    private func createKey(_ call: Call) async throws -> JSONValue {
        let body = try await call.body()
        try CollectionsRoutes.allowOnly(body, Self.keyFields)
        var request = Gateway.KeyRequest(name: try Self.name(body["name"], field: "name"))
        if let team = body["team"], team != .null { request.team = try Self.name(team, field: "team") }
        if let role = body["role"], role != .null { request.role = try Self.role(role) }
        request.models = try Self.globs(body["models"], field: "models")
        request.tools = try Self.globs(body["tools"], field: "tools")
        request.groups = try Self.globs(body["groups"], field: "groups") ?? []
        request.collectionWrite = try Self.collectionWrite(body["collections"]) ?? (request.role == .admin)
        if let budget = body["budget"], budget != .null { request.budget = try Budget.parse(budget, field: "budget") }
        request.rpm = try Self.limit(body["rpm"], field: "rpm")
        request.tpm = try Self.limit(body["tpm"], field: "tpm")
        request.tags = try Self.tags(body["tags"]) ?? [:]
        if let expires = body["expires_in_s"], expires != .null {
            request.expiresIn = .seconds(try expires.integer("expires_in_s", in: 1...Self.tenYears))
        }
        let (key, secret) = try await gateway.createKey(request, caller: call.caller)
        var object = describe(key, source: .api).objectValue ?? [:]
        object["key"] = .string(secret)
        return .object(object)
    }

    private func listKeys(_ call: Call) -> JSONValue {
        ["object": "list", "data": .array(gateway.listKeys(caller: call.caller).map { describe($0.key, source: $0.source) })]
    }

    private func describeKey(_ id: String, call: Call) throws -> JSONValue {
        guard let found = gateway.listKeys(caller: call.caller).first(where: { $0.key.id == id }) else {
            throw SwitchyardError(code: .notFound, message: "No key with id '\(id.quotedPrefix(80))'.", status: 404, param: "id")
        }
        return describe(found.key, source: found.source)
    }

    private func updateKey(_ id: String, call: Call) async throws -> JSONValue {
        let body = try await call.body()
        try CollectionsRoutes.allowOnly(body, Self.keyFields)
        var changes = Governor.KeyChanges()
        if let name = body["name"] { changes.name = try Self.name(name, field: "name") }
        if let team = body["team"] { changes.team = .some(team == .null ? nil : try Self.name(team, field: "team")) }
        if let role = body["role"] { changes.role = try Self.role(role) }
        if let models = body["models"] { changes.models = .some(try Self.globs(models, field: "models")) }
        if let tools = body["tools"] { changes.tools = .some(try Self.globs(tools, field: "tools")) }
        if let groups = body["groups"] { changes.groups = try Self.globs(groups, field: "groups") ?? [] }
        if let collections = body["collections"] { changes.collectionWrite = try Self.collectionWrite(collections) ?? false }
        if let budget = body["budget"] { changes.budget = .some(budget == .null ? nil : try Budget.parse(budget, field: "budget")) }
        if let rpm = body["rpm"] { changes.rpm = .some(try Self.limit(rpm, field: "rpm")) }
        if let tpm = body["tpm"] { changes.tpm = .some(try Self.limit(tpm, field: "tpm")) }
        if let tags = body["tags"] { changes.tags = try Self.tags(tags) ?? [:] }
        if let expires = body["expires_in_s"] {
            changes.expiresAt = .some(
                expires == .null ? nil : Date().addingTimeInterval(Double(try expires.integer("expires_in_s", in: 1...Self.tenYears))))
        }
        let key = try await gateway.updateKey(id, changes: changes, caller: call.caller)
        return describe(key, source: .api)
    }

    private func revokeKey(_ id: String, call: Call) async throws -> JSONValue {
        let key = try await gateway.revokeKey(id, caller: call.caller)
        var object = describe(key, source: .api).objectValue ?? [:]
        object["deleted"] = true
        return .object(object)
    }

    private func describe(_ key: StoredKey, source: Governor.Source) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(key.id), "object": "key", "name": .string(key.name), "prefix": .string(key.prefix),
            "role": .string(key.role.rawValue), "source": .string(source.rawValue),
            "groups": .array(key.groups.map { .string($0) }), "collections": .string(key.collectionWrite ? "write" : "read"),
            "tags": .object(key.tags.mapValues { .string($0) }), "revoked": .bool(key.revokedAt != nil),
            "team": key.team.map { .string($0) } ?? .null,
            "models": key.models.map { .array($0.map { .string($0) }) } ?? .null,
            "tools": key.tools.map { .array($0.map { .string($0) }) } ?? .null,
            "budget": key.budget?.json ?? .null,
            "rpm": key.rpm.map { .int(Int64($0)) } ?? .null, "tpm": key.tpm.map { .int(Int64($0)) } ?? .null,
            "expires_at": key.expiresAt.map { .int(Int64($0.timeIntervalSince1970.rounded())) } ?? .null,
            "revoked_at": key.revokedAt.map { .int(Int64($0.timeIntervalSince1970.rounded())) } ?? .null,
        ]
        if source == .api { object["created_at"] = .int(Int64(key.createdAt.timeIntervalSince1970.rounded())) }
        if let account = gateway.budgetAccount("key:" + key.id) { object["spend"] = Self.describe(account) }
        return .object(object)
    }

    // MARK: Teams

    private func createTeam(_ call: Call) async throws -> JSONValue {
        let body = try await call.body()
        try CollectionsRoutes.allowOnly(body, ["name", "budget", "rpm", "tpm"])
        var team = StoredTeam(name: try Self.name(body["name"], field: "name"))
        if let budget = body["budget"], budget != .null { team.budget = try Budget.parse(budget, field: "budget") }
        team.rpm = try Self.limit(body["rpm"], field: "rpm")
        team.tpm = try Self.limit(body["tpm"], field: "tpm")
        return describe(try await gateway.createTeam(team, caller: call.caller))
    }

    private func listTeams(_ call: Call) -> JSONValue {
        ["object": "list", "data": .array(gateway.listTeams(caller: call.caller).map(describe))]
    }

    private func updateTeam(_ name: String, call: Call) async throws -> JSONValue {
        let body = try await call.body()
        try CollectionsRoutes.allowOnly(body, ["budget", "rpm", "tpm"])
        var budget: Budget??
        var rpm: Int??
        var tpm: Int??
        if let value = body["budget"] { budget = .some(value == .null ? nil : try Budget.parse(value, field: "budget")) }
        if let value = body["rpm"] { rpm = .some(try Self.limit(value, field: "rpm")) }
        if let value = body["tpm"] { tpm = .some(try Self.limit(value, field: "tpm")) }
        return describe(try await gateway.updateTeam(name, budget: budget, rpm: rpm, tpm: tpm, caller: call.caller))
    }

    private func describe(_ team: StoredTeam) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(team.name), "object": "team", "name": .string(team.name), "budget": team.budget?.json ?? .null,
            "rpm": team.rpm.map { .int(Int64($0)) } ?? .null, "tpm": team.tpm.map { .int(Int64($0)) } ?? .null,
            "created_at": .int(Int64(team.createdAt.timeIntervalSince1970.rounded())),
        ]
        if let account = gateway.budgetAccount("team:" + team.name) { object["spend"] = Self.describe(account) }
        return .object(object)
    }

    /// A budget's current period: spent, reserved by requests in flight, and when the period began.
    static func describe(_ account: (spent: Double, reserved: Double, periodStart: Date)) -> JSONValue {
        ["spent_usd": .double(account.spent), "reserved_usd": .double(account.reserved), "period_start": .string(iso8601(account.periodStart))]
    }

    // MARK: Spend

    /// `GET /v1/switchyard/spend?group_by=…&since=…&until=…&format=json|csv`.
    private func spend(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let query = request.uri.queryParameters
            let groupText = query["group_by"].map(String.init) ?? "key"
            guard groupText.utf8.count <= 80, let grouping = SpendGrouping(groupText) else {
                throw SwitchyardError.invalidRequest(
                    "group_by must be one of \(SpendGrouping.names.joined(separator: ", ")).", param: "group_by")
            }
            let since = try query["since"].map { try Self.date(String($0), field: "since") }
            let until = try query["until"].map { try Self.date(String($0), field: "until") }
            let format = query["format"].map(String.init) ?? "json"
            guard ["json", "csv"].contains(format) else { throw SwitchyardError.invalidRequest("format must be json or csv.", param: "format") }
            let rows = try await gateway.spendReport(groupBy: grouping, since: since, until: until, caller: caller)
            if format == "csv" {
                var response = Response(
                    status: .ok,
                    headers: [.contentType: "text/csv; charset=utf-8", .switchyardRequestID: requestID, .cacheControl: "no-store"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: Self.csv(rows, grouping: grouping))))
                response.headers[.contentDisposition] = "attachment; filename=\"switchyard-spend-\(grouping.field).csv\""
                return response
            }
            var object: [String: JSONValue] = [
                "object": "list", "group_by": .string(groupText), "data": .array(rows.map { Self.row($0, grouping: grouping) }),
                "total_cost_usd": .double(rows.reduce(0) { $0 + $1.costUSD }),
            ]
            if let since { object["since"] = .string(Self.iso8601(since)) }
            if let until { object["until"] = .string(Self.iso8601(until)) }
            return try JSONBody.response(JSONValue.object(object), headers: [.switchyardRequestID: requestID, .cacheControl: "no-store"])
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    static func row(_ row: SpendRow, grouping: SpendGrouping) -> JSONValue {
        var object: [String: JSONValue] = [
            grouping.field: row.group.isEmpty ? .null : .string(row.group), "cost_usd": .double(row.costUSD),
            "requests": .int(Int64(row.requests)), "prompt_tokens": .int(Int64(row.promptTokens)),
            "completion_tokens": .int(Int64(row.completionTokens)),
        ]
        // Quality beside cost: per feedback metric, how much feedback the group's requests got and its mean.
        object["feedback"] = .object(row.feedback.mapValues(\.json))
        if case .tag(let name) = grouping { object["tag_name"] = .string(name) }
        if grouping == .key { object["name"] = row.name.map { .string($0) } ?? .null }
        return .object(object)
    }

    /// RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with `'`.
    static func csv(_ rows: [SpendRow], grouping: SpendGrouping) -> String {
        var lines = [[grouping.field] + (grouping == .key ? ["name"] : []) + ["cost_usd", "requests", "prompt_tokens", "completion_tokens"]]
        for row in rows {
            lines.append(
                [row.group] + (grouping == .key ? [row.name ?? ""] : [])
                    + [String(format: "%.10f", row.costUSD), String(row.requests), String(row.promptTokens), String(row.completionTokens)])
        }
        return lines.map { $0.map(cell).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    private static func cell(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+-@\t\r".contains(first), Double(text) == nil { text = "'" + text }
        guard text.contains(where: { ",\"\r\n".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: Audit

    private func audit(_ call: Call) async throws -> JSONValue {
        let limitText = call.request.uri.queryParameters["limit"].map(String.init)
        let limit = try limitText.map { text -> Int in
            guard text.utf8.count <= 8, let value = Int(text), (1...100_000).contains(value) else {
                throw SwitchyardError.invalidRequest("limit must be a whole number from 1 to 100000.", param: "limit")
            }
            return value
        } ?? 100
        let entries = try await gateway.auditEntries(caller: call.caller)
        let broken = AuditChain.verify(entries)
        var object: [String: JSONValue] = [
            "object": "list", "entries": .int(Int64(entries.count)), "verified": .bool(broken == nil),
            "data": .array(entries.suffix(limit).reversed().map(Self.describe)),
        ]
        if let broken { object["broken_at"] = ["sequence": .int(Int64(broken.sequence)), "reason": .string(broken.reason)] }
        return .object(object)
    }

    static func describe(_ entry: AuditEntry) -> JSONValue {
        [
            "sequence": .int(Int64(entry.sequence)), "at": .string(iso8601(entry.at)), "actor": .string(entry.actor),
            "action": .string(entry.action), "target": .string(entry.target), "details": entry.details,
            "prev_hash": .string(entry.previousHash), "hash": .string(entry.hash),
        ]
    }

    // MARK: Fields

    static let tenYears = 10 * 366 * 86_400

    /// A name: 1 to 128 printable characters.
    static func name(_ value: JSONValue?, field: String) throws -> String {
        guard let text = value?.stringValue, (1...128).contains(text.count),
            text.unicodeScalars.allSatisfy({ !CharacterSet.controlCharacters.contains($0) })
        else {
            throw SwitchyardError.invalidRequest("\(field) is required: 1 to 128 printable characters.", param: field)
        }
        return text
    }

    static func role(_ value: JSONValue) throws -> Role {
        guard let text = value.stringValue, let role = Role(rawValue: text) else {
            throw SwitchyardError.invalidRequest("role must be admin, team_admin or member.", param: "role")
        }
        return role
    }

    /// A list of names or globs (`gpt-4o*`); null for "no restriction".
    static func globs(_ value: JSONValue?, field: String) throws -> [String]? {
        guard let value, value != .null else { return nil }
        guard let items = value.arrayValue, items.count <= 1_000 else {
            throw SwitchyardError.invalidRequest("\(field) must be a list of names or globs (at most 1000).", param: field)
        }
        return try items.enumerated().map { index, item in
            guard let text = item.stringValue, (1...256).contains(text.utf8.count) else {
                throw SwitchyardError.invalidRequest("\(field)[\(index)] must be a name or glob of 1 to 256 bytes.", param: "\(field)[\(index)]")
            }
            return text
        }
    }

    static func collectionWrite(_ value: JSONValue?) throws -> Bool? {
        guard let value, value != .null else { return nil }
        switch value.stringValue {
        case "read": return false
        case "write": return true
        default: throw SwitchyardError.invalidRequest("collections must be \"read\" or \"write\".", param: "collections")
        }
    }

    static func limit(_ value: JSONValue?, field: String) throws -> Int? {
        guard let value, value != .null else { return nil }
        return try value.integer(field, in: 1...1_000_000_000)
    }

    static func tags(_ value: JSONValue?) throws -> [String: String]? {
        guard let value, value != .null else { return nil }
        guard let object = value.objectValue, object.count <= 64 else {
            throw SwitchyardError.invalidRequest("tags must be an object of at most 64 string values, like {\"project\": \"search\"}.", param: "tags")
        }
        var tags: [String: String] = [:]
        for (name, item) in object {
            guard (1...64).contains(name.utf8.count), name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                throw SwitchyardError.invalidRequest(
                    "tags names are 1 to 64 letters, digits, '_', '-' or '.'; '\(name.quotedPrefix(64))' is not.", param: "tags")
            }
            guard let text = item.stringValue, text.utf8.count <= 256 else {
                throw SwitchyardError.invalidRequest("tags.\(name) must be a string of at most 256 bytes.", param: "tags.\(name)")
            }
            tags[name] = text
        }
        return tags
    }

    /// An ISO 8601 time (`2026-12-01T00:00:00Z`, with or without fractional seconds) or a date (`2026-12-01`, UTC).
    static func date(_ text: String, field: String) throws -> Date {
        if text.utf8.count <= 40 {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withFullDate]
            if let date = formatter.date(from: text) { return date }
        }
        throw SwitchyardError.invalidRequest(
            "\(field) must be an ISO 8601 time like 2026-12-01T00:00:00Z or a date like 2026-12-01.", param: field)
    }

    static func iso8601(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
