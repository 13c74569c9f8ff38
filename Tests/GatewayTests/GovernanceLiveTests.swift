import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

import Gateway
import Governance
import Server
import Storage
import SwitchyardCore
import SwitchyardTesting

/// Issue 18 through the live server: keys, roles, budgets, rate limits, spend and audit, on a real
/// SQLite file in front of the mock upstream.
@Suite("Governance through the live gateway")
struct GovernanceLiveTests {
    static let adminKey = "sk-admin-live"

    /// A gateway on a temporary SQLite file, with one admin key in the config; `advance` moves the
    /// wall clock the governor sees (expiry) forward.
    struct Setup: Sendable {
        var client: any TestClientProtocol
        var mock: MockUpstream
        var gateway: Gateway
        var database: String
        var advance: @Sendable (TimeInterval) -> Void
    }

    /// - Parameter testing: the client; AsyncHTTPClient by default (see below). Tests that send a body the server
    ///   refuses before reading it all use `.live`: AsyncHTTPClient keeps uploading into the closed request.
    static func run(
        extra: String = "", testing: TestingSetup = .ahc(.http), _ body: @escaping @Sendable (Setup) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-gov-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("gateway.sqlite").path
        let mock = try await MockUpstream.start(MockUpstreamConfiguration(openAIKey: "sk-upstream-secret-openai"))
        let clients = Gateway.makeUpstreamClients()
        let offset = Mutex<TimeInterval>(0)
        let base = ContinuousClock.now
        let start = Date()
        do {
            let yaml = """
                server: {max_body_bytes: 65536}
                storage: {sqlite: "\(database)", flush_ms: 50}
                providers:
                  - {name: up-openai, kind: openai, base_url: "\(mock.baseURL)/v1", api_key: sk-upstream-secret-openai}
                models:
                  - {name: m-openai, provider: up-openai, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}}
                  - {name: m-pricey, provider: up-openai, upstream: gpt-4o, price: {input: 2.5, output: 10.0}, max_output_tokens: 4096}
                  - {name: e-openai, provider: up-openai, upstream: text-embedding-3-small, type: embedding, price: {input: 0.02}}
                cache: {exact: true, ttl_s: 600}
                auth: {keys: [{key: \(adminKey), name: admin, role: admin}]}
                \(extra)
                """
            let configuration = try ConfigurationLoader.parse(yaml, source: "<test>")
            let gateway = Gateway(
                configuration: configuration, upstreamClients: clients,
                requestLog: RequestLog(store: try RequestLogStore(path: database)),
                // The governor's clocks move only when a test advances them, so a burst of requests
                // meets the same instant however slowly a busy machine serves it.
                clock: { base.advanced(by: .milliseconds(Int64(offset.withLock { $0 } * 1000))) },
                governancePersistence: try GovernanceStore(path: database),
                now: { start.addingTimeInterval(offset.withLock { $0 }) })
            try gateway.restoreGovernance()
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0)
            // AsyncHTTPClient, a connection per request in flight: "forty at once" are at once. The live client
            // pipelines everything on one connection, which the server answers one by one, and its 20-s clock
            // starts when a request is queued: on a slow machine the fortieth ran out behind the other 39.
            try await app.test(testing) { client in
                try await body(
                    Setup(
                        client: client, mock: mock, gateway: gateway, database: database,
                        advance: { seconds in offset.withLock { $0 += seconds } }))
            }
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }

    // MARK: Authorization

    struct Keys: Sendable {
        var teamAdmin: (id: String, secret: String)
        var member: (id: String, secret: String)
        var writer: (id: String, secret: String)
        var outsider: (id: String, secret: String)
        var revoked: String
        var expired: String
    }

    /// Teams `search` and `other`; a team admin, a member and a collection writer in `search`, a
    /// member of `other`, a revoked key and an expired one.
    static func makeKeys(_ setup: Setup) async throws -> Keys {
        let client = setup.client
        for team in ["search", "other"] {
            let created = try await client.send(.post, "/v1/switchyard/teams", json: #"{"name": "\#(team)"}"#, key: adminKey)
            #expect(created.status == .created, "\(created.text)")
        }
        func key(_ body: String) async throws -> (id: String, secret: String) {
            let created = try await client.send(.post, "/v1/switchyard/keys", json: body, key: adminKey)
            #expect(created.status == .created, "\(created.text)")
            return (created.json?["id"]?.stringValue ?? "", created.json?["key"]?.stringValue ?? "")
        }
        let keys = Keys(
            teamAdmin: try await key(#"{"name": "lead", "team": "search", "role": "team_admin"}"#),
            member: try await key(#"{"name": "alice", "team": "search", "role": "member"}"#),
            writer: try await key(#"{"name": "indexer", "team": "search", "collections": "write"}"#),
            outsider: try await key(#"{"name": "olga", "team": "other"}"#),
            revoked: try await key(#"{"name": "gone"}"#).secret,
            expired: try await key(#"{"name": "brief", "expires_in_s": 60}"#).secret)
        let revokedID = "key_" + Self.sha256Prefix(keys.revoked)
        let revocation = try await client.send(.delete, "/v1/switchyard/keys/\(revokedID)", key: adminKey)
        #expect(revocation.status == .ok, "\(revocation.text)")
        setup.advance(120)  // `brief` has expired
        return keys
    }

    static func sha256Prefix(_ secret: String) -> String {
        String(Governance.Governor.hash(secret).prefix(16))
    }

    /// Every governed endpoint × admin, team admin, member, collection writer, no key, a revoked key
    /// and an expired key.
    @Test func theAuthorizationMatrix() async throws {
        try await Self.run { setup in
            let keys = try await Self.makeKeys(setup)
            let client = setup.client
            let created = try await client.send(
                .post, "/v1/switchyard/collections", json: #"{"name": "docs", "embedding_model": "e-openai"}"#, key: Self.adminKey)
            #expect(created.status == .ok, "\(created.text)")

            struct Row {
                var method: HTTPRequest.Method
                var path: String
                var body: String?
                /// admin, team_admin, member, writer
                var expected: [Int]
            }
            let document = #"{"documents": [{"id": "d1", "text": "The wifi password is on the fridge."}]}"#
            let rows: [Row] = [
                Row(method: .post, path: "/v1/chat/completions", body: Body.chat("m-openai", "hi"), expected: [200, 200, 200, 200]),
                Row(method: .get, path: "/v1/models", expected: [200, 200, 200, 200]),
                Row(method: .get, path: "/v1/switchyard/requests", expected: [200, 200, 200, 200]),
                Row(method: .get, path: "/v1/switchyard/cache/stats", expected: [200, 403, 403, 403]),
                Row(method: .delete, path: "/v1/switchyard/cache", expected: [200, 403, 403, 403]),
                Row(method: .get, path: "/v1/switchyard/collections", expected: [200, 200, 200, 200]),
                Row(method: .post, path: "/v1/switchyard/collections/docs/documents", body: document, expected: [200, 403, 403, 200]),
                Row(method: .delete, path: "/v1/switchyard/collections/none-such", expected: [404, 403, 403, 404]),
                Row(method: .get, path: "/v1/switchyard/keys", expected: [200, 200, 403, 403]),
                Row(method: .post, path: "/v1/switchyard/keys", body: #"{"name": "new", "team": "search"}"#, expected: [201, 201, 403, 403]),
                Row(method: .patch, path: "/v1/switchyard/keys/\(keys.outsider.id)", body: #"{"rpm": 100}"#, expected: [200, 404, 403, 403]),
                Row(method: .patch, path: "/v1/switchyard/keys/\(keys.member.id)", body: #"{"tags": {"project": "rag"}}"#, expected: [200, 200, 403, 403]),
                Row(method: .delete, path: "/v1/switchyard/keys/key_0000000000000000", expected: [404, 404, 403, 403]),
                Row(method: .get, path: "/v1/switchyard/teams", expected: [200, 200, 403, 403]),
                Row(method: .post, path: "/v1/switchyard/teams", body: #"{"name": "t-\#(UUID().uuidString.prefix(8))"}"#, expected: [201, 403, 403, 403]),
                Row(method: .patch, path: "/v1/switchyard/teams/search", body: #"{"rpm": 1000}"#, expected: [200, 403, 403, 403]),
                Row(method: .get, path: "/v1/switchyard/spend?group_by=key", expected: [200, 200, 200, 200]),
                Row(method: .get, path: "/v1/switchyard/audit", expected: [200, 403, 403, 403]),
                Row(method: .get, path: "/v1/switchyard/stats/overview", expected: [200, 200, 200, 200]),
                Row(method: .get, path: "/v1/switchyard/deployments", expected: [200, 200, 200, 200]),
                Row(method: .get, path: "/v1/switchyard/me", expected: [200, 200, 200, 200]),
            ]
            let callers: [(String, String?)] = [
                ("admin", Self.adminKey), ("team_admin", keys.teamAdmin.secret), ("member", keys.member.secret), ("writer", keys.writer.secret),
                ("no key", nil), ("revoked", keys.revoked), ("expired", keys.expired),
            ]
            var failures: [String] = []
            for row in rows {
                for (index, (who, key)) in callers.enumerated() {
                    var body = row.body
                    if row.method == .post, row.path == "/v1/switchyard/teams" { body = #"{"name": "t-\#(who.replacingOccurrences(of: " ", with: "-"))"}"# }
                    if row.method == .post, row.path == "/v1/switchyard/keys" { body = #"{"name": "new-\#(who)", "team": "search"}"# }
                    let response = try await client.send(row.method, row.path, json: body, key: key)
                    let expected = index < 4 ? row.expected[index] : 401
                    if Int(response.status.code) != expected {
                        failures.append("\(row.method) \(row.path) as \(who): \(response.status.code), expected \(expected): \(response.text.prefix(200))")
                    }
                    if expected == 401 {
                        #expect(response.json?["error"]?["type"] == "authentication_error")
                        let message = response.json?["error"]?["message"]?.stringValue ?? ""
                        switch who {
                        case "revoked": #expect(message.contains("revoked"))
                        case "expired": #expect(message.contains("expired"))
                        default: #expect(message.contains("Missing API key"))
                        }
                    }
                    if expected == 403 { #expect(response.json?["error"]?["type"] == "permission_error") }
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")

            // Refusals speak the client's protocol: Anthropic's envelope on /v1/messages, JSON-RPC on /mcp.
            let anthropic = try await client.send(.post, "/v1/messages", json: Body.messages("m-openai", "hi"), key: keys.revoked)
            #expect(anthropic.status == .unauthorized && anthropic.json?["type"] == "error")
            let mcp = try await client.send(.post, "/mcp", json: #"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#, key: nil)
            #expect(mcp.status == .unauthorized && mcp.json?["jsonrpc"] == "2.0")
        }
    }

    @Test func aMemberSeesOnlyItsOwnRequestsAndATeamAdminItsTeams() async throws {
        try await Self.run { setup in
            let keys = try await Self.makeKeys(setup)
            let client = setup.client
            var ids: [String: String] = [:]
            for (who, key) in [("admin", Self.adminKey), ("member", keys.member.secret), ("writer", keys.writer.secret), ("outsider", keys.outsider.secret)] {
                let answer = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hello from \(who)", extra: ["user": .string("user-\(who)")]), key: key)
                #expect(answer.status == .ok, "\(answer.text)")
                ids[who] = answer.header("x-switchyard-request-id")
            }
            func visible(_ key: String) async throws -> Set<String> {
                let list = try await client.send(.get, "/v1/switchyard/requests?limit=100", key: key)
                #expect(list.status == .ok)
                return Set((list.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            }
            #expect(try await visible(keys.member.secret) == [ids["member"]!])
            #expect(try await visible(keys.teamAdmin.secret) == [ids["member"]!, ids["writer"]!])
            #expect(try await visible(Self.adminKey).isSuperset(of: Set(ids.values)))
            let foreign = try await client.send(.get, "/v1/switchyard/requests/\(ids["admin"]!)", key: keys.member.secret)
            #expect(foreign.status == .notFound)
            let own = try await client.send(.get, "/v1/switchyard/requests/\(ids["member"]!)", key: keys.member.secret)
            #expect(own.status == .ok && own.json?["user"] == "user-member" && own.json?["team"] == "search")

            // Spend, likewise scoped: a member's report has its own key only.
            let spend = try await client.send(.get, "/v1/switchyard/spend?group_by=key", key: keys.member.secret)
            #expect((spend.json?["data"]?.arrayValue ?? []).map { $0["key"]?.stringValue } == [keys.member.id])
            let teamSpend = try await client.send(.get, "/v1/switchyard/spend?group_by=team", key: keys.teamAdmin.secret)
            #expect((teamSpend.json?["data"]?.arrayValue ?? []).map { $0["team"]?.stringValue } == ["search"])
            let byUser = try await client.send(.get, "/v1/switchyard/spend?group_by=user", key: Self.adminKey)
            #expect(Set((byUser.json?["data"]?.arrayValue ?? []).compactMap { $0["user"]?.stringValue }) == ["user-admin", "user-member", "user-writer", "user-outsider"])

            // A team admin manages its own team's keys only, and makes no admins.
            let admin = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "x", "role": "admin"}"#, key: keys.teamAdmin.secret)
            #expect(admin.status == .forbidden && admin.json?["error"]?["param"] == "role")
            let elsewhere = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "x", "team": "other"}"#, key: keys.teamAdmin.secret)
            #expect(elsewhere.status == .forbidden && elsewhere.json?["error"]?["param"] == "team")
            let listed = try await client.send(.get, "/v1/switchyard/keys", key: keys.teamAdmin.secret)
            #expect(Set((listed.json?["data"]?.arrayValue ?? []).compactMap { $0["team"]?.stringValue }) == ["search"])
            // Prefixes only ("sk-sy-Ab3d…"), never a secret.
            #expect(!listed.text.contains(keys.member.secret) && !listed.text.contains(keys.writer.secret))
            #expect((listed.json?["data"]?.arrayValue ?? []).allSatisfy { $0["key"] == nil })
        }
    }

    // MARK: Budgets

    /// 40 requests at once (non-streamed and streamed) against a hard budget that fits about a dozen:
    /// what the answered ones cost together stays within it, the spend report says the same to a
    /// millionth of a dollar, and, once it is spent, requests get `budget_exceeded`.
    @Test func fortyConcurrentRequestsNeverSpendPastAHardBudget() async throws {
        try await Self.run { setup in
            let client = setup.client
            // Worst case of one request: ≤ 200 prompt bytes × $2.5/M + 100 output tokens × $10/M ≈ $0.0015.
            let created = try await client.send(
                .post, "/v1/switchyard/keys", json: #"{"name": "capped", "budget": {"usd": 0.012, "period": "total", "mode": "hard"}}"#,
                key: Self.adminKey)
            #expect(created.status == .created, "\(created.text)")
            let secret = created.json?["key"]?.stringValue ?? ""
            let id = created.json?["id"]?.stringValue ?? ""

            func ask(_ index: Int) async throws -> (status: Int, cost: Double?, code: String?) {
                let stream = index % 3 == 0
                let body = Body.chat(
                    "m-pricey", "[[delay: 150]] [[reply: \(String(repeating: "word ", count: 40))]] question \(index)", stream: stream,
                    extra: ["max_tokens": 100])
                let response = try await client.send(.post, "/v1/chat/completions", json: body, key: secret)
                guard response.status == .ok else {
                    return (Int(response.status.code), nil, response.json?["error"]?["code"]?.stringValue)
                }
                if stream {
                    let final = response.events.compactMap { JSONValue.parse(Data($0.data.utf8)) }.last { $0["usage"] != nil }
                    return (200, final?["switchyard"]?["cost_usd"]?.finiteDoubleValue, nil)
                }
                return (200, response.header("x-switchyard-cost-usd").flatMap(Double.init), nil)
            }
            let results = try await withThrowingTaskGroup(of: (status: Int, cost: Double?, code: String?).self) { group in
                for index in 0..<40 { group.addTask { try await ask(index) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let answered = results.filter { $0.status == 200 }
            #expect(answered.count >= 4 && answered.count < 40, "\(answered.count) answered")
            #expect(answered.allSatisfy { $0.cost != nil })
            #expect(results.filter { $0.status != 200 }.allSatisfy { $0.status == 429 && $0.code == "budget_exceeded" })
            var spent = answered.compactMap(\.cost).reduce(0, +)
            #expect(spent <= 0.012)

            // Then one at a time until the budget refuses: it must, and still nothing passes it.
            var refused = false
            for index in 40..<200 where !refused {
                let result = try await ask(index)
                if result.status == 200 { spent += result.cost ?? 0 } else {
                    #expect(result.status == 429 && result.code == "budget_exceeded")
                    refused = true
                }
            }
            #expect(refused)
            #expect(spent <= 0.012)

            let report = try await client.send(.get, "/v1/switchyard/spend?group_by=key", key: Self.adminKey)
            let row = report.json?["data"]?.arrayValue?.first { $0["key"]?.stringValue == id }
            #expect(row?["name"] == "capped")
            let reported = row?["cost_usd"]?.finiteDoubleValue ?? -1
            #expect(abs(reported - spent) < 1e-6, "report \(reported) vs answered \(spent)")
            let again = Body.chat(
                "m-pricey", "[[reply: \(String(repeating: "word ", count: 40))]] question 999", extra: ["max_tokens": 100])
            let refusal = try await client.send(.post, "/v1/chat/completions", json: again, key: secret)
            #expect(refusal.status == .tooManyRequests)
            #expect(refusal.json?["error"]?["code"] == "budget_exceeded" && refusal.json?["error"]?["type"] == "insufficient_quota")
            let anthropic = try await client.send(
                .post, "/v1/messages", json: Body.messages("m-pricey", "[[reply: \(String(repeating: "word ", count: 40))]] question 999"), key: secret)
            #expect(anthropic.status == .tooManyRequests && anthropic.json?["error"]?["type"] == "rate_limit_error")

            // The CSV form of the same report.
            let csv = try await client.send(.get, "/v1/switchyard/spend?group_by=key&format=csv", key: Self.adminKey)
            #expect(csv.header("content-type")?.hasPrefix("text/csv") == true)
            #expect(csv.text.hasPrefix("key,name,cost_usd,requests,prompt_tokens,completion_tokens\r\n"))
            #expect(csv.text.contains("\(id),capped,"))
        }
    }

    @Test func aSoftBudgetLetsRequestsThroughAndFlagsThem() async throws {
        try await Self.run { setup in
            let client = setup.client
            let team = try await client.send(
                .post, "/v1/switchyard/teams", json: #"{"name": "lab", "budget": {"usd": 0.000001, "period": "day", "mode": "soft"}}"#,
                key: Self.adminKey)
            #expect(team.status == .created, "\(team.text)")
            let key = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "researcher", "team": "lab"}"#, key: Self.adminKey)
            let secret = key.json?["key"]?.stringValue ?? ""
            let answer = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-pricey", "hi", extra: ["max_tokens": 50]), key: secret)
            #expect(answer.status == .ok)
            let record = try await client.send(.get, "/v1/switchyard/requests/\(answer.header("x-switchyard-request-id") ?? "")", key: Self.adminKey)
            #expect(record.json?["budget_flag"]?.stringValue?.contains("team:lab") == true, "\(record.text)")
            let teams = try await client.send(.get, "/v1/switchyard/teams", key: Self.adminKey)
            let lab = teams.json?["data"]?.arrayValue?.first { $0["name"] == "lab" }
            #expect((lab?["spend"]?["spent_usd"]?.finiteDoubleValue ?? 0) > 0.000001)
        }
    }

    /// A cache hit costs nothing and holds no reservation: the budget is untouched by it.
    @Test func cacheHitsCostNothingAgainstABudget() async throws {
        try await Self.run { setup in
            let client = setup.client
            let key = try await client.send(
                .post, "/v1/switchyard/keys", json: #"{"name": "cached", "budget": {"usd": 1, "period": "month"}}"#, key: Self.adminKey)
            let secret = key.json?["key"]?.stringValue ?? ""
            let id = key.json?["id"]?.stringValue ?? ""
            let body = Body.chat("m-openai", "the same question", extra: ["max_tokens": 20])
            let first = try await client.send(.post, "/v1/chat/completions", json: body, key: secret)
            let second = try await client.send(.post, "/v1/chat/completions", json: body, key: secret)
            #expect(first.status == .ok && second.header("x-switchyard-cache") == "hit-exact")
            #expect(second.header("x-switchyard-cost-usd").flatMap(Double.init) == 0)
            let account = setup.gateway.budgetAccount("key:" + id)
            #expect(abs((account?.spent ?? -1) - (first.header("x-switchyard-cost-usd").flatMap(Double.init) ?? -2)) < 1e-12)
            #expect(account?.reserved == 0)
        }
    }

    // MARK: Rate limits

    /// `rpm: 30` and 60 requests at once: exactly 30 answered, 30 refused with `retry-after`.
    @Test func thirtyRequestsPerMinuteAdmitExactlyThirtyOfSixty() async throws {
        try await Self.run { setup in
            let client = setup.client
            let key = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "bursty", "rpm": 30}"#, key: Self.adminKey)
            let secret = key.json?["key"]?.stringValue ?? ""
            let results = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "burst \(index)"), key: secret)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let answered = results.filter { $0.status == .ok }
            let refused = results.filter { $0.status == .tooManyRequests }
            #expect(answered.count == 30 && refused.count == 30)
            for response in refused {
                #expect(response.json?["error"]?["code"] == "rate_limit_exceeded")
                #expect(response.header("retry-after").flatMap(Int.init).map { $0 >= 1 && $0 <= 60 } == true)
                #expect(response.header("x-ratelimit-limit-requests") == "30" && response.header("x-ratelimit-remaining-requests") == "0")
            }
            for response in answered {
                #expect(response.header("x-ratelimit-limit-requests") == "30")
                #expect(response.header("x-ratelimit-remaining-requests").flatMap(Int.init).map { (0..<30).contains($0) } == true)
                #expect(response.header("x-ratelimit-reset-requests")?.hasSuffix("s") == true)
            }
        }
    }

    @Test func tokensPerMinuteAndTeamLimitsRefuseWithTheirHeaders() async throws {
        try await Self.run { setup in
            let client = setup.client
            _ = try await client.send(.post, "/v1/switchyard/teams", json: #"{"name": "small", "rpm": 2}"#, key: Self.adminKey)
            let member = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "m", "team": "small"}"#, key: Self.adminKey)
            let secret = member.json?["key"]?.stringValue ?? ""
            for _ in 0..<2 { #expect(try await client.send(.post, "/v1/embeddings", json: #"{"model": "e-openai", "input": "x"}"#, key: secret).status == .ok) }
            let third = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "x"), key: secret)
            #expect(third.status == .tooManyRequests && third.json?["error"]?["message"]?.stringValue?.contains("team") == true)
            // A refused embeddings request is a line in the request log, as a refused chat request is.
            let refusedEmbedding = try await client.send(.post, "/v1/embeddings", json: #"{"model": "e-openai", "input": "y"}"#, key: secret)
            #expect(refusedEmbedding.status == .tooManyRequests)
            let logged = try await client.send(.get, "/v1/switchyard/requests?limit=20", key: Self.adminKey)
            let lines = logged.json?["data"]?.arrayValue ?? []
            #expect(lines.contains { $0["endpoint"]?.stringValue == "embeddings" && $0["status"] == 429 })

            let tokens = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "t", "tpm": 1000}"#, key: Self.adminKey)
            let tokenSecret = tokens.json?["key"]?.stringValue ?? ""
            let first = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hi", extra: ["max_tokens": 600]), key: tokenSecret)
            #expect(first.status == .ok)
            #expect(first.header("x-ratelimit-limit-tokens") == "1000")
            #expect(first.header("x-ratelimit-remaining-tokens").flatMap(Int.init).map { $0 < 400 } == true)
            let second = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hi", extra: ["max_tokens": 600]), key: tokenSecret)
            #expect(second.status == .tooManyRequests && second.header("retry-after") != nil)
            #expect(second.header("x-ratelimit-limit-tokens") == "1000")
        }
    }

    // MARK: Keys at rest, revocation, audit

    @Test func keysAreNeverStoredRawAndARevokedKeyIsRefusedOnItsNextRequest() async throws {
        try await Self.run { setup in
            let client = setup.client
            let created = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "temp", "models": ["m-openai"]}"#, key: Self.adminKey)
            let secret = created.json?["key"]?.stringValue ?? ""
            let id = created.json?["id"]?.stringValue ?? ""
            #expect(secret.hasPrefix("sk-sy-") && created.json?["prefix"]?.stringValue.map { secret.hasPrefix($0.dropLast()) } == true)
            #expect(try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hi"), key: secret).status == .ok)
            let disallowed = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-pricey", "hi"), key: secret)
            #expect(disallowed.status == .forbidden || disallowed.status == .notFound)

            #expect(try await client.send(.delete, "/v1/switchyard/keys/\(id)", key: Self.adminKey).status == .ok)
            let after = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hi"), key: secret)
            #expect(after.status == .unauthorized && after.json?["error"]?["message"]?.stringValue?.contains("revoked") == true)
            // Config keys are changed in the config, not over the API.
            let configKeyID = "key_" + Self.sha256Prefix(Self.adminKey)
            #expect(try await client.send(.delete, "/v1/switchyard/keys/\(configKeyID)", key: Self.adminKey).status == .conflict)

            await setup.gateway.requestLog.flush()
            for file in [setup.database, setup.database + "-wal"] where FileManager.default.fileExists(atPath: file) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds a raw key")
                #expect(bytes.range(of: Data(Self.adminKey.utf8)) == nil, "\(file) holds the config's raw key")
            }
        }
    }

    @Test func theAuditChainVerifiesAndAnEditedRowBreaksIt() async throws {
        try await Self.run { setup in
            let client = setup.client
            _ = try await Self.makeKeys(setup)
            _ = try await client.send(.post, "/v1/switchyard/collections", json: #"{"name": "kb", "embedding_model": "e-openai"}"#, key: Self.adminKey)
            _ = try await client.send(.delete, "/v1/switchyard/collections/kb", key: Self.adminKey)
            _ = try await client.send(.delete, "/v1/switchyard/cache", key: Self.adminKey)
            _ = try await client.send(.patch, "/v1/switchyard/teams/search", json: #"{"budget": {"usd": 3, "period": "week"}}"#, key: Self.adminKey)
            let audit = try await client.send(.get, "/v1/switchyard/audit", key: Self.adminKey)
            #expect(audit.json?["verified"] == true, "\(audit.text)")
            let actions = Set((audit.json?["data"]?.arrayValue ?? []).compactMap { $0["action"]?.stringValue })
            #expect(actions.isSuperset(of: ["team.create", "key.create", "key.revoke", "collection.create", "collection.delete", "cache.clear", "team.update"]))
            #expect((audit.json?["data"]?.arrayValue ?? []).allSatisfy { $0["actor"]?.stringValue?.contains("(admin)") == true })

            let database = try DatabaseQueue(path: setup.database)
            try await database.write { db in try db.execute(sql: "UPDATE audit_log SET target = 'someone-else' WHERE seq = 2") }
            let broken = try await client.send(.get, "/v1/switchyard/audit", key: Self.adminKey)
            #expect(broken.json?["verified"] == false)
            #expect(broken.json?["broken_at"]?["sequence"] == 2)
        }
    }

    @Test func governanceBodiesAreCheckedFieldByField() async throws {
        try await Self.run { setup in
            let client = setup.client
            let cases: [(String, String, String)] = [
                ("/v1/switchyard/keys", #"{"name": "x", "rpm": 1e300}"#, "rpm"),
                ("/v1/switchyard/keys", #"{"name": "x", "tpm": -1}"#, "tpm"),
                ("/v1/switchyard/keys", #"{"name": "x", "expires_in_s": 1e19}"#, "expires_in_s"),
                ("/v1/switchyard/keys", #"{"name": "x", "budget": {"usd": "lots"}}"#, "budget.usd"),
                ("/v1/switchyard/keys", #"{"name": "x", "budget": {"usd": 5, "period": "fortnight"}}"#, "budget.period"),
                ("/v1/switchyard/keys", #"{"name": "x", "role": "root"}"#, "role"),
                ("/v1/switchyard/keys", #"{"name": "x", "models": "gpt-*"}"#, "models"),
                ("/v1/switchyard/keys", #"{"name": "x", "tags": {"a b": "c"}}"#, "tags"),
                ("/v1/switchyard/keys", #"{"name": ""}"#, "name"),
                ("/v1/switchyard/keys", #"{"name": "x", "secret": "mine"}"#, "secret"),
                ("/v1/switchyard/teams", #"{"name": "x", "budget": {"usd": NaN}}"#, ""),
                ("/v1/switchyard/teams", #"{"name": "x", "budget": {"usd": -1}}"#, "budget.usd"),
                ("/v1/switchyard/teams", #"{"name": "x", "budget": {"usd": 1e309}}"#, ""),
                ("/v1/switchyard/teams", #"{"name": "x", "rpm": 9223372036854775808}"#, "rpm"),
                ("/v1/switchyard/keys", "{\"name\": \"" + String(repeating: "n", count: 60_000) + "\"}", "name"),
                ("/v1/switchyard/keys", #"{"name": "x", "tags": "# + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}", ""),
            ]
            for (path, body, field) in cases {
                let response = try await client.send(.post, path, json: body, key: Self.adminKey)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                if !field.isEmpty { #expect(response.json?["error"]?["param"]?.stringValue == field, "\(body): \(response.text)") }
            }
            let team = try await client.send(.post, "/v1/switchyard/keys", json: #"{"name": "x", "team": "nowhere"}"#, key: Self.adminKey)
            #expect(team.status == .notFound && team.json?["error"]?["param"] == "team")
            let patched = try await client.send(.patch, "/v1/switchyard/keys/key_nope", json: #"{"rpm": 1e300}"#, key: Self.adminKey)
            #expect(patched.status == .badRequest || patched.status == .notFound)
            for query in ["limit=1e300", "limit=-1", "limit=" + String(repeating: "9", count: 400)] {
                let audit = try await client.send(.get, "/v1/switchyard/audit?" + query, key: Self.adminKey)
                #expect(audit.status == .badRequest || audit.status == .ok, "\(query): \(audit.text)")
            }
            for query in ["group_by=colour", "since=yesterday", "since=1e309", "group_by=tag:a%20b", "format=xml", "since=" + String(repeating: "9", count: 500)] {
                let response = try await client.send(.get, "/v1/switchyard/spend?" + query, key: Self.adminKey)
                #expect(response.status == .badRequest, "\(query): \(response.text)")
            }
            let dated = try await client.send(.get, "/v1/switchyard/spend?group_by=day&since=2026-01-01&until=2099-01-01T00:00:00Z", key: Self.adminKey)
            #expect(dated.status == .ok && dated.json?["data"]?.arrayValue != nil)
            let duplicate = try await client.send(.post, "/v1/switchyard/teams", json: #"{"name": "dup"}"#, key: Self.adminKey)
            let again = try await client.send(.post, "/v1/switchyard/teams", json: #"{"name": "dup"}"#, key: Self.adminKey)
            #expect(duplicate.status == .created && again.status == .conflict)
        }
    }
}

extension TestClientProtocol {
    /// Any method, an optional JSON body, an optional key.
    func send(_ method: HTTPRequest.Method, _ path: String, json: String? = nil, key: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil { headers[.contentType] = "application/json" }
        if path.hasPrefix("/v1/messages") { headers[HTTPField.Name("anthropic-version")!] = "2023-06-01" }
        return try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}
