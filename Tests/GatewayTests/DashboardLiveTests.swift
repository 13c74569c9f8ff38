import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

import Gateway
import Server
import Storage
import SwitchyardCore

/// Issue 23's dashboard through the live gateway: the page and its assets (public, CSP, caching), and
/// the APIs it reads — the log a page at a time with filters, the overview, deployments, `me` — each
/// scoped by the key, and each answering hostile query values with a 400 naming the field.
@Suite("Dashboard through the live gateway")
struct DashboardLiveTests {
    static let adminKey = GovernanceLiveTests.adminKey

    @Test func thePageAndItsAssetsArePublicWithAStrictPolicy() async throws {
        try await GovernanceLiveTests.run { setup in
            let page = try await setup.client.send(.get, "/", key: nil)
            #expect(page.status == .ok)
            #expect(page.header("content-type")?.hasPrefix("text/html") == true)
            let policy = page.header("content-security-policy") ?? ""
            #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"))
            #expect(!policy.contains("unsafe-inline") && !policy.contains("http"))
            #expect(page.header("cache-control") == "no-cache")
            #expect(page.text.contains(#"id="login-key""#) && page.text.contains(#"type="password""#))
            // No inline script or handler, nothing remote.
            #expect(!page.text.contains("<script>") && !page.text.contains("onclick=") && !page.text.contains("https://"))

            let scripts = page.text.components(separatedBy: "src=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
            #expect(scripts.count == 6, "\(scripts)")
            for script in scripts {
                let asset = try await setup.client.send(.get, script, key: nil)
                #expect(asset.status == .ok, "\(script)")
                #expect(asset.header("content-type")?.hasPrefix("text/javascript") == true)
                #expect(asset.header("cache-control")?.contains("immutable") == true, "a versioned asset is cached for good")
                #expect(!asset.text.contains("innerHTML") && !asset.text.contains("eval("), "\(script) builds the DOM from text nodes")
                let etag = try #require(asset.header("etag"))
                var headers = HTTPFields()
                headers[.ifNoneMatch] = etag
                let again = try await setup.client.execute(uri: script, method: .get, headers: headers)
                #expect(again.status == .notModified)
            }
            let unversioned = try await setup.client.send(.get, "/dashboard/dashboard.css", key: nil)
            #expect(unversioned.status == .ok && unversioned.header("cache-control") == "no-cache")
            // Only the page and its assets are public: the data still needs a key.
            #expect(try await setup.client.send(.get, "/dashboard/nothing.js", key: nil).status == .unauthorized)
            #expect(try await setup.client.send(.get, "/v1/switchyard/stats/overview", key: nil).status == .unauthorized)
            #expect(try await setup.client.send(.get, "/v1/switchyard/requests", key: nil).status == .unauthorized)
        }
    }

    @Test func aMemberSeesOnlyItsOwnRowsInPagesAndTheOverview() async throws {
        try await GovernanceLiveTests.run { setup in
            let keys = try await GovernanceLiveTests.makeKeys(setup)
            let client = setup.client
            var ids: [String: [String]] = [:]
            for (who, key) in [("admin", Self.adminKey), ("member", keys.member.secret), ("outsider", keys.outsider.secret)] {
                for index in 0..<3 {
                    let answer = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hello \(index) from \(who)"), key: key)
                    #expect(answer.status == .ok, "\(answer.text)")
                    ids[who, default: []].append(answer.header("x-switchyard-request-id") ?? "")
                }
            }
            let failed = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-pricey", "[[error: 500]] fail"), key: keys.member.secret)
            #expect(failed.status.code >= 500, "\(failed.text)")

            let member = try await client.send(.get, "/v1/switchyard/requests?limit=100&view=summary", key: keys.member.secret)
            let memberRows = member.json?["data"]?.arrayValue ?? []
            #expect(memberRows.count == 4 && member.json?["total"] == 4 && member.json?["has_more"] == false)
            let memberIDs = Set(memberRows.compactMap { $0["id"]?.stringValue })
            #expect(memberIDs.isSuperset(of: Set(ids["member"] ?? [])))
            #expect(memberRows.allSatisfy { $0["key_id"]?.stringValue == keys.member.id })
            // A member naming another key in the filter still sees only its own rows: none.
            let foreign = try await client.send(.get, "/v1/switchyard/requests?key=olga", key: keys.member.secret)
            #expect(foreign.status == .ok && foreign.json?["data"]?.arrayValue?.isEmpty == true)
            let byName = try await client.send(.get, "/v1/switchyard/requests?key=olga", key: Self.adminKey)
            #expect(Set((byName.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }) == Set(ids["outsider"]!))

            let errors = try await client.send(.get, "/v1/switchyard/requests?status=error", key: keys.member.secret)
            #expect((errors.json?["data"]?.arrayValue ?? []).map { $0["model"]?.stringValue } == ["m-pricey"])
            let model = try await client.send(.get, "/v1/switchyard/requests?model=m-pricey&status=ok", key: Self.adminKey)
            #expect(model.json?["data"]?.arrayValue?.isEmpty == true)

            let overview = try await client.send(.get, "/v1/switchyard/stats/overview?bucket_s=3600", key: keys.member.secret)
            #expect(overview.status == .ok, "\(overview.text)")
            #expect(overview.json?["totals"]?["requests"] == 4 && overview.json?["totals"]?["errors"] == 1)
            #expect(overview.json?["buckets"]?.arrayValue?.count == 24)
            let bucketed = (overview.json?["buckets"]?.arrayValue ?? []).reduce(0) { $0 + ($1["requests"]?.intValue ?? 0) }
            #expect(bucketed == 4)
            #expect(Set((overview.json?["models"]?.arrayValue ?? []).compactMap { $0["model"]?.stringValue }) == ["m-openai", "m-pricey"])
            let p50 = overview.json?["totals"]?["p50_latency_ms"]?.doubleValue ?? -1
            let p95 = overview.json?["totals"]?["p95_latency_ms"]?.doubleValue ?? -1
            #expect(p50 > 0 && p95 >= p50)
            let admin = try await client.send(.get, "/v1/switchyard/stats/overview", key: Self.adminKey)
            #expect(admin.json?["totals"]?["requests"] == 10)
            #expect((admin.json?["totals"]?["cost_usd"]?.doubleValue ?? 0) > 0)

            let me = try await client.send(.get, "/v1/switchyard/me", key: keys.member.secret)
            #expect(me.json?["name"] == "alice" && me.json?["role"] == "member" && me.json?["team"] == "search")
            #expect(me.json?["permissions"]?.arrayValue?.contains("readCache") == false)
            let deployments = try await client.send(.get, "/v1/switchyard/deployments", key: keys.member.secret)
            let names = (deployments.json?["data"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            #expect(names.contains("m-openai"))
            #expect((deployments.json?["data"]?.arrayValue ?? []).allSatisfy { ["closed", "open", "half_open"].contains($0["breaker"]?.stringValue ?? "") })
        }
    }

    @Test(arguments: [
        ("/v1/switchyard/requests?limit=0", "limit"), ("/v1/switchyard/requests?limit=99999999999999999999", "limit"),
        ("/v1/switchyard/requests?limit=-5", "limit"), ("/v1/switchyard/requests?limit=1e3", "limit"),
        ("/v1/switchyard/requests?before=nonsense", "before"), ("/v1/switchyard/requests?before=NaN:req_1", "before"),
        ("/v1/switchyard/requests?before=1e999:req_1", "before"), ("/v1/switchyard/requests?status=teapot", "status"),
        ("/v1/switchyard/requests?status=999", "status"), ("/v1/switchyard/requests?since=yesterday", "since"),
        ("/v1/switchyard/requests?since=2026-01-02&until=2026-01-01", "since"), ("/v1/switchyard/requests?view=everything", "view"),
        ("/v1/switchyard/requests?model=\(String(repeating: "m", count: 300))", "model"), ("/v1/switchyard/requests?key=%00", "key"),
        ("/v1/switchyard/stats/overview?bucket_s=0", "bucket_s"), ("/v1/switchyard/stats/overview?bucket_s=1", "bucket_s"),
        ("/v1/switchyard/stats/overview?bucket_s=9223372036854775808", "bucket_s"),
        ("/v1/switchyard/stats/overview?since=2026-01-02&until=2026-01-01", "since"),
        ("/v1/switchyard/stats/overview?since=1970-01-01&until=2026-01-01", "since"),
        ("/v1/switchyard/stats/overview?until=%ff%fe", "until"),
    ])
    func hostileQueryValuesAre400sNamingTheField(path: String, field: String) async throws {
        try await GovernanceLiveTests.run { setup in
            let response = try await setup.client.send(.get, path, key: Self.adminKey)
            #expect(response.status == .badRequest, "\(path): \(response.status) \(response.text.prefix(200))")
            #expect(response.json?["error"]?["param"]?.stringValue == field, "\(path): \(response.text.prefix(200))")
        }
    }

    /// 5,000 rows: every page is at most its limit, the cursor walks the whole log once without
    /// repeating or skipping a row, and the count stops at its cap rather than scan for ever.
    @Test func fiveThousandRowsArePagedNeverSentWhole() async throws {
        try await GovernanceLiveTests.run { setup in
            let store = try RequestLogStore(path: setup.database)
            let now = Date()
            let rows = (0..<5_000).map { index in
                var record = RequestRecord(
                    id: String(format: "req_bulk%05d", index), createdAt: now.addingTimeInterval(-Double(index % 2_000) * 30),
                    caller: index % 3 == 0 ? "alpha" : "beta", clientProtocol: "openai", endpoint: "chat",
                    model: index % 4 == 0 ? "m-pricey" : "m-openai", provider: "up-openai", promptTokens: 10, completionTokens: 5,
                    costUSD: 0.001, latencyMs: Double(index % 100) + 1, status: index % 10 == 0 ? 502 : 200)
                record.keyID = index % 3 == 0 ? "key_alpha" : "key_beta"
                return record
            }
            try await store.insert(taking: { rows })

            var seen = Set<String>()
            var before: String?
            var pages = 0
            repeat {
                let path = "/v1/switchyard/requests?limit=200&view=summary" + (before.map { "&before=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" } ?? "")
                let page = try await setup.client.send(.get, path, key: Self.adminKey)
                #expect(page.status == .ok, "\(page.text.prefix(300))")
                let data = page.json?["data"]?.arrayValue ?? []
                #expect(data.count <= 200)
                #expect(page.json?["total"] == 5_000 && page.json?["total_exact"] == true)
                let times = data.compactMap { $0["created_at"]?.doubleValue }
                #expect(times == times.sorted(by: >), "newest first")
                for row in data {
                    let fresh = seen.insert(row["id"]?.stringValue ?? "").inserted
                    #expect(fresh, "a row came twice")
                }
                before = page.json?["next_before"]?.stringValue
                pages += 1
            } while before != nil && pages < 100
            #expect(seen.count == 5_000 && pages == 25)

            let failedBeta = try await setup.client.send(.get, "/v1/switchyard/requests?status=error&key=beta&model=m-openai&limit=10", key: Self.adminKey)
            let expected = rows.filter { $0.status >= 400 && $0.caller == "beta" && $0.model == "m-openai" }.count
            #expect(failedBeta.json?["total"]?.intValue == expected && failedBeta.json?["data"]?.arrayValue?.count == 10)

            // Whole seconds, so the buckets' starts in the answer are exact.
            let until = Int(now.timeIntervalSince1970) + 60
            let overview = try await setup.client.send(
                .get, "/v1/switchyard/stats/overview?bucket_s=1800&since=\(until - 86_400)&until=\(until)", key: Self.adminKey)
            #expect(overview.json?["totals"]?["requests"]?.intValue == rows.filter { now.timeIntervalSince($0.createdAt) < 86_400 }.count)
            #expect(overview.json?["totals"]?["errors"]?.intValue == rows.filter { $0.status >= 400 && now.timeIntervalSince($0.createdAt) < 86_400 }.count)
            // Nearest-rank percentiles, exactly: in total, per model, and in every bucket.
            func nearestRank(_ values: [Double], _ percent: Int) -> Double? {
                let sorted = values.sorted()
                return sorted.isEmpty ? nil : sorted[(sorted.count * percent + 99) / 100 - 1]
            }
            let totals = overview.json?["totals"]
            #expect(totals?["p50_latency_ms"]?.doubleValue == nearestRank(rows.map(\.latencyMs), 50))
            #expect(totals?["p95_latency_ms"]?.doubleValue == nearestRank(rows.map(\.latencyMs), 95))
            for entry in overview.json?["models"]?.arrayValue ?? [] {
                let latencies = rows.filter { $0.model == entry["model"]?.stringValue }.map(\.latencyMs)
                #expect(entry["p50_latency_ms"]?.doubleValue == nearestRank(latencies, 50) && entry["p95_latency_ms"]?.doubleValue == nearestRank(latencies, 95))
                #expect(entry["requests"]?.intValue == latencies.count)
            }
            for entry in overview.json?["buckets"]?.arrayValue ?? [] {
                let start = entry["start"]?.doubleValue ?? 0
                let inside = rows.filter { $0.createdAt.timeIntervalSince1970 >= start && $0.createdAt.timeIntervalSince1970 < start + 1800 }
                #expect(entry["requests"]?.intValue == inside.count)
                #expect(entry["p95_latency_ms"]?.doubleValue == nearestRank(inside.map(\.latencyMs), 95), "bucket at \(start)")
            }
        }
    }
}
