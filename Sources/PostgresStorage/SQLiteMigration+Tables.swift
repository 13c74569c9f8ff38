import Foundation
import Storage
import SwitchyardCore

/// The copy of each table, in an order that keeps references whole (teams before the keys in them,
/// collections before their documents, a run with its steps, a batch with its lines). Large tables
/// go a page at a time; rows already in the target are kept as they are.
extension SQLiteMigration {
    /// Pages through `read` (a blocking SQLite read) from the first row and hands each page to `write`.
    func pages<Item: Sendable>(
        limit: Int, _ read: @escaping @Sendable (_ after: Int64, _ limit: Int) throws -> ExportPage<Item>,
        _ write: ([Item]) async throws -> Void
    ) async throws {
        var after: Int64 = 0
        while true {
            let from = after
            let page = try await BlockingWork.run { try read(from, limit) }
            if !page.items.isEmpty { try await write(page.items) }
            guard let next = page.next else { return }
            after = next
        }
    }

    func copyGovernance(_ source: Source, _ target: Target, audit: [AuditEntry], alreadyThere: Int, into summary: inout Summary) async throws {
        let teams = try await BlockingWork.run { try source.governance.loadTeams() }
        let presentTeams = Set(try await BlockingWork.run { try target.governance.loadTeams().map(\.name) })
        let newTeams = teams.filter { !presentTeams.contains($0.name) }
        try await BlockingWork.run { for team in newTeams { try target.governance.saveTeam(team) } }
        summary.teams = Count(source: teams.count, added: newTeams.count)
        report("teams", summary.teams)

        let keys = try await BlockingWork.run { try source.governance.loadKeys() }
        let presentKeys = Set(try await BlockingWork.run { try target.governance.loadKeys().map(\.id) })
        // A key already there keeps its state there (revoked since, say): it is not overwritten.
        let newKeys = keys.filter { !presentKeys.contains($0.id) }
        try await BlockingWork.run { for key in newKeys { try target.governance.saveKey(key) } }
        summary.keys = Count(source: keys.count, added: newKeys.count)
        report("keys", summary.keys)

        // The target's chain is the source's first `alreadyThere` entries (checked before): the rest follow.
        let missing = Array(audit.dropFirst(alreadyThere))
        let added = try await BlockingWork.run { try target.governance.importAudit(missing) }
        summary.auditEntries = Count(source: audit.count, added: added)
        report("audit entries", summary.auditEntries)
    }

    func copyRequestLog(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        let before = try await BlockingWork.run { try target.requestLog.count() }
        var read = 0
        var announced = 0
        try await pages(limit: pageSize, { after, limit in try source.requestLog.exportRecords(after: after, limit: limit) }) { records in
            // Ids are the primary key: a row already there stays as it is.
            try await target.requestLog.insert(taking: { records })
            read += records.count
            if read - announced >= 10 * pageSize {
                announced = read
                progress("requests: \(Summary.number(read))…")
            }
        }
        if target.requestLog.refusedRows > 0 {
            throw Failure(
                kind: .verification,
                message: "PostgreSQL refused \(Summary.number(target.requestLog.refusedRows)) request log rows (see the log above); the rest were copied.")
        }
        let after = try await BlockingWork.run { try target.requestLog.count() }
        summary.requests = Count(source: read, added: after - before)
        report("requests", summary.requests)

        var feedback = Count()
        try await pages(limit: pageSize, { after, limit in try source.requestLog.exportFeedback(after: after, limit: limit) }) { items in
            feedback.source += items.count
            feedback.added += try await target.requestLog.importFeedback(items)
        }
        summary.feedback = feedback
        report("feedback", feedback)

        // The spend of days pruned by retention, which budgets still count; copied only into a log that has none.
        let rollups = try await BlockingWork.run { try source.requestLog.exportRollups() }
        summary.spendRollups = Count(source: rollups.count, added: try await target.requestLog.importRollups(rollups))
        if !rollups.isEmpty { report("spend roll-ups", summary.spendRollups) }
    }

    func copyCache(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        let now = Date()
        var count = Count()
        // Answers are up to megabytes each: smaller pages.
        try await pages(limit: min(pageSize, 200), { after, limit in try source.cache.exportRecords(now: now, after: after, limit: limit) }) { records in
            count.source += records.count
            count.added += try await target.cache.importRecords(records)
        }
        summary.cacheEntries = count
        report("cached responses", count)
    }

    func copyCollections(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        let collections = try await BlockingWork.run { try source.retrieval.loadCollections() }
        let present = Set(try await BlockingWork.run { try target.retrieval.loadCollections().map(\.name) })
        for collection in collections {
            let name = collection.name
            summary.collections.source += 1
            if !present.contains(name) {
                try await BlockingWork.run { try target.retrieval.createCollection(collection) }
                summary.collections.added += 1
            }
            let documents = try await BlockingWork.run { try source.retrieval.documents(in: name) }
            let sourceChunks = try await BlockingWork.run { try source.retrieval.chunks(in: name) }
            let chunks = Dictionary(grouping: sourceChunks, by: \.documentID)
            let stored = Set(try await BlockingWork.run { try target.retrieval.documents(in: name).map(\.id) })
            // A document already there keeps its chunks; the others come with theirs, vectors as they are (no re-embedding).
            let missing = documents.filter { !stored.contains($0.id) }.map { (document: $0, chunks: chunks[$0.id] ?? []) }
            summary.documents.source += documents.count
            summary.documents.added += missing.count
            summary.chunks.source += documents.reduce(0) { $0 + (chunks[$1.id]?.count ?? 0) }
            summary.chunks.added += missing.reduce(0) { $0 + $1.chunks.count }
            // A few documents per transaction: one write each, the change feed told once per group.
            var start = 0
            while start < missing.count {
                let group = Array(missing[start..<min(missing.count, start + 64)])
                start += group.count
                _ = try await BlockingWork.run { try target.retrieval.replace(group, in: name) }
            }
        }
        report("collections", summary.collections, detail: " (\(Summary.number(summary.documents.source)) documents, \(Summary.number(summary.chunks.source)) chunks)")
    }

    func copyWorkflowRuns(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        var runs = Count()
        var steps = Count()
        try await pages(limit: pageSize, { after, limit in try source.workflows.exportRuns(after: after, limit: limit) }) { page in
            for run in page {
                let finished = try await source.workflows.steps(runID: run.id)
                runs.source += 1
                steps.source += finished.count
                if try await target.workflows.importRun(run, steps: finished) {
                    runs.added += 1
                    steps.added += finished.count
                }
            }
        }
        summary.workflowRuns = runs
        summary.workflowSteps = steps
        report("workflow runs", runs, detail: " (\(Summary.number(steps.source)) steps)")
    }

    func copyResponses(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        var count = Count()
        try await pages(limit: min(pageSize, 200), { after, limit in try source.responses.exportResponses(after: after, limit: limit) }) { page in
            count.source += page.count
            count.added += try await BlockingWork.run { try page.filter { try target.responses.importResponse($0) }.count }
        }
        summary.responses = count
        report("stored responses", count)
    }

    func copyBatches(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        var files = Count()
        // In the order they were stored, which is the order they list in.
        try await pages(limit: 16, { after, limit in try source.batches.exportFiles(after: after, limit: limit) }) { page in
            files.source += page.count
            files.added += try await BlockingWork.run { try page.filter { try target.batches.importFile($0) }.count }
        }
        summary.files = files
        report("files", files)

        var batches = Count()
        var lines = Count()
        try await pages(limit: pageSize, { after, limit in try source.batches.exportBatches(after: after, limit: limit) }) { page in
            for batch in page {
                let batchLines = try await BlockingWork.run { try source.batches.allLines(batchID: batch.id) }
                batches.source += 1
                lines.source += batchLines.count
                if try await BlockingWork.run({ try target.batches.importBatch(batch, lines: batchLines) }) {
                    batches.added += 1
                    lines.added += batchLines.count
                }
            }
        }
        summary.batches = batches
        summary.batchLines = lines
        report("batches", batches, detail: " (\(Summary.number(lines.source)) lines)")
    }

    func copyEvalReports(_ source: Source, _ target: Target, into summary: inout Summary) async throws {
        var count = Count()
        var before: String?
        while true {
            let cursor = before
            let page = try await BlockingWork.run { try source.evalReports.listReports(before: cursor, limit: 100) }
            for item in page {
                count.source += 1
                let stored = try await BlockingWork.run { () -> Bool in
                    guard let body = try source.evalReports.loadReport(id: item.id) else { return false }
                    return try target.evalReports.importReport(item, report: body)
                }
                if stored { count.added += 1 }
            }
            guard page.count == 100, let last = page.last else { break }
            before = last.id
        }
        summary.evalReports = count
        report("eval reports", count)
    }
}
