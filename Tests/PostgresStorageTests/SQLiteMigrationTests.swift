import Foundation
import Governance
import PostgresNIO
import PostgresStorage
import Storage
import SwitchyardCore
import Testing

/// `switchyard migrate`'s copy: every store's rows arrive, the audit chain unchanged, and repeating it
/// adds nothing (pages of two rows, so paging is exercised on every table).
@Suite(
    "SQLite to PostgreSQL migration", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"),
    .timeLimit(.minutes(3)))
struct SQLiteMigrationTests {
    static let base = Date(timeIntervalSince1970: 1_790_000_000.125)

    /// A SQLite file with a little of everything, as `switchyard serve` would have written it.
    static func embeddedDeployment() async throws -> (path: String, audit: [AuditEntry]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID().uuidString)")
        let path = directory.appendingPathComponent("switchyard.db").path
        let audit = try await BlockingWork.run { () -> [AuditEntry] in
            let governance = try GovernanceStore(path: path)
            try governance.saveTeam(StoredTeam(name: "red", budget: Budget(usd: 5), createdAt: base))
            for index in 0..<3 {
                try governance.saveKey(StoredKey(
                    id: "key_\(index)", hash: "hash\(index)", prefix: "sk-\(index)", name: "k\(index)", team: index == 0 ? "red" : nil,
                    revokedAt: index == 2 ? base : nil, createdAt: base.addingTimeInterval(Double(index))))
            }
            for index in 0..<5 {
                _ = try governance.appendAudit(
                    at: base.addingTimeInterval(Double(index) + 0.0004), actor: "admin", action: "key.create", target: "key_\(index)",
                    details: ["n": .int(Int64(index))])
            }
            try ResponseStore(path: path).saveResponse(
                StoredResponse(id: "resp_1", owner: "key_0", createdAt: base, previousID: nil, input: [["content": "hi"]], response: ["id": "resp_1"]))
            let batches = try BatchStore(path: path)
            for index in 0..<3 {
                try batches.saveFile(BatchFile(
                    id: "file_\(index)", owner: "key_0", purpose: "batch", filename: "f\(index).jsonl", bytes: 2, createdAt: base, content: Data([0, UInt8(index)])))
            }
            let batch = BatchJob(
                id: "batch_1", kind: .openai, owner: "key_0", endpoint: "/v1/chat/completions", inputFileID: "file_0", status: .completed,
                metadata: nil, createdAt: base, expiresAt: base.addingTimeInterval(86_400))
            try batches.createBatch(batch, lines: (0..<3).map { BatchLine(batchID: "batch_1", index: $0, customID: "c\($0)", body: "{}") })
            try batches.updateLine(batchID: "batch_1", index: 1, state: .succeeded, result: ["ok": true])
            try EvalReportStore(path: path).saveReport(
                EvalReportSummary(
                    id: EvalReportSummary.newID(at: base), createdAt: base, description: "suite", evalID: "ev", startedAt: nil, providers: [],
                    tests: 1, cells: 1, passes: 1, errors: 0, costUSD: 0, durationMs: 1, bytes: 3, uploadedBy: "key_0"),
                report: Data([1, 2, 3]))
            let retrieval = try RetrievalStore(path: path)
            try retrieval.createCollection(StoredCollection(name: "notes", embeddingModel: "hashed", dimension: 16, createdAt: base))
            _ = try retrieval.replace(
                [(StoredDocument(id: "yak", title: "Yak", source: nil, metadata: [:], allowed: nil, contentHash: "h1", updatedAt: base),
                  storedChunks("yak", ["The yak code word is marmalade.", "Yaks live high."])),
                 (StoredDocument(id: "zebra", title: nil, source: nil, metadata: ["k": "v"], allowed: ["g"], contentHash: "h2", updatedAt: base),
                  storedChunks("zebra", ["The zebra code word is periwinkle."]))],
                in: "notes")
            return try governance.auditEntries()
        }
        let log = try await BlockingWork.run { try RequestLogStore(path: path) }
        let records = (0..<7).map { index in
            var record = RequestRecord(
                id: "req_\(index)", createdAt: base.addingTimeInterval(Double(index / 2)), caller: "k", clientProtocol: "openai", endpoint: "chat",
                model: "m", provider: "mock", upstreamModel: "u", stream: false, promptTokens: 10, completionTokens: 5, cachedTokens: 0,
                usageEstimated: false, costUSD: 0.125 * Double(index + 1), latencyMs: 3, ttftMs: nil, status: 200, error: nil, route: nil,
                cache: nil, savedUSD: 0, toolCalls: nil)
            record.keyID = index % 2 == 0 ? "key_0" : "key_1"
            record.team = index % 2 == 0 ? "red" : nil
            return record
        }
        try await log.insert(taking: { records })
        for index in 0..<3 {
            try await log.insertFeedback(Feedback(
                id: "fb_\(index)", requestID: "req_\(index)", episodeID: nil, metric: "helpful", value: .bool(index != 1), createdAt: base))
        }
        let now = Date()
        let cache = try await BlockingWork.run { try ResponseCacheStore(path: path) }
        try await cache.save((0..<3).map { index in
            CacheRecord(
                key: "c\(index)", namespace: "t", scope: nil, vector: nil, text: nil, response: Data("{}".utf8), model: "m", costUSD: 0.01,
                promptTokens: 1, completionTokens: 1, createdAt: now, expiresAt: now.addingTimeInterval(index == 2 ? -1 : 3600))
        })
        let workflows = try await BlockingWork.run { try WorkflowRunStore(path: path) }
        for index in 0..<3 {
            try await workflows.createRun(WorkflowRunRecord(id: "wfr_\(index)", workflow: "w", input: "in", createdAt: base.addingTimeInterval(Double(index))))
            try await workflows.recordStep(
                WorkflowStepRecord(
                    runID: "wfr_\(index)", stepID: "first", status: .completed, input: "p", output: ["text": "o"], error: nil, costUSD: 0.1,
                    promptTokens: 1, completionTokens: 1, ms: 2, attempts: 1, startedAt: base, finishedAt: base),
                runCostUSD: 0.1, stepsDone: 1)
            if index < 2 { try await workflows.finishRun(id: "wfr_\(index)", status: .completed, output: ["text": "o"], error: nil, at: base) }
        }
        return (path, audit)
    }

    @Test func copiesEveryStoreAndRepeatsWithoutDuplicates() async throws {
        let (path, sourceAudit) = try await Self.embeddedDeployment()
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let summary = try await SQLiteMigration(sourcePath: path, target: db.database, pageSize: 2).run()

        #expect(summary.requests == .init(source: 7, added: 7))
        #expect(summary.feedback == .init(source: 3, added: 3))
        #expect(summary.keys == .init(source: 3, added: 3))
        #expect(summary.teams == .init(source: 1, added: 1))
        #expect(summary.auditEntries == .init(source: 5, added: 5))
        #expect(summary.collections.source == 1 && summary.documents.source == 2 && summary.chunks == .init(source: 3, added: 3))
        #expect(summary.cacheEntries == .init(source: 2, added: 2))  // the expired one stays behind
        #expect(summary.workflowRuns == .init(source: 3, added: 3) && summary.workflowSteps.source == 3)
        #expect(summary.responses.source == 1 && summary.files.source == 3 && summary.evalReports.source == 1)
        #expect(summary.batches.source == 1 && summary.batchLines == .init(source: 3, added: 3))
        #expect(summary.copied.hasPrefix("copied 7 requests, 3 feedback, 3 keys, 1 teams, 5 audit entries, 1 collections (2 documents, 3 chunks)"))

        let database = db.database
        let log = try await open { try PostgresRequestLogStore(database: database) }
        let governance = try await open { try PostgresGovernanceStore(database: database, spend: { _, _, _ in 0 }) }
        let retrieval = try await open { try PostgresRetrievalStore(database: database) }
        let workflows = try await open { try PostgresWorkflowRunStore(database: database, replicaID: "test") }
        let batches = try await open { try PostgresBatchStore(database: database) }
        let audit = try await BlockingWork.run { try governance.auditEntries() }
        #expect(audit == sourceAudit)
        #expect(AuditChain.verify(audit) == nil)
        let keys = try await BlockingWork.run { try governance.loadKeys() }
        #expect(keys.map(\.id) == ["key_0", "key_1", "key_2"] && keys[2].revokedAt != nil && keys[0].team == "red")
        let spend = try await BlockingWork.run { try log.spend(key: "key_0", team: "red", since: Self.base) }
        #expect(spend == 0.125 * (1 + 3 + 5 + 7))
        let records = try await log.recent(limit: 100)
        #expect(records.count == 7)
        let feedback = try await log.feedback(for: records)
        #expect(feedback["req_1"]?.map(\.value) == [.bool(false)])
        let chunks = try await BlockingWork.run { try retrieval.chunks(in: "notes") }
        #expect(chunks.map(\.text).sorted() == ["The yak code word is marmalade.", "The zebra code word is periwinkle.", "Yaks live high."])
        #expect(chunks.first { $0.documentID == "zebra" }?.vector == hashedVector("The zebra code word is periwinkle."))
        // A replica builds its index from the database: the document is found.
        let service = try await collectionService(retrieval)
        #expect(try await service.keywordHits("marmalade", in: "notes").first == "yak")
        #expect(try await workflows.run(id: "wfr_0")?.status == .completed)
        #expect(try await workflows.steps(runID: "wfr_2").map(\.stepID) == ["first"])
        #expect(try await workflows.lease(of: "wfr_2")?.owner == nil)  // running, nobody's: the first replica to look resumes it
        let lines = try await BlockingWork.run { try batches.lineCounts(batchID: "batch_1") }
        #expect(lines[.succeeded] == 1 && lines[.pending] == 2)
        let files = try await BlockingWork.run { try batches.listFiles(owner: nil, purpose: nil, after: nil, ascending: true, limit: 10) }
        #expect(files.map(\.id) == ["file_0", "file_1", "file_2"])

        // Not empty any more: refused without --force, and nothing written.
        let removed = try await db.execute("DELETE FROM request_log WHERE id = 'req_3' RETURNING id")
        #expect(removed.count == 1)
        await #expect(throws: SQLiteMigration.Failure.self) { _ = try await SQLiteMigration(sourcePath: path, target: database).run() }
        #expect(try await BlockingWork.run { try log.count() } == 6)
        // Forced: only the missing row comes back; again: nothing.
        let forced = try await SQLiteMigration(sourcePath: path, target: database, force: true, pageSize: 2).run()
        #expect(forced.requests == .init(source: 7, added: 1))
        #expect(forced.added == 1)
        let again = try await SQLiteMigration(sourcePath: path, target: database, force: true, pageSize: 3).run()
        #expect(again.added == 0)
        #expect(try await BlockingWork.run { try log.count() } == 7)
        #expect(try await BlockingWork.run { try governance.auditEntries() } == sourceAudit)
        #expect(try await BlockingWork.run { try retrieval.chunks(in: "notes") }.count == 3)
    }

    /// Records a SQLite log pruned by retention live on in its daily roll-ups: they cross over with the rest, so a
    /// budget since the epoch reads the same on PostgreSQL, and a second run does not count them twice.
    @Test func prunedSpendCrossesOverOnce() async throws {
        let (path, _) = try await Self.embeddedDeployment()
        let sqlite = try await BlockingWork.run { try RequestLogStore(path: path) }
        let old = (0..<4).map { index in
            var record = RequestRecord(
                id: "req_old_\(index)", createdAt: Self.base.addingTimeInterval(-10 * 86_400 + Double(index) * 3_600), caller: "k",
                clientProtocol: "openai", endpoint: "chat", model: "m")
            record.costUSD = 0.25 * Double(index + 1)
            record.keyID = "key_0"
            record.team = index % 2 == 0 ? "red" : nil
            return record
        }
        try await sqlite.insert(taking: { old })
        let cutoff = Self.base.addingTimeInterval(-5 * 86_400)
        #expect(try await sqlite.prune(before: cutoff, limit: 100) == 4)
        let epoch = Date(timeIntervalSince1970: 0)
        let expected = try sqlite.spend(key: "key_0", team: nil, since: epoch)
        #expect(expected == 4.5)  // 0.125 × (1 + 3 + 5 + 7) kept, 0.25 × (1 + 2 + 3 + 4) pruned

        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let summary = try await SQLiteMigration(sourcePath: path, target: db.database, pageSize: 2).run()
        #expect(summary.spendRollups.source >= 1 && summary.spendRollups.added == summary.spendRollups.source)
        let database = db.database
        let log = try await open { try PostgresRequestLogStore(database: database) }
        for (key, team) in [("key_0", nil), (nil, "red"), ("key_0", "red"), (nil, nil)] as [(String?, String?)] {
            let there = try await BlockingWork.run { try log.spend(key: key, team: team, since: epoch) }
            #expect(there == (try sqlite.spend(key: key, team: team, since: epoch)), "\(String(describing: key)) \(String(describing: team))")
        }
        let again = try await SQLiteMigration(sourcePath: path, target: database, force: true, pageSize: 2).run()
        #expect(again.spendRollups.added == 0)
        #expect(try await BlockingWork.run { try log.spend(key: "key_0", team: nil, since: epoch) } == expected)
    }

    @Test func refusesAnotherAuditChainAndAMissingFile() async throws {
        let (path, _) = try await Self.embeddedDeployment()
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let database = db.database
        let governance = try await open { try PostgresGovernanceStore(database: database, spend: { _, _, _ in 0 }) }
        _ = try await BlockingWork.run {
            try governance.appendAudit(at: Date(), actor: "someone", action: "team.create", target: "blue", details: [:])
        }
        do {
            _ = try await SQLiteMigration(sourcePath: path, target: database, force: true).run()
            Issue.record("a target with another audit chain was accepted")
        } catch let failure as SQLiteMigration.Failure {
            #expect(failure.kind == .auditConflict)
        }
        // Nothing was written: the refusal came first.
        #expect(try await BlockingWork.run { try governance.loadKeys() }.isEmpty)
        #expect(try await db.execute("SELECT 1 FROM request_log").isEmpty)

        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("none-\(UUID().uuidString).db").path
        do {
            _ = try await SQLiteMigration(sourcePath: missing, target: database).run()
            Issue.record("a missing source was accepted")
        } catch let failure as SQLiteMigration.Failure {
            #expect(failure.kind == .sourceMissing)
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
