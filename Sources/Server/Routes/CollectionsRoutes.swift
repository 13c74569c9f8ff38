import Foundation
import Gateway
import Hummingbird
import SwitchyardCore

/// `/v1/switchyard/collections…`: collections, document upserts and deletes, and search, with
/// Switchyard keys and OpenAI error envelopes. Searches only ever return what the key may see.
struct CollectionsRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        router.post("/v1/switchyard/collections") { request, context in await handle(request, caller: context.caller) { try await create($0) } }
        router.get("/v1/switchyard/collections") { request, context in await handle(request, caller: context.caller) { list($0) } }
        router.get("/v1/switchyard/collections/{name}") { request, context in
            await handle(request, caller: context.caller) { try describe(context.parameters.get("name") ?? "", call: $0) }
        }
        router.delete("/v1/switchyard/collections/{name}") { request, context in
            await handle(request, caller: context.caller) { try await delete(context.parameters.get("name") ?? "", call: $0) }
        }
        router.post("/v1/switchyard/collections/{name}/documents") { request, context in
            await handle(request, caller: context.caller) { try await upsert($0, collection: context.parameters.get("name") ?? "") }
        }
        router.delete("/v1/switchyard/collections/{name}/documents/{id}") { request, context in
            await handle(request, caller: context.caller) {
                try await deleteDocument(context.parameters.get("id") ?? "", collection: context.parameters.get("name") ?? "", call: $0)
            }
        }
        router.post("/v1/switchyard/collections/{name}/search") { request, context in
            await handle(request, caller: context.caller) { try await search($0, collection: context.parameters.get("name") ?? "") }
        }
    }

    struct Call {
        var request: Request
        var caller: Caller
        var maxBodyBytes: Int

        func body() async throws -> JSONValue {
            let buffer = try await request.collectBody(limit: maxBodyBytes)
            guard buffer.readableBytes > 0 else { throw SwitchyardError.invalidRequest("The request body is empty; send a JSON object.") }
            guard let value = JSONValue.parse(Data(buffer.readableBytesView)), value.objectValue != nil else {
                throw SwitchyardError.invalidRequest("The request body must be a JSON object.")
            }
            return value
        }
    }

    private func handle(_ request: Request, caller: Caller, _ body: (Call) async throws -> JSONValue) async -> Response {
        await JSONRoute.respond(request, caller: caller, maxBodyBytes: maxBodyBytes, body)
    }

    // MARK: Collections

    private func create(_ call: Call) async throws -> JSONValue {
        let body = try await call.body()
        try Self.allowOnly(body, ["name", "embedding_model"])
        guard let name = body["name"]?.stringValue else {
            throw SwitchyardError.invalidRequest("name is required: the collection's name.", param: "name")
        }
        var model: String?
        if let value = body["embedding_model"], value != .null {
            guard let text = value.stringValue, !text.isEmpty else {
                throw SwitchyardError.invalidRequest("embedding_model must be the name of an embedding model.", param: "embedding_model")
            }
            model = text
        }
        return Self.describe(try await gateway.createCollection(name: name, embeddingModel: model, caller: call.caller))
    }

    private func list(_ call: Call) -> JSONValue {
        ["object": "list", "data": .array(gateway.listCollections(caller: call.caller).map(Self.describe))]
    }

    private func describe(_ name: String, call: Call) throws -> JSONValue {
        Self.describe(try gateway.describeCollection(name, caller: call.caller))
    }

    private func delete(_ name: String, call: Call) async throws -> JSONValue {
        try await gateway.deleteCollection(name, caller: call.caller)
        return ["id": .string(name), "object": "collection", "deleted": true]
    }

    static func describe(_ info: CollectionInfo) -> JSONValue {
        [
            "id": .string(info.name), "name": .string(info.name), "object": "collection", "embedding_model": .string(info.embeddingModel),
            "dimension": .int(Int64(info.dimension)), "documents": .int(Int64(info.documents)), "chunks": .int(Int64(info.chunks)),
            "created_at": .int(Int64(info.createdAt.timeIntervalSince1970)),
        ]
    }

    // MARK: Documents

    private func upsert(_ call: Call, collection: String) async throws -> JSONValue {
        let body = try await call.body()
        try Self.allowOnly(body, ["documents"])
        guard let items = body["documents"]?.arrayValue, !items.isEmpty else {
            throw SwitchyardError.invalidRequest("documents must be a non-empty list of {id, text, ...}.", param: "documents")
        }
        let documents = try items.enumerated().map { index, item in try Self.document(item, param: "documents[\(index)]") }
        let summary = try await gateway.upsertDocuments(documents, into: collection, caller: call.caller)
        return [
            "object": "upsert", "collection": .string(collection), "added": .int(Int64(summary.added)),
            "updated": .int(Int64(summary.updated)), "unchanged": .int(Int64(summary.unchanged)), "chunks": .int(Int64(summary.chunks)),
        ]
    }

    static func document(_ item: JSONValue, param: String) throws -> RetrievalDocument {
        guard let object = item.objectValue else { throw SwitchyardError.invalidRequest("\(param) must be an object.", param: param) }
        let known: Set<String> = ["id", "text", "title", "source", "section", "metadata", "allowed", "format"]
        for key in object.keys.sorted() where !known.contains(key) {
            throw SwitchyardError.invalidRequest(
                "Unknown field '\(param).\(key.quotedPrefix(100))'; allowed: \(known.sorted().joined(separator: ", ")).", param: "\(param).\(key)")
        }
        guard let id = object["id"]?.stringValue ?? object["id"]?.intValue.map(String.init), !id.isEmpty else {
            throw SwitchyardError.invalidRequest("\(param).id is required (a string).", param: "\(param).id")
        }
        guard let text = object["text"]?.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw SwitchyardError.invalidRequest("\(param).text is required (non-empty text).", param: "\(param).text")
        }
        func optionalString(_ field: String) throws -> String? {
            guard let value = object[field], value != .null else { return nil }
            guard let text = value.stringValue else {
                throw SwitchyardError.invalidRequest("\(param).\(field) must be a string.", param: "\(param).\(field)")
            }
            return text
        }
        var metadata: [String: JSONValue] = [:]
        if let value = object["metadata"], value != .null {
            guard let fields = value.objectValue else {
                throw SwitchyardError.invalidRequest("\(param).metadata must be an object.", param: "\(param).metadata")
            }
            metadata = fields
        }
        if let section = try optionalString("section") { metadata["section"] = .string(section) }
        var allowed: [String]?
        if let value = object["allowed"], value != .null {
            guard let groups = value.arrayValue, groups.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
                throw SwitchyardError.invalidRequest(
                    "\(param).allowed must be a list of group names (omit it for a public document).", param: "\(param).allowed")
            }
            allowed = groups.compactMap(\.stringValue)
        }
        var format = TextFormat.markdown
        if let value = try optionalString("format") {
            guard let parsed = TextFormat(rawValue: value) else {
                throw SwitchyardError.invalidRequest("\(param).format must be markdown, plain or code.", param: "\(param).format")
            }
            format = parsed
        }
        return RetrievalDocument(
            id: id, text: text, title: try optionalString("title"), source: try optionalString("source"), metadata: metadata,
            allowed: allowed, format: format)
    }

    private func deleteDocument(_ id: String, collection: String, call: Call) async throws -> JSONValue {
        let id = id.removingPercentEncoding ?? id
        guard try await gateway.deleteDocument(id, from: collection, caller: call.caller) else {
            throw SwitchyardError(code: .notFound, message: "No document '\(id)' in collection '\(collection)'.", status: 404, param: "id")
        }
        return ["id": .string(id), "object": "document", "deleted": true]
    }

    // MARK: Search

    private func search(_ call: Call, collection: String) async throws -> JSONValue {
        let options = try SearchOptions.parse(try await call.body())
        let results = try await gateway.searchCollection(options, in: collection, caller: call.caller)
        let rerank = gateway.rerankSettings(for: collection, options: options)
        return [
            "object": "list", "collection": .string(collection), "mode": .string(options.mode.rawValue),
            "rerank": rerank.enabled ? ["reranker": .string(rerank.reranker), "top_n": .int(Int64(rerank.topN))] : .bool(false),
            "results": .array(results.map(Self.result)),
        ]
    }

    static func result(_ result: SearchResult) -> JSONValue {
        let hit = result.hit
        var metadata = result.metadata
        if let title = hit.title { metadata["title"] = .string(title) }
        if let source = hit.source { metadata["source"] = .string(source) }
        if !hit.headingPath.isEmpty { metadata["headings"] = .array(hit.headingPath.map { .string($0) }) }
        return [
            "document_id": .string(hit.documentID), "chunk_id": .string(String(hit.chunkID)), "score": .double(hit.score.isFinite ? Double(hit.score) : 0),
            "text": .string(hit.text), "position": .int(Int64(hit.position)), "metadata": .object(metadata),
        ]
    }

    static func allowOnly(_ body: JSONValue, _ fields: Set<String>) throws {
        for key in (body.objectValue ?? [:]).keys.sorted() where !fields.contains(key) {
            throw SwitchyardError.invalidRequest(
                "Unknown field '\(key.quotedPrefix(100))'; allowed: \(fields.sorted().joined(separator: ", ")).", param: key)
        }
    }
}
