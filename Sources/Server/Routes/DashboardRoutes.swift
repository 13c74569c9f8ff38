import Foundation
import Gateway
import Hummingbird
import SwitchyardCore

/// The JSON APIs the dashboard reads besides the existing ones: `GET /v1/switchyard/stats/overview`
/// (time series of the caller's part of the log), `GET /v1/switchyard/deployments` (breaker states),
/// and `GET /v1/switchyard/me` (who the key is, so the page shows only what it may read). Paging and
/// filters of the log itself are on `GET /v1/switchyard/requests` (`InfoRoutes.requests`).
struct DashboardRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    /// At most this many buckets in one overview: enough for a minute-by-minute day, small to send.
    static let maximumBuckets = 1_000
    /// The buckets an overview gets when `bucket_s` is not given.
    static let defaultBuckets = 48

    func register(on router: Router<SwitchyardRequestContext>) {
        router.get("/v1/switchyard/stats/overview") { request, context in
            await JSONRoute.respond(request, caller: context.caller, maxBodyBytes: maxBodyBytes) { call in
                try await overview(DashboardQuery.values(call.request), caller: call.caller)
            }
        }
        router.get("/v1/switchyard/deployments") { request, context in
            await JSONRoute.respond(request, caller: context.caller, maxBodyBytes: maxBodyBytes) { call in deployments(caller: call.caller) }
        }
        router.get("/v1/switchyard/me") { request, context in
            await JSONRoute.respond(request, caller: context.caller, maxBodyBytes: maxBodyBytes) { call in me(call.caller) }
        }
    }

    // MARK: Overview

    private func overview(_ query: [String: String], caller: Caller) async throws -> JSONValue {
        let until = try DashboardQuery.time(query["until"], field: "until") ?? Date()
        let since = try DashboardQuery.time(query["since"], field: "since") ?? until.addingTimeInterval(-86_400)
        let range = until.timeIntervalSince(since)
        guard range > 0 else { throw SwitchyardError.invalidRequest("since must be before until.", param: "since") }
        guard range <= 400 * 86_400 else { throw SwitchyardError.invalidRequest("since and until may be at most 400 days apart.", param: "since") }
        let bucket = try DashboardQuery.integer(query["bucket_s"], field: "bucket_s", range: 1...2_592_000)
            ?? max(1, Int((range / Double(Self.defaultBuckets)).rounded(.up)))
        let buckets = (range / Double(bucket)).rounded(.up)
        guard buckets <= Double(Self.maximumBuckets) else {
            throw SwitchyardError.invalidRequest(
                "bucket_s \(bucket) makes \(Int(buckets)) buckets; at most \(Self.maximumBuckets) (use a larger bucket or a shorter range).",
                param: "bucket_s")
        }
        var filter = RequestLogFilter()
        filter.model = try DashboardQuery.text(query["model"], field: "model")
        let overview = try await gateway.requestOverview(since: since, until: until, bucketSeconds: bucket, filter: filter, caller: caller)
        return [
            "object": "switchyard.overview", "since": .string(GovernanceRoutes.iso8601(since)), "until": .string(GovernanceRoutes.iso8601(until)),
            "bucket_s": .int(Int64(bucket)), "totals": Self.json(overview.totals),
            "buckets": .array(overview.buckets.map { bucket in
                var object = Self.json(bucket.stats).objectValue ?? [:]
                object["start"] = .int(Int64(bucket.start.timeIntervalSince1970.rounded(.down)))
                return .object(object)
            }),
            "models": .array(overview.models.map { model in
                var object = Self.json(model.stats).objectValue ?? [:]
                object["model"] = .string(model.model)
                return .object(object)
            }),
        ]
    }

    static func json(_ stats: RequestLogStats) -> JSONValue {
        [
            "requests": .int(Int64(stats.requests)), "errors": .int(Int64(stats.errors)),
            "p50_latency_ms": stats.p50LatencyMs.map { .double(($0 * 10).rounded() / 10) } ?? .null,
            "p95_latency_ms": stats.p95LatencyMs.map { .double(($0 * 10).rounded() / 10) } ?? .null,
            "cost_usd": .double(stats.costUSD), "saved_usd": .double(stats.savedUSD), "cache_hits": .int(Int64(stats.cacheHits)),
            "prompt_tokens": .int(Int64(stats.promptTokens)), "completion_tokens": .int(Int64(stats.completionTokens)),
        ]
    }

    // MARK: Deployments

    private func deployments(caller: Caller) -> JSONValue {
        let states = gateway.deploymentStates(caller: caller)
        return [
            "object": "list",
            "data": .array(states.map { state in
                [
                    "name": .string(state.model.name), "type": .string(state.model.kind.rawValue), "provider": .string(state.model.provider),
                    "provider_kind": state.providerKind.map { .string($0) } ?? .null, "upstream": .string(state.model.upstream),
                    "price_per_million": ["input": .double(state.model.price.input), "output": .double(state.model.price.output)],
                    "breaker": .string(state.breaker), "probe_in_s": state.probeInSeconds.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                    "available": .bool(state.available), "in_flight": .int(Int64(state.inFlight)),
                    "latency_ms": state.latencyMs.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                    "ttft_ms": state.ttftMs.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                    "requests_last_minute": .int(Int64(state.requestsLastMinute)),
                    "tokens_last_minute": .int(Int64(state.tokensLastMinute)),
                ]
            }),
            "groups": .array(gateway.availableGroups(for: caller).map { group in
                [
                    "name": .string(group.name), "strategy": .string(group.strategy.rawValue),
                    "deployments": .array(group.deployments.map { .string($0.model) }),
                    "fallbacks": .array(group.fallbacks.map { .string($0) }),
                ]
            }),
            "routes": .array(gateway.availableRoutes(for: caller).map { route in
                [
                    "name": .string(route.name),
                    "tiers": .array(route.tiers.map { tier in
                        ["name": .string(tier.name), "targets": .array(tier.targets.map { .string($0) })]
                    }),
                ]
            }),
        ]
    }

    // MARK: Me

    private func me(_ caller: Caller) -> JSONValue {
        [
            "object": "switchyard.caller", "name": .string(caller.name), "role": .string(caller.role.rawValue),
            "team": caller.team.map { .string($0) } ?? .null, "key_id": caller.key == nil ? .null : .string(caller.id),
            "auth": .bool(gateway.requiresAuth),
            "permissions": .array(Permission.allCases.filter { caller.may($0) }.map { .string($0.rawValue) }),
        ]
    }
}

/// Query values of the dashboard's APIs, parsed once at the edge: bounded, checked, or a 400 naming the field.
enum DashboardQuery {
    /// The query's parameters by name (the first of repeated ones), percent-decoded.
    static func values(_ request: Request) -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where values[String(key)] == nil { values[String(key)] = String(value) }
        return values
    }

    /// A whole number in `range`; nil when absent.
    static func integer(_ text: String?, field: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard text.utf8.count <= 12, let value = Int(text), range.contains(value) else {
            throw SwitchyardError.invalidRequest(
                "\(field) must be a whole number from \(range.lowerBound) to \(range.upperBound).", param: field)
        }
        return value
    }

    /// A name-like value (model, key, team): 1 to 200 bytes without control characters; nil when absent or empty.
    static func text(_ text: String?, field: String) throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        guard text.utf8.count <= 200, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw SwitchyardError.invalidRequest("\(field) must be 1 to 200 characters without control characters.", param: field)
        }
        return text
    }

    /// An ISO 8601 time (or date), or Unix seconds; nil when absent or empty.
    static func time(_ text: String?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        if text.utf8.count <= 12, text.allSatisfy(\.isASCII), let seconds = Int(text), seconds >= 0 {
            return Date(timeIntervalSince1970: Double(seconds))
        }
        return try GovernanceRoutes.date(text, field: field)
    }

    /// `ok`, `error`, or an HTTP status from 100 to 599; nil when absent or empty.
    static func outcome(_ text: String?) throws -> RequestLogFilter.Outcome? {
        guard let text, !text.isEmpty else { return nil }
        switch text {
        case "ok", "success", "succeeded": return .succeeded
        case "error", "errors", "failed": return .failed
        default:
            guard text.utf8.count <= 3, let status = Int(text), (100...599).contains(status) else {
                throw SwitchyardError.invalidRequest("status must be ok, error, or an HTTP status from 100 to 599.", param: "status")
            }
            return .status(status)
        }
    }

    /// The log filter of a request's query (`model`, `status`, `key`, `team`, `since`, `until`).
    static func filter(_ query: [String: String]) throws -> RequestLogFilter {
        let filter = RequestLogFilter(
            model: try text(query["model"], field: "model"),
            outcome: try outcome(query["status"]),
            key: try text(query["key"], field: "key"),
            team: try text(query["team"], field: "team"),
            since: try time(query["since"], field: "since"),
            until: try time(query["until"], field: "until"))
        if let since = filter.since, let until = filter.until, since >= until {
            throw SwitchyardError.invalidRequest("since must be before until.", param: "since")
        }
        return filter
    }
}
