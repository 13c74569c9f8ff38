import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

/// Anthropic's Message Batches over any configured model: `POST /v1/messages/batches`,
/// `GET /v1/messages/batches`, `GET|DELETE /v1/messages/batches/{id}`,
/// `POST /v1/messages/batches/{id}/cancel`, `GET /v1/messages/batches/{id}/results` (JSONL).
/// Requests run in the `BatchRunner` like OpenAI batches; errors use Anthropic's envelope.
struct MessageBatchesRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        for prefix in ["/v1", ""] {
            router.post("\(prefix)/messages/batches") { request, context in await answer { try await create(request, caller: context.caller) } }
            router.get("\(prefix)/messages/batches") { request, context in await answer { try await list(request, caller: context.caller) } }
            router.get("\(prefix)/messages/batches/{id}") { _, context in
                await answer { try await render(try await gateway.batch(context.parameters.get("id") ?? "", kind: .anthropic, caller: context.caller)) }
            }
            router.delete("\(prefix)/messages/batches/{id}") { _, context in
                await answer {
                    let id = context.parameters.get("id") ?? ""
                    try await gateway.deleteBatch(id, kind: .anthropic, caller: context.caller)
                    return ["id": .string(id), "type": "message_batch_deleted"]
                }
            }
            router.post("\(prefix)/messages/batches/{id}/cancel") { _, context in
                await answer {
                    try await render(try await gateway.cancelBatch(context.parameters.get("id") ?? "", kind: .anthropic, caller: context.caller))
                }
            }
            router.get("\(prefix)/messages/batches/{id}/results") { _, context in
                await results(context.parameters.get("id") ?? "", caller: context.caller)
            }
        }
    }

    private func answer(_ body: () async throws -> JSONValue) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            return try JSONBody.response(try await body(), headers: [.switchyardRequestID: requestID])
        } catch {
            return ErrorResponses.response(error, protocol: .anthropic, requestID: requestID)
        }
    }

    private func render(_ batch: BatchJob) async throws -> JSONValue {
        BatchObjects.anthropic(batch, counts: try await gateway.batchCounts(batch))
    }

    private func create(_ request: Request, caller: Caller) async throws -> JSONValue {
        let buffer = try await request.collectBody(limit: maxBodyBytes)
        guard let body = JSONValue.parse(Data(buffer.readableBytesView)), body.objectValue != nil else {
            throw SwitchyardError.invalidRequest("The request body must be a JSON object.")
        }
        return try await render(try await gateway.createAnthropicBatch(body, caller: caller))
    }

    /// `?limit=&before_id=&after_id=`, newest first, as Anthropic pages.
    private func list(_ request: Request, caller: Caller) async throws -> JSONValue {
        let query = request.uri.queryParameters
        let limit = try QueryValues.limit(query["limit"].map(String.init), range: 1...1000, default: 20)
        let after = try QueryValues.cursor(query["after_id"].map(String.init), param: "after_id")
        let before = try QueryValues.cursor(query["before_id"].map(String.init), param: "before_id")
        let batches = try await gateway.batches(kind: .anthropic, caller: caller, after: after, before: before, limit: limit + 1)
        // With before_id the rows were read upwards from the cursor: the extra one is the newest, first.
        let page = before != nil && after == nil ? Array(batches.suffix(limit)) : Array(batches.prefix(limit))
        var data: [JSONValue] = []
        for batch in page { data.append(try await render(batch)) }
        return [
            "data": .array(data), "has_more": .bool(batches.count > limit),
            "first_id": page.first.map { .string($0.id) } ?? .null, "last_id": page.last.map { .string($0.id) } ?? .null,
        ]
    }

    /// The results as JSONL, one line per request in input order, once the batch has ended.
    private func results(_ id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let batch = try await gateway.batch(id, kind: .anthropic, caller: caller)
            guard !batch.status.isActive else {
                throw SwitchyardError(
                    code: .notFound, message: "The batch '\(batch.id)' has not ended yet; its results are available once processing_status is \"ended\".",
                    status: 404)
            }
            var buffer = ByteBuffer()
            for line in try await gateway.batchResults(batch) {
                buffer.writeString((line.result ?? .null).jsonString())
                buffer.writeString("\n")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/binary", .switchyardRequestID: requestID],
                body: ResponseBody(byteBuffer: buffer))
        } catch {
            return ErrorResponses.response(error, protocol: .anthropic, requestID: requestID)
        }
    }
}
