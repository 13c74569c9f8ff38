import Foundation
import Gateway
import Hummingbird
import SwitchyardCore

/// `GET /v1/models`, `GET /health`, and the request log API.
struct InfoRoutes: Sendable {
    let gateway: Gateway

    func models(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        let anthropic = request.headers[.anthropicVersion] != nil
        do {
            let models = gateway.availableModels(for: caller)
            if anthropic {
                let data: [JSONValue] = models.map {
                    [
                        "type": "model", "id": .string($0.name), "display_name": .string($0.name),
                        "created_at": "1970-01-01T00:00:00Z",
                    ]
                }
                return try JSONBody.response(
                    JSONValue.object([
                        "data": .array(data), "has_more": false,
                        "first_id": models.first.map { .string($0.name) } ?? .null,
                        "last_id": models.last.map { .string($0.name) } ?? .null,
                    ]))
            }
            return try JSONBody.response(JSONValue.object(["object": "list", "data": .array(openAIEntries(for: caller).map(\.entry))]))
        } catch {
            return ErrorResponses.response(error, protocol: anthropic ? .anthropic : .openai, requestID: requestID)
        }
    }

    /// Every name the caller may ask for (auto routes, groups, models), as OpenAI model objects.
    func openAIEntries(for caller: Caller) -> [(id: String, entry: JSONValue)] {
        let models: [(String, JSONValue)] = gateway.availableModels(for: caller).map { model in
            var entry: [String: JSONValue] = [
                "id": .string(model.name), "object": "model", "created": 0, "owned_by": .string(model.provider),
                "switchyard": [
                    "type": .string(model.kind.rawValue), "upstream": .string(model.upstream),
                    "price_per_million": ["input": .double(model.price.input), "output": .double(model.price.output)],
                    "capabilities": .array(model.capabilities.map(\.rawValue).sorted().map { .string($0) }),
                    "tags": .array(model.tags.sorted().map { .string($0) }),
                ],
            ]
            if let window = model.contextWindow { entry["context_window"] = .int(Int64(window)) }
            return (model.name, .object(entry))
        }
        let groups: [(String, JSONValue)] = gateway.availableGroups(for: caller).map { group in
            (group.name, [
                "id": .string(group.name), "object": "model", "created": 0, "owned_by": "switchyard",
                "switchyard": [
                    "type": "group", "strategy": .string(group.strategy.rawValue),
                    "deployments": .array(group.deployments.map { .string($0.model) }),
                    "fallbacks": .array(group.fallbacks.map { .string($0) }),
                ],
            ])
        }
        let routes: [(String, JSONValue)] = gateway.availableRoutes(for: caller).map { route in
            (route.name, [
                "id": .string(route.name), "object": "model", "created": 0, "owned_by": "switchyard",
                "switchyard": [
                    "type": "auto", "tiers": .array(route.tiers.map { .string($0.name) }),
                ],
            ])
        }
        let experiments: [(String, JSONValue)] = gateway.availableExperiments(for: caller).map { experiment in
            (experiment.name, [
                "id": .string(experiment.name), "object": "model", "created": 0, "owned_by": "switchyard",
                "switchyard": ["type": "experiment", "variants": .array(experiment.variants.map { .string($0.name) })],
            ])
        }
        return (experiments + routes + groups + models).map { (id: $0.0, entry: $0.1) }
    }

    /// `GET /v1/models/{id}`: one entry of the list, in the same shape (Anthropic's when
    /// `anthropic-version` is sent); an unknown id, or one the key may not use, is a 404.
    func model(_ request: Request, id rawID: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        let anthropic = request.headers[.anthropicVersion] != nil
        do {
            // Clients that percent-encode the slash of `local/all-minilm-l6-v2` get the same answer.
            let id = rawID.removingPercentEncoding ?? rawID
            guard let found = openAIEntries(for: caller).first(where: { $0.id == id }) else {
                throw SwitchyardError(
                    code: .notFound, message: "The model '\(id.quotedPrefix(200))' does not exist on this gateway.", status: 404,
                    param: "model")
            }
            if anthropic {
                return try JSONBody.response(
                    JSONValue.object([
                        "type": "model", "id": .string(found.id), "display_name": .string(found.id),
                        "created_at": "1970-01-01T00:00:00Z",
                    ]))
            }
            return try JSONBody.response(found.entry)
        } catch {
            return ErrorResponses.response(error, protocol: anthropic ? .anthropic : .openai, requestID: requestID)
        }
    }

    /// `GET /health`: liveness — the process answers (200 while it runs), with what it knows of its
    /// storage: a replica that lost its database keeps serving what it safely can, and says so here.
    func health(_ request: Request) async -> Response {
        var body: [String: JSONValue] = ["status": "ok"]
        if let probe = gateway.storageProbe { body["storage"] = Self.storageJSON(probe, probe.lastStatus) }
        return (try? JSONBody.response(JSONValue.object(body), headers: [.cacheControl: "no-store"])) ?? Response(status: .ok)
    }

    /// `GET /ready`: readiness for a load balancer — 200 when the storage answers now (asked, with a
    /// two-second deadline), 503 when it does not. Without a shared database, always ready.
    func ready(_ request: Request) async -> Response {
        guard let probe = gateway.storageProbe else {
            return (try? JSONBody.response(JSONValue.object(["status": "ready", "storage": ["backend": "sqlite", "reachable": true]]),
                                           headers: [.cacheControl: "no-store"])) ?? Response(status: .ok)
        }
        let status = await probe.probe()
        let body: JSONValue = ["status": .string(status.reachable ? "ready" : "unavailable"), "storage": Self.storageJSON(probe, status)]
        return (try? JSONBody.response(body, status: status.reachable ? .ok : .serviceUnavailable, headers: [.cacheControl: "no-store"]))
            ?? Response(status: status.reachable ? .ok : .serviceUnavailable)
    }

    static func storageJSON(_ probe: any StorageProbe, _ status: StorageStatus) -> JSONValue {
        var object: [String: JSONValue] = [
            "backend": .string(probe.backend), "location": .string(probe.location), "reachable": .bool(status.reachable),
            "since": .int(Int64(status.since.timeIntervalSince1970.rounded(.down))),
        ]
        if let error = status.error, !status.reachable { object["error"] = .string(error) }
        return .object(object)
    }

    /// `GET /v1/switchyard/requests?limit=&before=&model=&status=&key=&team=&since=&until=&view=`: a page
    /// of the log, newest first, with `next_before` (the cursor of the next page, or null), `has_more`
    /// and `total` (matching rows, counted up to 10,000: `total_exact` says whether the count is whole).
    /// `view=summary` leaves out each row's prompt, retrieval and tool calls (the list of a dashboard).
    func requests(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let query = DashboardQuery.values(request)
            let limit = try DashboardQuery.integer(query["limit"], field: "limit", range: 1...10_000) ?? 50
            let filter = try DashboardQuery.filter(query)
            var before: RequestLogCursor?
            if let text = query["before"], !text.isEmpty {
                guard let cursor = RequestLogCursor(text: text) else {
                    throw SwitchyardError.invalidRequest("before must be a next_before value from a previous page.", param: "before")
                }
                before = cursor
            }
            let view = query["view"] ?? "full"
            guard ["full", "summary"].contains(view) else { throw SwitchyardError.invalidRequest("view must be full or summary.", param: "view") }
            let page = try await gateway.requestPage(filter, before: before, limit: limit, feedback: view == "full", caller: caller)
            var records = page.records
            if view == "summary" {
                for index in records.indices {
                    records[index].prompt = nil
                    records[index].retrieval = nil
                    records[index].toolCalls = nil
                }
            }
            return try JSONBody.response(
                RequestList(
                    data: records, hasMore: page.next != nil, nextBefore: page.next?.text, total: page.total, totalExact: page.totalIsExact),
                headers: [.switchyardRequestID: requestID, .cacheControl: "no-store"])
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    func request(_ request: Request, id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            guard id.utf8.count <= 64, let record = try await gateway.requestRecord(id: id, caller: caller) else {
                throw SwitchyardError(
                    code: .notFound, message: "No request with id '\(id.quotedPrefix(64))' is in the log.", status: 404, param: "id")
            }
            return try JSONBody.response(record)
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    func cacheStats(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            return try JSONBody.response(gateway.cacheStats(caller: caller))
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    func clearCache(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let namespace = request.uri.queryParameters["namespace"].map(String.init)
            let removed = try await gateway.clearCache(namespace: namespace, caller: caller)
            return try JSONBody.response(JSONValue.object(["removed": .int(Int64(removed)), "namespace": namespace.map { .string($0) } ?? .null]))
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    struct RequestList: Encodable {
        var object = "list"
        var data: [RequestRecord]
        var hasMore: Bool
        var nextBefore: String?
        var total: Int
        var totalExact: Bool

        enum CodingKeys: String, CodingKey {
            case object, data, total
            case hasMore = "has_more"
            case nextBefore = "next_before"
            case totalExact = "total_exact"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(object, forKey: .object)
            try container.encode(data, forKey: .data)
            try container.encode(hasMore, forKey: .hasMore)
            try container.encode(nextBefore, forKey: .nextBefore)  // null on the last page
            try container.encode(total, forKey: .total)
            try container.encode(totalExact, forKey: .totalExact)
        }
    }
}
