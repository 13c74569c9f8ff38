import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

/// OpenAI's Files API, for batch input and output: `POST /v1/files` (multipart: `file`,
/// `purpose=batch`), `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
/// `DELETE /v1/files/{id}`. A file is visible only to the key that uploaded it (and admins).
/// Size: at most `server.max_body_bytes` (the upload is one request body) and 50,000 lines.
struct FilesRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        for prefix in ["/v1", ""] {
            router.post("\(prefix)/files") { request, context in await answer { try await upload(request, caller: context.caller) } }
            router.get("\(prefix)/files") { request, context in await answer { try await list(request, caller: context.caller) } }
            router.get("\(prefix)/files/{id}") { _, context in
                await answer { BatchObjects.file(try await gateway.batchFile(context.parameters.get("id") ?? "", caller: context.caller)) }
            }
            router.delete("\(prefix)/files/{id}") { _, context in
                await answer {
                    let id = context.parameters.get("id") ?? ""
                    try await gateway.deleteBatchFile(id, caller: context.caller)
                    return ["id": .string(id), "object": "file", "deleted": true]
                }
            }
            router.get("\(prefix)/files/{id}/content") { _, context in await content(context.parameters.get("id") ?? "", caller: context.caller) }
        }
    }

    /// A JSON answer, or an error in OpenAI's envelope.
    func answer(_ body: () async throws -> JSONValue) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            return try JSONBody.response(try await body(), headers: [.switchyardRequestID: requestID])
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    private func upload(_ request: Request, caller: Caller) async throws -> JSONValue {
        let buffer = try await request.collectBody(limit: maxBodyBytes)
        let form = try MultipartForm(body: Data(buffer.readableBytesView), contentType: request.headers[.contentType])
        guard let purpose = form.part("purpose").map({ String(decoding: $0.content, as: UTF8.self) }) else {
            throw SwitchyardError.invalidRequest("Missing required form field 'purpose' (use \"batch\").", param: "purpose")
        }
        guard let file = form.part("file") else {
            throw SwitchyardError.invalidRequest("Missing required form field 'file'.", param: "file")
        }
        var lines = 0
        for byte in file.content where byte == UInt8(ascii: "\n") { lines += 1 }
        guard lines <= BatchInput.maxRequests + 1 else {
            throw SwitchyardError.invalidRequest("The file has more than \(BatchInput.maxRequests) lines (a batch's limit).", param: "file")
        }
        let stored = try await gateway.createBatchFile(
            content: file.content, filename: file.filename ?? "upload.jsonl", purpose: purpose.trimmingCharacters(in: .whitespacesAndNewlines),
            caller: caller)
        return BatchObjects.file(stored)
    }

    /// `?limit=&after=&order=&purpose=`, newest first by default, as OpenAI lists files.
    private func list(_ request: Request, caller: Caller) async throws -> JSONValue {
        let query = request.uri.queryParameters
        let limit = try QueryValues.limit(query["limit"].map(String.init), range: 1...10_000, default: 10_000)
        let order = query["order"].map(String.init) ?? "desc"
        guard order == "asc" || order == "desc" else { throw SwitchyardError.invalidRequest("order must be asc or desc.", param: "order") }
        let after = try QueryValues.cursor(query["after"].map(String.init), param: "after")
        let purpose = query["purpose"].map(String.init)
        let files = try await gateway.batchFiles(caller: caller, purpose: purpose, after: after, ascending: order == "asc", limit: limit + 1)
        let page = Array(files.prefix(limit))
        return [
            "object": "list", "data": .array(page.map(BatchObjects.file)),
            "first_id": page.first.map { .string($0.id) } ?? .null, "last_id": page.last.map { .string($0.id) } ?? .null,
            "has_more": .bool(files.count > limit),
        ]
    }

    private func content(_ id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let file = try await gateway.batchFile(id, caller: caller, content: true)
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream", .switchyardRequestID: requestID],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.content)))
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }
}

/// Checked query parameters of the list endpoints.
enum QueryValues {
    static func limit(_ text: String?, range: ClosedRange<Int>, default value: Int) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw SwitchyardError.invalidRequest("limit must be a whole number from \(range.lowerBound) to \(range.upperBound).", param: "limit")
        }
        return number
    }

    /// An id used as a page cursor: bounded, or a 400 naming `param`.
    static func cursor(_ text: String?, param: String) throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        guard text.utf8.count <= 200 else { throw SwitchyardError.invalidRequest("\(param) is not an id.", param: param) }
        return text
    }
}
