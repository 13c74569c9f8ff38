import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

import Gateway
import Server
import Storage
import SwitchyardCore

/// Issue 23's eval reports through the live gateway: a results file uploaded, listed a page at a
/// time, fetched as uploaded, drawn as HTML and as the dashboard's cells, deleted; who may do which;
/// and what is not a report (a 400 naming the field) or too large (a 413 naming the limit).
@Suite("Eval reports through the live gateway")
struct EvalReportLiveTests {
    static let adminKey = GovernanceLiveTests.adminKey
    static let hostile = "<script>alert(1)</script> & </td>"

    /// A results file in the shape `eval run --output x.json` writes: two providers × `tests` tests, one
    /// prompt; `alpha` passes every test, `beta` fails the odd ones and errors on the last.
    static func report(description: String = "Support answers", tests: Int = 3) -> String {
        var cells: [JSONValue] = []
        for test in 0..<tests {
            for (column, provider) in [("alpha", "Alpha"), ("beta", "Beta")].enumerated() {
                let error = provider.0 == "beta" && test == tests - 1
                let pass = provider.0 == "alpha" || (test % 2 == 0 && !error)
                var cell: [String: JSONValue] = [
                    "promptIdx": .int(Int64(column)), "testIdx": .int(Int64(test)),
                    "provider": ["id": .string("openai:chat:\(provider.0)"), "label": .string(provider.1)],
                    "prompt": ["raw": .string("Question \(test)"), "label": "{{question}}"],
                    "vars": ["question": .string("Question \(test)")],
                    "success": .bool(pass), "score": .double(pass ? 1 : 0), "failureReason": .int(error ? 2 : pass ? 0 : 1),
                    "latencyMs": .double(Double(100 + 10 * test)), "cost": .double(0.001),
                    "testCase": ["description": .string("test \(test)")],
                ]
                if error {
                    cell["error"] = "upstream answered 500"
                    cell["response"] = .null
                } else {
                    cell["response"] = ["output": .string(test == 0 ? hostile : "answer \(test) from \(provider.0)")]
                    cell["gradingResult"] = ["pass": .bool(pass), "score": .double(pass ? 1 : 0), "reason": pass ? "" : "expected 'yes'"]
                    if !pass { cell["error"] = "expected 'yes'" }
                }
                cells.append(.object(cell))
            }
        }
        let file: JSONValue = [
            "evalId": "eval-abc-2026-01-02T03:04:05",
            "results": [
                "version": 3, "timestamp": "2026-01-02T03:04:05.000Z",
                "prompts": [["raw": "{{question}}", "label": "{{question}}", "provider": "Alpha"], ["raw": "{{question}}", "label": "{{question}}", "provider": "Beta"]],
                "results": .array(cells), "stats": ["successes": 0, "failures": 0, "errors": 0, "durationMs": 1234],
            ],
            "config": [
                "description": .string(description),
                "providers": [["id": "openai:chat:alpha", "label": "Alpha"], ["id": "openai:chat:beta", "label": "Beta"]],
            ],
        ]
        return file.jsonString()
    }

    static func item(_ value: JSONValue?, _ index: Int) -> JSONValue? {
        guard let array = value?.arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }

    @Test func uploadFetchDrawAndDelete() async throws {
        try await GovernanceLiveTests.run(testing: .live) { setup in
            let client = setup.client
            let body = Self.report()
            let created = try await client.send(.post, "/v1/switchyard/eval-reports", json: body, key: Self.adminKey)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(EvalReportSummary.isValidID(id))
            #expect(created.json?["description"] == "Support answers" && created.json?["tests"] == 3 && created.json?["cells"] == 6)
            #expect(created.json?["dashboard_path"]?.stringValue == "/#/evals/\(id)")
            let providers = created.json?["providers"]?.arrayValue ?? []
            #expect(providers.map { $0["label"]?.stringValue } == ["Alpha", "Beta"])
            #expect(providers.first?["pass_rate"]?.doubleValue == 1)
            // Beta: test 0 passes, test 1 fails, test 2 errors.
            #expect(providers.last?["passes"] == 1 && providers.last?["failures"] == 1 && providers.last?["errors"] == 1)
            #expect(abs((providers.last?["pass_rate"]?.doubleValue ?? 0) - 1.0 / 3) < 1e-9)
            #expect(abs((created.json?["cost_usd"]?.doubleValue ?? 0) - 0.005) < 1e-9, "the errored cell has no answer, so no cost")

            let fetched = try await client.send(.get, "/v1/switchyard/eval-reports/\(id)", key: Self.adminKey)
            #expect(fetched.status == .ok && fetched.header("content-type") == "application/json")
            #expect(fetched.text == body, "the report comes back as uploaded")

            let html = try await client.send(.get, "/v1/switchyard/eval-reports/\(id)/html", key: Self.adminKey)
            #expect(html.status == .ok && html.header("content-type")?.hasPrefix("text/html") == true)
            #expect(html.header("content-security-policy")?.contains("default-src 'none'") == true)
            #expect(html.text.hasPrefix("<!DOCTYPE html>") && html.text.contains("Support answers") && html.text.contains("Beta"))
            #expect(!html.text.contains("<script>alert(1)") && html.text.contains("&lt;script&gt;alert(1)"))

            let cells = try await client.send(.get, "/v1/switchyard/eval-reports/\(id)?view=cells&limit=2", key: Self.adminKey)
            #expect(cells.status == .ok, "\(cells.text)")
            #expect(cells.json?["rows_total"] == 3 && cells.json?["rows"]?.arrayValue?.count == 2)
            let first = Self.item(cells.json?["rows"], 0)?["cells"]?.arrayValue ?? []
            #expect(first.map { $0["verdict"]?.stringValue } == ["pass", "pass"])
            #expect(first.first?["output"]?.stringValue == Self.hostile, "text as the model wrote it; the page escapes it")
            let next = try await client.send(.get, "/v1/switchyard/eval-reports/\(id)?view=cells&offset=2", key: Self.adminKey)
            let last = Self.item(next.json?["rows"], 0)?["cells"]?.arrayValue ?? []
            #expect(last.map { $0["verdict"]?.stringValue } == ["pass", "error"])
            #expect(next.json?["report"]?["id"]?.stringValue == id)

            let deleted = try await client.send(.delete, "/v1/switchyard/eval-reports/\(id)", key: Self.adminKey)
            #expect(deleted.status == .ok && deleted.json?["deleted"] == true, "\(deleted.text)")
            #expect(try await client.send(.get, "/v1/switchyard/eval-reports/\(id)", key: Self.adminKey).status == .notFound)
            #expect(try await client.send(.get, "/v1/switchyard/eval-reports/\(id)/html", key: Self.adminKey).status == .notFound)
            #expect(try await client.send(.delete, "/v1/switchyard/eval-reports/\(id)", key: Self.adminKey).status == .notFound)
            #expect(try await client.send(.get, "/v1/switchyard/eval-reports/nonsense", key: Self.adminKey).status == .notFound)
        }
    }

    /// Seven reports, three at a time: newest first, every one once, the cursor surviving the
    /// deletion of the report it names.
    @Test func theListIsPagedNewestFirst() async throws {
        try await GovernanceLiveTests.run(testing: .live) { setup in
            let client = setup.client
            var ids: [String] = []
            for index in 0..<7 {
                let created = try await client.send(.post, "/v1/switchyard/eval-reports", json: Self.report(description: "run \(index)"), key: Self.adminKey)
                ids.append(try #require(created.json?["id"]?.stringValue, "\(created.text)"))
            }
            #expect(ids == ids.sorted(), "ids sort by upload")
            var seen: [String] = []
            var before: String?
            var pages = 0
            repeat {
                let page = try await client.send(
                    .get, "/v1/switchyard/eval-reports?limit=3" + (before.map { "&before=\($0)" } ?? ""), key: Self.adminKey)
                #expect(page.status == .ok, "\(page.text)")
                #expect(page.json?["total"] == 7)
                let rows = page.json?["data"]?.arrayValue ?? []
                #expect(rows.count <= 3 && rows.allSatisfy { $0["providers"]?.arrayValue?.count == 2 })
                #expect(rows.allSatisfy { $0["report"] == nil }, "summaries only")
                seen += rows.compactMap { $0["id"]?.stringValue }
                before = page.json?["next_before"]?.stringValue
                #expect((before != nil) == (page.json?["has_more"] == true))
                pages += 1
            } while before != nil && pages < 10
            #expect(pages == 3 && seen == ids.reversed())

            // The report a cursor names is deleted: the next page is still the older ones.
            #expect(try await client.send(.delete, "/v1/switchyard/eval-reports/\(ids[4])", key: Self.adminKey).status == .ok)
            let after = try await client.send(.get, "/v1/switchyard/eval-reports?limit=2&before=\(ids[4])", key: Self.adminKey)
            #expect((after.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == [ids[3], ids[2]])
            let description = Self.item(after.json?["data"], 0)?["description"]?.stringValue
            #expect(description == "run 3")
        }
    }

    /// Admins write and delete; admins and team admins read; members, and requests without a key, are refused.
    @Test func whoMayDoWhat() async throws {
        try await GovernanceLiveTests.run(testing: .live) { setup in
            let keys = try await GovernanceLiveTests.makeKeys(setup)
            let client = setup.client
            let created = try await client.send(.post, "/v1/switchyard/eval-reports", json: Self.report(), key: Self.adminKey)
            let id = try #require(created.json?["id"]?.stringValue)
            let reads = ["/v1/switchyard/eval-reports", "/v1/switchyard/eval-reports/\(id)", "/v1/switchyard/eval-reports/\(id)/html",
                         "/v1/switchyard/eval-reports/\(id)?view=cells"]
            for path in reads {
                #expect(try await client.send(.get, path, key: keys.teamAdmin.secret).status == .ok, "team admin reads \(path)")
                #expect(try await client.send(.get, path, key: keys.member.secret).status == .forbidden, "member reads \(path)")
                #expect(try await client.send(.get, path, key: nil).status == .unauthorized, "no key reads \(path)")
            }
            for key in [keys.teamAdmin.secret, keys.member.secret, keys.writer.secret] {
                let upload = try await client.send(.post, "/v1/switchyard/eval-reports", json: Self.report(), key: key)
                #expect(upload.status == .forbidden && upload.json?["error"]?["message"]?.stringValue?.contains("admins only") == true)
                #expect(try await client.send(.delete, "/v1/switchyard/eval-reports/\(id)", key: key).status == .forbidden)
            }
            #expect(try await client.send(.post, "/v1/switchyard/eval-reports", json: Self.report(), key: nil).status == .unauthorized)
            let me = try await client.send(.get, "/v1/switchyard/me", key: keys.teamAdmin.secret)
            let permissions = me.json?["permissions"]?.arrayValue ?? []
            #expect(permissions.contains("readEvalReports") && !permissions.contains("publishEvalReports"))
            #expect(try await client.send(.get, "/v1/switchyard/eval-reports/\(id)", key: Self.adminKey).status == .ok, "still there")
        }
    }

    @Test(arguments: [
        (#"{"hello": 1}"#, "results"),
        (#"{"results": {"results": [{"promptIdx": 0, "testIdx": 0, "success": true}]}}"#, "results.results[0].provider"),
        (#"{"results": [{"promptIdx": 0, "testIdx": -1, "success": true, "provider": "a"}]}"#, "results[0].testIdx"),
        (#"{"results": [{"promptIdx": 0, "testIdx": 0, "success": "yes", "provider": "a"}]}"#, "results[0].success"),
        (#"{"results": [{"promptIdx": 0, "testIdx": 0, "success": true, "provider": "a", "cost": 1e308}, {"promptIdx": 0, "testIdx": 1, "success": true, "provider": "a", "cost": 1e308}]}"#, "cost"),
        (#"{"results": "#, "body"),
        ("[1, 2]", "[0]"),
        ("", "body"),
    ])
    func whatIsNotAReportIsA400NamingTheField(body: String, field: String) async throws {
        try await GovernanceLiveTests.run(testing: .live) { setup in
            let response = try await setup.client.send(.post, "/v1/switchyard/eval-reports", json: body, key: Self.adminKey)
            #expect(response.status == .badRequest, "\(response.text.prefix(300))")
            #expect(response.json?["error"]?["param"]?.stringValue == field, "\(response.text.prefix(300))")
            let list = try await setup.client.send(.get, "/v1/switchyard/eval-reports", key: Self.adminKey)
            #expect(list.json?["total"] == 0, "nothing stored")
        }
    }

    @Test func aReportOverTheLimitIsA413NamingIt() async throws {
        try await GovernanceLiveTests.run(testing: .live) { setup in
            let limit = Gateway.maximumEvalReportBytes
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(Self.adminKey)"
            headers[.contentType] = "application/json"
            let body = ByteBuffer(repeating: UInt8(ascii: " "), count: limit + 1)
            let response = try await setup.client.execute(uri: "/v1/switchyard/eval-reports", method: .post, headers: headers, body: body)
            #expect(response.status == .contentTooLarge, "\(response.status)")
            #expect(response.json?["error"]?["message"]?.stringValue?.contains("\(limit) bytes") == true, "\(String(buffer: response.body).prefix(300))")
            // Under the limit, a report larger than the server's ordinary body limit (64 KB here) is kept.
            let large = Self.report(tests: 400)
            #expect(large.utf8.count > 65_536)
            let created = try await setup.client.send(.post, "/v1/switchyard/eval-reports", json: large, key: Self.adminKey)
            #expect(created.status == .created && created.json?["tests"] == 400, "\(created.text.prefix(300))")
        }
    }

    @Test(arguments: [
        ("/v1/switchyard/eval-reports?limit=0", "limit"), ("/v1/switchyard/eval-reports?limit=1e300", "limit"),
        ("/v1/switchyard/eval-reports?limit=-1", "limit"), ("/v1/switchyard/eval-reports?limit=99999999999999999999", "limit"),
        ("/v1/switchyard/eval-reports?limit=NaN", "limit"), ("/v1/switchyard/eval-reports?before=%00", "before"),
        ("/v1/switchyard/eval-reports?before=1e300", "before"), ("/v1/switchyard/eval-reports?before=evr_ZZZZ", "before"),
    ])
    func hostileQueryValuesAre400sNamingTheField(path: String, field: String) async throws {
        try await GovernanceLiveTests.run(testing: .live) { setup in
            let response = try await setup.client.send(.get, path, key: Self.adminKey)
            #expect(response.status == .badRequest, "\(path): \(response.status) \(response.text.prefix(200))")
            #expect(response.json?["error"]?["param"]?.stringValue == field, "\(path): \(response.text.prefix(200))")
        }
    }

    /// The store lives in the gateway's one SQLite file beside the others, and a report outlives a restart.
    @Test func theStoreSharesTheGatewaysFileAndSurvivesAReopen() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-evr-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gateway.sqlite").path
        _ = try RequestLogStore(path: path)
        _ = try GovernanceStore(path: path)
        let summary = try Gateway.summarise(Data(Self.report().utf8), id: EvalReportSummary.newID(), createdAt: Date(), uploadedBy: "test")
        try EvalReportStore(path: path).saveReport(summary, report: Data(Self.report().utf8))
        let reopened = try EvalReportStore(path: path)
        // As the API shows it (a Date read back from seconds since 1970 may differ in its last bits).
        #expect(try reopened.listReports(before: nil, limit: 10).map(\.json) == [summary.json])
        #expect(try reopened.loadReport(id: summary.id) == Data(Self.report().utf8))
        #expect(try reopened.countReports() == 1)
        _ = try BatchStore(path: path)  // another store's migrations after this one's
        #expect(try EvalReportStore(path: path).deleteReport(id: summary.id))
    }
}
