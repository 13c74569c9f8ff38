import Foundation
import Gateway
import Hummingbird
import SwitchyardCore

/// OpenAI's Batch API, executed by the gateway over any configured model: `POST /v1/batches`,
/// `GET /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`. The `BatchRunner`
/// runs the requests; results come back as files (`output_file_id`, `error_file_id`).
struct BatchesRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        let files = FilesRoutes(gateway: gateway, maxBodyBytes: maxBodyBytes)
        for prefix in ["/v1", ""] {
            router.post("\(prefix)/batches") { request, context in await files.answer { try await create(request, caller: context.caller) } }
            router.get("\(prefix)/batches") { request, context in await files.answer { try await list(request, caller: context.caller) } }
            router.get("\(prefix)/batches/{id}") { _, context in
                await files.answer { try await render(try await gateway.batch(context.parameters.get("id") ?? "", kind: .openai, caller: context.caller)) }
            }
            router.post("\(prefix)/batches/{id}/cancel") { _, context in
                await files.answer {
                    try await render(try await gateway.cancelBatch(context.parameters.get("id") ?? "", kind: .openai, caller: context.caller))
                }
            }
        }
    }

    private func render(_ batch: BatchJob) async throws -> JSONValue {
        BatchObjects.openAI(batch, counts: try await gateway.batchCounts(batch))
    }

    private func create(_ request: Request, caller: Caller) async throws -> JSONValue {
        let buffer = try await request.collectBody(limit: maxBodyBytes)
        guard let body = JSONValue.parse(Data(buffer.readableBytesView)), body.objectValue != nil else {
            throw SwitchyardError.invalidRequest("The request body must be a JSON object.")
        }
        func required(_ field: String) throws -> String {
            guard let value = body[field]?.stringValue else {
                throw SwitchyardError.invalidRequest("Missing required field '\(field)' (a string).", param: field)
            }
            return value
        }
        let batch = try await gateway.createOpenAIBatch(
            inputFileID: try required("input_file_id"), endpoint: try required("endpoint"),
            completionWindow: try required("completion_window"), metadata: body["metadata"], caller: caller)
        return try await render(batch)
    }

    /// `?limit=&after=`, newest first.
    private func list(_ request: Request, caller: Caller) async throws -> JSONValue {
        let query = request.uri.queryParameters
        let limit = try QueryValues.limit(query["limit"].map(String.init), range: 1...100, default: 20)
        let after = try QueryValues.cursor(query["after"].map(String.init), param: "after")
        let batches = try await gateway.batches(kind: .openai, caller: caller, after: after, before: nil, limit: limit + 1)
        let page = Array(batches.prefix(limit))
        var data: [JSONValue] = []
        for batch in page { data.append(try await render(batch)) }
        return [
            "object": "list", "data": .array(data),
            "first_id": page.first.map { .string($0.id) } ?? .null, "last_id": page.last.map { .string($0.id) } ?? .null,
            "has_more": .bool(batches.count > limit),
        ]
    }
}
