import Evaluation
import Foundation
import SwitchyardCore

/// Eval reports kept by the gateway (issue 23): the results JSON `switchyard eval run --output x.json`
/// writes (or promptfoo's), uploaded, checked with the report reader, summarised once, and kept as
/// uploaded. Reports belong to no team: the HTTP edge lets admins write and admins and team admins read.
extension Gateway {
    /// The largest report the gateway keeps: a 5,000-cell run with long answers is a few MB.
    public static let maximumEvalReportBytes = 32 * 1024 * 1024

    /// Checks `data` is a results file, summarises it and stores it. Not a report: a 400 naming the
    /// field (`results.results[3].provider`); larger than `maximumEvalReportBytes`: a 413.
    public func publishEvalReport(_ data: Data, caller: Caller, now: Date = Date()) async throws -> EvalReportSummary {
        guard data.count <= Self.maximumEvalReportBytes else { throw SwitchyardError.payloadTooLarge(limit: Self.maximumEvalReportBytes) }
        guard !data.isEmpty else { throw SwitchyardError.invalidRequest("The request body is empty; send a results JSON file.", param: "body") }
        let store = try evalReports()
        let uploader = caller.key == nil ? "anonymous" : caller.id
        return try await BlockingWork.run {
            let summary = try Self.summarise(data, id: EvalReportSummary.newID(at: now), createdAt: now, uploadedBy: uploader)
            try store.saveReport(summary, report: data)
            return summary
        }
    }

    /// Newest first, older than `before` (a report id).
    public func evalReportPage(before: String?, limit: Int, caller: Caller) async throws -> EvalReportPage {
        let store = try evalReports()
        return try await BlockingWork.run {
            // One more than asked says whether an older page exists.
            var reports = try store.listReports(before: before, limit: limit + 1)
            let more = reports.count > limit
            if more { reports.removeLast() }
            return EvalReportPage(reports: reports, next: more ? reports.last?.id : nil, total: try store.countReports())
        }
    }

    public func evalReportSummary(id: String, caller: Caller) async throws -> EvalReportSummary {
        let store = try evalReports()
        guard let summary = try await BlockingWork.run({ try store.loadReportSummary(id: id) }) else { throw Self.noEvalReport(id) }
        return summary
    }

    /// The report as uploaded.
    public func evalReportData(id: String, caller: Caller) async throws -> Data {
        let store = try evalReports()
        guard let data = try await BlockingWork.run({ try store.loadReport(id: id) }) else { throw Self.noEvalReport(id) }
        return data
    }

    /// A page of the report's rows (test × prompt), a cell per provider, outputs cut short: what
    /// the dashboard's detail view draws, without sending it the whole file.
    public func evalReportCells(id: String, offset: Int, limit: Int, caller: Caller) async throws -> JSONValue {
        let summary = try await evalReportSummary(id: id, caller: caller)
        let run = try await evalReportRun(id: id, caller: caller)
        return try await BlockingWork.run {
            var page = EvalReport.cellsJSON(run, offset: offset, limit: limit).objectValue ?? [:]
            page["object"] = "switchyard.eval_report.cells"
            page["report"] = summary.json
            return .object(page)
        }
    }

    /// The report read back as a run (for its HTML page and its cells).
    func evalReportRun(id: String, caller: Caller) async throws -> EvalRun {
        if let last = lastEvalReportRun.withLock({ $0 }), last.id == id {
            _ = try await evalReportSummary(id: id, caller: caller)  // still kept (a delete may have raced the cache)
            return last.run
        }
        let data = try await evalReportData(id: id, caller: caller)
        let run = try await BlockingWork.run {
            do {
                return try EvalReport.run(fromResults: data)
            } catch let error as EvalReportError {
                // It was checked on upload; a report this build cannot read is the gateway's problem, said plainly.
                throw SwitchyardError.internal("The stored report \(id) cannot be read: \(error.description.quotedPrefix(300))")
            }
        }
        lastEvalReportRun.withLock { $0 = (id, run) }
        return run
    }

    /// The report's self-contained HTML page (the one `eval run --output x.html` writes).
    public func evalReportHTML(id: String, caller: Caller) async throws -> String {
        let run = try await evalReportRun(id: id, caller: caller)
        return try await BlockingWork.run { EvalReport.html(run) }
    }

    public func deleteEvalReport(id: String, caller: Caller) async throws {
        let store = try evalReports()
        lastEvalReportRun.withLock { if $0?.id == id { $0 = nil } }
        guard try await BlockingWork.run({ try store.deleteReport(id: id) }) else { throw Self.noEvalReport(id) }
    }

    private func evalReports() throws -> any EvalReportPersistence {
        guard let evalReportStore else {
            throw SwitchyardError(code: .notFound, message: "This gateway has no database for eval reports.", status: 404)
        }
        return evalReportStore
    }

    public static func noEvalReport(_ id: String) -> SwitchyardError {
        SwitchyardError(code: .notFound, message: "No eval report '\(id.quotedPrefix(80))'.", status: 404, param: "id")
    }

    /// The summary of a results file; a file that is not one is a 400 naming the field.
    public static func summarise(_ data: Data, id: String, createdAt: Date, uploadedBy: String) throws -> EvalReportSummary {
        let root: JSONValue
        let run: EvalRun
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SwitchyardError.invalidRequest("The body is not valid JSON: send the file `switchyard eval run --output x.json` writes.", param: "body")
        }
        do {
            run = try EvalReport.run(fromResults: root)
        } catch let error as EvalReportError {
            throw SwitchyardError.invalidRequest(
                "Not an eval report: \(error.description.quotedPrefix(400))", param: error.path.isEmpty ? "body" : error.path)
        }
        let providers = run.providerSummaries.map { summary in
            EvalReportProviderSummary(
                id: String(summary.provider.id.prefix(200)), label: String(summary.provider.label.prefix(200)),
                cells: summary.cells, passes: summary.passes,
                errors: summary.errors, meanScore: summary.meanScore, costUSD: summary.costUSD,
                latencyP50Ms: summary.latencyP50Ms, latencyP95Ms: summary.latencyP95Ms)
        }
        let cost = run.results.reduce(0) { $0 + $1.costUSD }
        // Each number is finite (the reader checks), but sums of hostile ones need not be.
        guard cost.isFinite, providers.allSatisfy({ $0.costUSD.isFinite && $0.meanScore.isFinite }) else {
            throw SwitchyardError.invalidRequest("The report's costs or scores add up to more than a number can hold.", param: "cost")
        }
        let description = run.description.flatMap { $0.isEmpty ? nil : String($0.prefix(1_000)) }
        let evalID = root["evalId"]?.stringValue.flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        return EvalReportSummary(
            id: id, createdAt: createdAt, description: description, evalID: evalID, startedAt: EvalReport.startedAt(root),
            providers: providers, tests: run.testCount, cells: run.results.count, passes: run.successes, errors: run.errors,
            costUSD: cost, durationMs: run.durationMs, bytes: data.count, uploadedBy: uploadedBy)
    }
}
