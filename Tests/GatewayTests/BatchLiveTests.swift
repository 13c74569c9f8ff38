import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

import Gateway
import Governance
import Server
import Storage
import SwitchyardCore
import SwitchyardTesting

/// Issue 19 through the live server: files, batches executed by the gateway's own runner, the batch
/// discount, and a restart in the middle of a batch (no request run twice).
@Suite("Batches through the live gateway")
struct BatchLiveTests {
    static let key = "sk-batch-live"

    static func run(
        database: String, store: BatchStore? = nil, _ body: @escaping @Sendable (any TestClientProtocol, MockUpstream, BatchStore) async throws -> Void
    ) async throws {
        let mock = try await MockUpstream.start(MockUpstreamConfiguration(openAIKey: "sk-upstream-secret-openai"))
        let clients = Gateway.makeUpstreamClients()
        do {
            let yaml = """
                storage: {sqlite: "\(database)", flush_ms: 50}
                providers:
                  - {name: up-openai, kind: openai, base_url: "\(mock.baseURL)/v1", api_key: sk-upstream-secret-openai}
                models:
                  - {name: m-half, provider: up-openai, upstream: gpt-4o-mini, price: {input: 1.0, output: 2.0}, batch_discount: 0.5}
                auth: {keys: [{key: \(key), name: admin, role: admin}]}
                """
            let configuration = try ConfigurationLoader.parse(yaml, source: "<test>")
            let batches = try store ?? BatchStore(path: database)
            let gateway = Gateway(
                configuration: configuration, upstreamClients: clients,
                requestLog: RequestLog(store: try RequestLogStore(path: database)), batchPersistence: batches)
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in try await body(client, mock, batches) }
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }

    static func temporaryDatabase() throws -> (path: String, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (directory.appendingPathComponent("gateway.sqlite").path, directory)
    }

    static func chatLine(_ id: String, _ text: String) -> String {
        #"{"custom_id": "\#(id)", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m-half", "messages": [{"role": "user", "content": "\#(text)"}]}}"#
    }

    /// Polls until the batch has ended.
    static func waitForEnd(_ id: String, store: BatchStore) async throws -> BatchJob {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let batch = try store.loadBatch(id: id), !batch.status.isActive { return batch }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SwitchyardError.internal("batch \(id) did not end in 30 s")
    }

    @Test("upload, create, run, output and error files; lines priced at the batch discount")
    func endToEnd() async throws {
        let (database, directory) = try Self.temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.run(database: database) { client, mock, store in
            let content = [Self.chatLine("one", "first"), Self.chatLine("two", "second"), #"{"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m-half"}}"#]
                .joined(separator: "\n")
            let form = "--B\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n\(content)\r\n--B--\r\n"
            let uploaded = try await client.execute(
                uri: "/v1/files", method: .post,
                headers: [.authorization: "Bearer \(Self.key)", .contentType: "multipart/form-data; boundary=B"], body: ByteBuffer(string: form))
            #expect(uploaded.status == .ok, "\(uploaded.text)")
            let fileID = try #require(uploaded.json?["id"]?.stringValue)
            #expect(uploaded.json?["bytes"]?.intValue == content.utf8.count)

            let created = try await client.send(
                .post, "/v1/batches", json: #"{"input_file_id": "\#(fileID)", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#,
                key: Self.key)
            #expect(created.status == .ok, "\(created.text)")
            let batchID = try #require(created.json?["id"]?.stringValue)
            let ended = try await Self.waitForEnd(batchID, store: store)
            #expect(ended.status == .completed)
            let shown = try await client.send(.get, "/batches/\(batchID)", key: Self.key)  // without /v1 too
            #expect(shown.json?["request_counts"] == ["total": 3, "completed": 2, "failed": 1])

            let outputID = try #require(ended.outputFileID)
            let output = try #require(try store.loadFile(id: outputID, content: true))
            let lines = String(decoding: output.content, as: UTF8.self).split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
            #expect(lines.map { $0["custom_id"]?.stringValue } == ["one", "two"])
            for line in lines {
                let body = try #require(line["response"]?["body"])
                let usage = try #require(body["usage"])
                let full = (Double(usage["prompt_tokens"]?.intValue ?? 0) * 1.0 + Double(usage["completion_tokens"]?.intValue ?? 0) * 2.0) / 1e6
                #expect(full > 0)
                #expect(abs((body["switchyard"]?["cost_usd"]?.doubleValue ?? -1) - full / 2) < 1e-12)
            }
            let errorID = try #require(ended.errorFileID)
            let errors = try #require(try store.loadFile(id: errorID, content: true))
            let error = try #require(JSONValue.parse(String(decoding: errors.content, as: UTF8.self).trimmingCharacters(in: .newlines)))
            #expect(error["custom_id"] == "bad" && error["response"]?["status_code"] == 400)
            #expect(error["response"]?["body"]?["error"]?["param"] == "messages")
            #expect(await mock.recordedRequests().count == 2)
        }
    }

    @Test("a restart mid-batch resumes pending requests and never runs a started one again")
    func resumeAfterRestart() async throws {
        let (database, directory) = try Self.temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The state a gateway stopped mid-batch leaves: one request done, one started, one not yet.
        let store = try BatchStore(path: database)
        let now = Date()
        var batch = BatchJob(
            id: "batch_restart", kind: .openai, owner: Caller.anonymous.id, endpoint: "/v1/chat/completions", inputFileID: "file-x",
            status: .inProgress, createdAt: now, expiresAt: now.addingTimeInterval(3600))
        batch.inProgressAt = now
        let admin = "key_" + String(Governance.Governor.hash(Self.key).prefix(16))
        batch.owner = admin
        func body(_ text: String) -> String {
            #"{"model": "m-half", "messages": [{"role": "user", "content": "\#(text)"}]}"#
        }
        try store.createBatch(batch, lines: [
            BatchLine(batchID: batch.id, index: 0, customID: "done", body: body("done-before"), state: .succeeded,
                      result: ["id": "batch_req_1", "custom_id": "done", "response": ["status_code": 200, "request_id": "req_1", "body": [:]], "error": .null]),
            BatchLine(batchID: batch.id, index: 1, customID: "started", body: body("started-before"), state: .running),
            BatchLine(batchID: batch.id, index: 2, customID: "pending", body: body("pending-after")),
        ])
        let batchID = batch.id
        try await Self.run(database: database, store: store) { client, mock, store in
            let ended = try await Self.waitForEnd(batchID, store: store)
            #expect(ended.status == .completed)
            let recorded = await mock.recordedRequests().map(\.bodyText)
            #expect(recorded.count == 1 && recorded.first?.contains("pending-after") == true)
            let lines = try store.finishedLines(batchID: batchID)
            #expect(lines.map(\.state) == [.succeeded, .errored, .succeeded])
            #expect(lines[1].result?["error"]?["code"] == "batch_interrupted")
            let shown = try await client.send(.get, "/v1/batches/\(batchID)", key: Self.key)
            #expect(shown.json?["request_counts"] == ["total": 3, "completed": 2, "failed": 1], "\(shown.text)")
        }
    }
}
