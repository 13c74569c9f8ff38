import Foundation
import PostgresNIO
import PostgresStorage
import Storage
import SwitchyardCore
import Testing

/// Responses, batches and eval reports on PostgreSQL: each call sequence answers as SQLite's store does.
@Suite(
    "PostgreSQL responses, batches and eval reports", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"),
    .timeLimit(.minutes(2)))
struct PostgresStoresTests {
    static let base = 1_795_000_000.0

    @Test func responsesRoundTripAndReplace() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let postgres = try await open { try PostgresResponseStore(database: db.database) }
        let sqlite = try ResponseStore(path: ":memory:")
        let first = StoredResponse(
            id: "resp_1", owner: "key_a", createdAt: Date(timeIntervalSince1970: Self.base + 0.25), previousID: nil,
            input: [["type": "message", "content": "hi \u{0} there"]], response: ["id": "resp_1", "output": [["text": "hello"]]])
        let second = StoredResponse(
            id: "resp_2", owner: "key_a", createdAt: Date(timeIntervalSince1970: Self.base + 1), previousID: "resp_1", input: [],
            response: ["id": "resp_2", "output": []])
        var replaced = second
        replaced.owner = "key_b"
        let again = replaced
        let results = try await BlockingWork.run { () -> [Bool] in
            var same: [Bool] = []
            for store in [postgres, sqlite] as [any ResponsePersistence] {
                try store.saveResponse(first)
                try store.saveResponse(second)
            }
            try postgres.saveResponse(again)  // saved again: replaced
            try sqlite.saveResponse(again)
            for id in ["resp_1", "resp_2", "resp_3"] { same.append(try postgres.loadResponse(id: id) == sqlite.loadResponse(id: id)) }
            same.append(try postgres.loadResponse(id: "resp_1") == first)  // a JSON NUL escape survives as text
            same.append(try postgres.loadResponse(id: "resp_2")?.owner == "key_b")
            same.append(try postgres.deleteResponse(id: "resp_1") && !postgres.deleteResponse(id: "resp_1"))
            same.append(try postgres.loadResponse(id: "resp_1") == nil)
            return same
        }
        #expect(results == Array(repeating: true, count: results.count))
        #expect(results.count == 7)
    }

    @Test func batchesAnswerAsSQLiteDoes() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let postgres = try await open { try PostgresBatchStore(database: db.database) }
        let sqlite = try BatchStore(path: ":memory:")
        let answers = try await BlockingWork.run { () -> [[String]] in
            try [postgres, sqlite].map { (store: any BatchPersistence) -> [String] in
                var out: [String] = []
                for index in 0..<5 {
                    try store.saveFile(BatchFile(
                        id: "file_\(index)", owner: index % 2 == 0 ? "key_a" : "key_b", purpose: index == 4 ? "batch_output" : "batch",
                        filename: "in\(index).jsonl", bytes: 3, createdAt: Date(timeIntervalSince1970: Self.base + Double(index)),
                        content: Data([0, 1, UInt8(index)])))
                }
                // Replacing a file makes it the newest, as SQLite's INSERT OR REPLACE does.
                try store.saveFile(BatchFile(id: "file_1", owner: "key_b", purpose: "batch", filename: "again.jsonl", bytes: 1,
                                             createdAt: Date(timeIntervalSince1970: Self.base + 9), content: Data([9])))
                out.append(try store.listFiles(owner: nil, purpose: nil, after: nil, ascending: false, limit: 10).map(\.id).joined(separator: ","))
                out.append(try store.listFiles(owner: "key_a", purpose: "batch", after: nil, ascending: true, limit: 10).map(\.id).joined(separator: ","))
                out.append(try store.listFiles(owner: nil, purpose: nil, after: "file_2", ascending: false, limit: 2).map(\.id).joined(separator: ","))
                out.append(try store.listFiles(owner: nil, purpose: nil, after: "file_2", ascending: true, limit: 10).map(\.id).joined(separator: ","))
                out.append(try store.listFiles(owner: nil, purpose: nil, after: "gone", ascending: true, limit: 10).map(\.id).joined(separator: ","))
                let file = try store.loadFile(id: "file_3", content: true)
                out.append("\(file?.content == Data([0, 1, 3])) \(try store.loadFile(id: "file_3", content: false)?.content.isEmpty == true)")
                out.append("\(try store.deleteFile(id: "file_0")) \(try store.deleteFile(id: "file_0")) \(try store.loadFile(id: "file_0", content: false) == nil)")

                for index in 0..<4 {
                    var batch = BatchJob(
                        id: "batch_\(index)", kind: index == 3 ? .anthropic : .openai, owner: index == 1 ? "key_b" : "key_a",
                        endpoint: "/v1/chat/completions", inputFileID: "file_1", status: index == 2 ? .completed : .validating,
                        metadata: ["n": .int(Int64(index))], createdAt: Date(timeIntervalSince1970: Self.base + Double(index)),
                        expiresAt: Date(timeIntervalSince1970: Self.base + 86_400))
                    if index == 2 { batch.completedAt = Date(timeIntervalSince1970: Self.base + 50.5) }
                    let lines = (0..<(index == 0 ? 2_500 : 3)).map { line in
                        BatchLine(batchID: batch.id, index: line, customID: "c-\(line)", body: "{\"messages\":[\"\(line)\"]}")
                    }
                    try store.createBatch(batch, lines: lines)
                }
                var started = try store.loadBatch(id: "batch_0")!
                started.status = .inProgress
                started.inProgressAt = Date(timeIntervalSince1970: Self.base + 5)
                try store.saveBatch(started)
                out.append(try store.listBatches(kind: .openai, owner: nil, after: nil, before: nil, limit: 10).map(\.id).joined(separator: ","))
                out.append(try store.listBatches(kind: .openai, owner: "key_a", after: "batch_2", before: nil, limit: 10).map(\.id).joined(separator: ","))
                out.append(try store.listBatches(kind: .openai, owner: nil, after: nil, before: "batch_0", limit: 1).map(\.id).joined(separator: ","))
                out.append(try store.activeBatches().map { "\($0.id):\($0.status.rawValue)" }.joined(separator: ","))
                let loaded = try store.loadBatch(id: "batch_2")
                out.append("\(loaded?.completedAt?.timeIntervalSince1970 ?? 0) \(loaded?.metadata?.jsonString() ?? "") \(loaded?.kind.rawValue ?? "")")

                try store.updateLine(batchID: "batch_0", index: 1, state: .succeeded, result: ["ok": true])
                try store.updateLine(batchID: "batch_0", index: 0, state: .running, result: nil)
                out.append(try store.lines(batchID: "batch_0", state: .pending, limit: 3).map { "\($0.index)" }.joined(separator: ","))
                let moved = try store.updateLines(batchID: "batch_0", from: .pending, to: .cancelled) { line in ["cancelled": .int(Int64(line.index))] }
                out.append("\(moved)")
                let counts = try store.lineCounts(batchID: "batch_0")
                out.append(BatchLineState.allCases.map { "\($0.rawValue)=\(counts[$0])" }.joined(separator: ","))
                let finished = try store.finishedLines(batchID: "batch_0")
                out.append("\(finished.count) \(finished.first?.index ?? -1) \(finished.first?.result?.jsonString() ?? "") \(finished.last?.result?.jsonString() ?? "")")
                out.append("\(try store.deleteBatch(id: "batch_0")) \(try store.deleteBatch(id: "batch_0")) \(try store.lineCounts(batchID: "batch_0").total)")
                return out
            }
        }
        #expect(answers[0] == answers[1])
        #expect(answers[0].first == "file_1,file_4,file_3,file_2,file_0")
        #expect(answers[0].contains("2498"))  // every pending line of a batch written in two statements moved
    }

    @Test func evalReportsPageByIDAndKeepTheUpload() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let postgres = try await open { try PostgresEvalReportStore(database: db.database) }
        let sqlite = try EvalReportStore(path: ":memory:")
        let summaries = (0..<7).map { index in
            EvalReportSummary(
                id: EvalReportSummary.newID(at: Date(timeIntervalSince1970: Self.base + Double(index))), createdAt: Date(timeIntervalSince1970: Self.base + Double(index)),
                description: index == 2 ? nil : "suite \(index)", evalID: "ev\(index)", startedAt: index == 3 ? nil : Date(timeIntervalSince1970: Self.base - 5),
                providers: [EvalReportProviderSummary(
                    id: "p", label: "P", cells: 4, passes: 3, errors: 0, meanScore: 0.75, costUSD: 0.5, latencyP50Ms: 10, latencyP95Ms: nil)],
                tests: 2, cells: 4, passes: 3, errors: 0, costUSD: 0.5, durationMs: 1234.5, bytes: 10 + index, uploadedBy: "key_a")
        }
        let report = Data((0..<256).map { UInt8($0) })  // every byte, NUL included: stored as bytes
        let answers = try await BlockingWork.run { () -> [String] in
            var out: [String] = []
            for store in [postgres, sqlite] as [any EvalReportPersistence] {
                for summary in summaries { try store.saveReport(summary, report: report) }
                var page = try store.listReports(before: nil, limit: 3)
                var ids = page.map(\.id)
                while let last = page.last {
                    page = try store.listReports(before: last.id, limit: 3)
                    ids += page.map(\.id)
                }
                out.append(ids.joined(separator: ","))
                out.append("\(try store.countReports()) \(try store.loadReport(id: summaries[2].id) == report)")
                out.append("\(try store.loadReportSummary(id: summaries[3].id) == summaries[3]) \(try store.loadReportSummary(id: "evr_none") == nil)")
                out.append("\(try store.deleteReport(id: summaries[0].id)) \(try store.deleteReport(id: summaries[0].id)) \(try store.countReports())")
                out.append("\((try? store.saveReport(summaries[1], report: report)) == nil)")  // the id is taken
            }
            return out
        }
        #expect(Array(answers[0..<5]) == Array(answers[5..<10]))
        #expect(answers[0] == summaries.reversed().map(\.id).joined(separator: ","))
        #expect(answers[1] == "7 true" && answers[2] == "true true" && answers[3] == "true false 6" && answers[4] == "true")
    }
}
