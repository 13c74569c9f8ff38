import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

/// Eval reports the gateway keeps (issue 23): `POST /v1/switchyard/eval-reports` (a results JSON as
/// `switchyard eval run --output x.json` writes it), `GET …/eval-reports?limit=&before=` (summaries,
/// newest first), `GET …/eval-reports/{id}` (the report as uploaded; `?view=cells` a page of its
/// matrix for the dashboard), `GET …/eval-reports/{id}/html` (the report's HTML page) and `DELETE …/{id}`.
struct EvalReportsRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    static let defaultLimit = 20
    static let maximumLimit = 100
    static let defaultRows = 200
    static let maximumRows = 1_000

    /// The page's own policy, as its `<meta>` says: no script, nothing fetched, its inline styles only.
    static let htmlPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

    func register(on router: Router<SwitchyardRequestContext>) {
        router.post("/v1/switchyard/eval-reports") { request, context in
            await JSONRoute.respond(request, caller: context.caller, maxBodyBytes: maxBodyBytes, status: .created) { call in
                try await publish(call.request, caller: call.caller)
            }
        }
        router.get("/v1/switchyard/eval-reports") { request, context in
            await JSONRoute.respond(request, caller: context.caller, maxBodyBytes: maxBodyBytes) { call in
                try await list(DashboardQuery.values(call.request), caller: call.caller)
            }
        }
        router.get("/v1/switchyard/eval-reports/{id}") { request, context in
            await report(request, id: context.parameters.get("id") ?? "", caller: context.caller)
        }
        router.get("/v1/switchyard/eval-reports/{id}/html") { request, context in
            await html(id: context.parameters.get("id") ?? "", caller: context.caller)
        }
        router.delete("/v1/switchyard/eval-reports/{id}") { request, context in
            await JSONRoute.respond(request, caller: context.caller, maxBodyBytes: maxBodyBytes) { call in
                let id = context.parameters.get("id") ?? ""
                try await gateway.deleteEvalReport(id: try Self.id(id), caller: call.caller)
                return ["id": .string(id), "object": "switchyard.eval_report", "deleted": true]
            }
        }
    }

    private func publish(_ request: Request, caller: Caller) async throws -> JSONValue {
        let buffer = try await request.collectBody(limit: Gateway.maximumEvalReportBytes)
        let summary = try await gateway.publishEvalReport(Data(buffer.readableBytesView), caller: caller)
        var object = summary.json.objectValue ?? [:]
        object["dashboard_path"] = .string("/#/evals/\(summary.id)")
        object["html_path"] = .string("/v1/switchyard/eval-reports/\(summary.id)/html")
        return .object(object)
    }

    private func list(_ query: [String: String], caller: Caller) async throws -> JSONValue {
        let limit = try DashboardQuery.integer(query["limit"], field: "limit", range: 1...Self.maximumLimit) ?? Self.defaultLimit
        var before: String?
        if let text = query["before"], !text.isEmpty {
            guard EvalReportSummary.isValidID(text) else {
                throw SwitchyardError.invalidRequest("before must be a report id (evr_ and 20 hex digits), as next_before gives it.", param: "before")
            }
            before = text
        }
        let page = try await gateway.evalReportPage(before: before, limit: limit, caller: caller)
        return [
            "object": "list", "data": .array(page.reports.map(\.json)), "has_more": .bool(page.next != nil),
            "next_before": page.next.map { .string($0) } ?? .null, "total": .int(Int64(page.total)),
        ]
    }

    /// The report as uploaded (its bytes, not re-encoded), or with `view=cells` a page of its rows.
    private func report(_ request: Request, id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let query = DashboardQuery.values(request)
            let id = try Self.id(id)
            switch query["view"] ?? "" {
            case "", "full":
                let data = try await gateway.evalReportData(id: id, caller: caller)
                return Response(
                    status: .ok, headers: [.contentType: "application/json", .switchyardRequestID: requestID, .cacheControl: "no-store"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            case "cells":
                let offset = try DashboardQuery.integer(query["offset"], field: "offset", range: 0...100_000_000) ?? 0
                let limit = try DashboardQuery.integer(query["limit"], field: "limit", range: 1...Self.maximumRows) ?? Self.defaultRows
                let page = try await gateway.evalReportCells(id: id, offset: offset, limit: limit, caller: caller)
                return try JSONBody.response(page, headers: [.switchyardRequestID: requestID, .cacheControl: "no-store"])
            default:
                throw SwitchyardError.invalidRequest("view must be full or cells.", param: "view")
            }
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    private func html(id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let page = try await gateway.evalReportHTML(id: try Self.id(id), caller: caller)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .switchyardRequestID: requestID, .cacheControl: "no-store",
                    .contentSecurityPolicy: Self.htmlPolicy, .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    /// An id from the path: one not shaped like a report id names no report (a 404, as an unknown one).
    static func id(_ text: String) throws -> String {
        guard EvalReportSummary.isValidID(text) else { throw Gateway.noEvalReport(text) }
        return text
    }
}
