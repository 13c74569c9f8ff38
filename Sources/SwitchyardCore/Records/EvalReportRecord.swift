import Foundation
import Synchronization

/// One provider's side of a stored eval report, as the report's own summary computes it.
public struct EvalReportProviderSummary: Sendable, Hashable {
    public var id: String
    public var label: String
    public var cells: Int
    public var passes: Int
    public var errors: Int
    public var meanScore: Double
    /// Answers plus judges, as the file records them.
    public var costUSD: Double
    public var latencyP50Ms: Double?
    public var latencyP95Ms: Double?

    public init(
        id: String, label: String, cells: Int, passes: Int, errors: Int, meanScore: Double, costUSD: Double,
        latencyP50Ms: Double?, latencyP95Ms: Double?
    ) {
        self.id = id
        self.label = label
        self.cells = cells
        self.passes = passes
        self.errors = errors
        self.meanScore = meanScore
        self.costUSD = costUSD
        self.latencyP50Ms = latencyP50Ms
        self.latencyP95Ms = latencyP95Ms
    }

    public var failures: Int { cells - passes - errors }
    public var passRate: Double { cells == 0 ? 0 : Double(passes) / Double(cells) }
}

/// What the list of stored eval reports shows of each: everything but the report itself.
public struct EvalReportSummary: Sendable, Hashable {
    /// `evr_` and 20 hex digits: 12 of the upload's millisecond time, then 8 random, so ids sort by age.
    public var id: String
    /// When the gateway stored it.
    public var createdAt: Date
    /// The suite's `description`; nil when it has none.
    public var description: String?
    /// The file's `evalId`, when it has one.
    public var evalID: String?
    /// When the run started, as the file says.
    public var startedAt: Date?
    public var providers: [EvalReportProviderSummary]
    public var tests: Int
    public var cells: Int
    public var passes: Int
    public var errors: Int
    public var costUSD: Double
    public var durationMs: Double
    /// Size of the report as uploaded.
    public var bytes: Int
    /// The key that uploaded it (its id, or "anonymous").
    public var uploadedBy: String

    public init(
        id: String, createdAt: Date, description: String?, evalID: String?, startedAt: Date?, providers: [EvalReportProviderSummary],
        tests: Int, cells: Int, passes: Int, errors: Int, costUSD: Double, durationMs: Double, bytes: Int, uploadedBy: String
    ) {
        self.id = id
        self.createdAt = createdAt
        self.description = description
        self.evalID = evalID
        self.startedAt = startedAt
        self.providers = providers
        self.tests = tests
        self.cells = cells
        self.passes = passes
        self.errors = errors
        self.costUSD = costUSD
        self.durationMs = durationMs
        self.bytes = bytes
        self.uploadedBy = uploadedBy
    }

    public var failures: Int { cells - passes - errors }

    /// The summary as the API answers it (`object: switchyard.eval_report`).
    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
        return [
            "id": .string(id), "object": "switchyard.eval_report", "created_at": .int(Int64(createdAt.timeIntervalSince1970.rounded(.down))),
            "description": description.map { .string($0) } ?? .null, "eval_id": evalID.map { .string($0) } ?? .null,
            "started_at": startedAt.map { .int(Int64($0.timeIntervalSince1970.rounded(.down))) } ?? .null,
            "tests": .int(Int64(tests)), "cells": .int(Int64(cells)), "passes": .int(Int64(passes)),
            "failures": .int(Int64(failures)), "errors": .int(Int64(errors)), "cost_usd": .double(costUSD),
            "duration_ms": .double(durationMs.rounded()), "bytes": .int(Int64(bytes)), "uploaded_by": .string(uploadedBy),
            "providers": .array(providers.map { provider in
                [
                    "id": .string(provider.id), "label": .string(provider.label), "cells": .int(Int64(provider.cells)),
                    "passes": .int(Int64(provider.passes)), "failures": .int(Int64(provider.failures)),
                    "errors": .int(Int64(provider.errors)), "pass_rate": .double(provider.passRate),
                    "mean_score": .double(provider.meanScore), "cost_usd": .double(provider.costUSD),
                    "latency_p50_ms": number(provider.latencyP50Ms), "latency_p95_ms": number(provider.latencyP95Ms),
                ]
            }),
        ]
    }

    /// The providers as stored beside the row (the same keys as the API's).
    public static func providers(from json: JSONValue) -> [EvalReportProviderSummary] {
        (json.arrayValue ?? []).map { value in
            EvalReportProviderSummary(
                id: value["id"]?.stringValue ?? "", label: value["label"]?.stringValue ?? "", cells: value["cells"]?.intValue ?? 0,
                passes: value["passes"]?.intValue ?? 0, errors: value["errors"]?.intValue ?? 0,
                meanScore: value["mean_score"]?.finiteDoubleValue ?? 0, costUSD: value["cost_usd"]?.finiteDoubleValue ?? 0,
                latencyP50Ms: value["latency_p50_ms"]?.finiteDoubleValue, latencyP95Ms: value["latency_p95_ms"]?.finiteDoubleValue)
        }
    }

    /// A new id for a report stored at `date`: later calls in this process always sort after earlier ones.
    public static func newID(at date: Date = Date()) -> String {
        let milliseconds = UInt64(exactly: (date.timeIntervalSince1970 * 1000).rounded(.down)) ?? 0
        let stamp = lastStamp.withLock { (last: inout UInt64) -> UInt64 in
            last = max(last + 1, milliseconds)
            return last
        }
        let time = String(stamp, radix: 16)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "evr_" + String(repeating: "0", count: max(0, 12 - time.count)) + time
            + String(repeating: "0", count: 8 - random.count) + random
    }

    private static let lastStamp = Mutex<UInt64>(0)

    /// True for strings shaped like an id (`evr_` and 20 lowercase hex digits).
    public static func isValidID(_ text: String) -> Bool {
        text.utf8.count == 24 && text.hasPrefix("evr_") && text.utf8.dropFirst(4).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// A page of stored reports, newest first.
public struct EvalReportPage: Sendable {
    public var reports: [EvalReportSummary]
    /// The cursor of the next (older) page; nil when this is the last.
    public var next: String?
    public var total: Int

    public init(reports: [EvalReportSummary], next: String?, total: Int) {
        self.reports = reports
        self.next = next
        self.total = total
    }
}

/// Where uploaded eval reports live (the gateway's SQLite file).
public protocol EvalReportPersistence: Sendable {
    func saveReport(_ summary: EvalReportSummary, report: Data) throws
    /// The newest `limit` reports older than `before` (an id), newest first.
    func listReports(before: String?, limit: Int) throws -> [EvalReportSummary]
    func countReports() throws -> Int
    func loadReportSummary(id: String) throws -> EvalReportSummary?
    /// The report as uploaded.
    func loadReport(id: String) throws -> Data?
    /// True when a row was removed.
    func deleteReport(id: String) throws -> Bool
}
