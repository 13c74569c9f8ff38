import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

import Gateway
import Server
import Storage
import SwitchyardCore
import SwitchyardTesting

/// Stored responses outlive the process: the writer drains on graceful shutdown, and a gateway
/// started on the same file continues the conversation and deletes it for good.
@Suite("Stored responses survive a restart")
struct ResponsesStorageTests {
    static func gateway(database: String, mock: MockUpstream, clients: UpstreamClients) throws -> Gateway {
        let yaml = """
            storage: {sqlite: "\(database)", flush_ms: 50}
            providers:
              - {name: up, kind: openai, base_url: "\(mock.baseURL)/v1", api_key: sk-upstream-secret-openai}
            models:
              - {name: m, provider: up, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}}
            """
        return Gateway(
            configuration: try ConfigurationLoader.parse(yaml, source: "<test>"), upstreamClients: clients,
            requestLog: RequestLog(store: nil), responsePersistence: try ResponseStore(path: database))
    }

    @Test func aConversationContinuesAfterARestartAndADeleteIsForGood() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-resp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("gateway.sqlite").path
        let mock = try await MockUpstream.start(MockUpstreamConfiguration(openAIKey: "sk-upstream-secret-openai"))
        let clients = Gateway.makeUpstreamClients()
        do {
            try await Self.exercise(database: database, mock: mock, clients: clients)
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }

    static func exercise(database: String, mock: MockUpstream, clients: UpstreamClients) async throws {
        let first = try Self.gateway(database: database, mock: mock, clients: clients)
        let created = Mutex<String>("")
        try await SwitchyardServer.makeApplication(gateway: first, host: "127.0.0.1", port: 0).test(.live) { client in
            let response = try await client.execute(
                uri: "/v1/responses", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"model": "m", "input": "remember the marker 7f3a"}"#))
            #expect(response.status == .ok)
            created.withLock { $0 = JSONValue.parse(Data(buffer: response.body))?["id"]?.stringValue ?? "" }
        }
        let id = created.withLock { $0 }
        #expect(id.hasPrefix("resp_"))

        // Hostile ids and query strings: a clear 4xx, never a crash.
        try await SwitchyardServer.makeApplication(gateway: first, host: "127.0.0.1", port: 0).test(.live) { client in
            for query in ["limit=1e300", "limit=-1", "limit=0", "order=sideways", "after=nope", "limit=" + String(repeating: "9", count: 400)] {
                let listed = try await client.execute(uri: "/v1/responses/\(id)/input_items?\(query)", method: .get)
                #expect(listed.status == .badRequest, "\(query)")
            }
            let long = try await client.execute(uri: "/v1/responses/resp_" + String(repeating: "x", count: 5000), method: .get)
            #expect(long.status == .notFound)
            let chained = try await client.execute(
                uri: "/v1/responses", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"model": "m", "input": "x", "previous_response_id": 1e309}"#))
            #expect(chained.status == .badRequest)
        }

        // A new process on the same file: the conversation is there.
        let second = try Self.gateway(database: database, mock: mock, clients: clients)
        let history = try await second.conversation(before: id, caller: .anonymous)
        #expect(history.count == 2)
        #expect(history.first?["content"]?.arrayValue?.first?["text"]?.stringValue == "remember the marker 7f3a")
        try await SwitchyardServer.makeApplication(gateway: second, host: "127.0.0.1", port: 0).test(.live) { client in
            let deleted = try await client.execute(uri: "/v1/responses/\(id)", method: .delete)
            #expect(deleted.status == .ok)
        }
        let third = try Self.gateway(database: database, mock: mock, clients: clients)
        await #expect(throws: SwitchyardError.self) { _ = try await third.storedResponse(id, caller: .anonymous) }
    }
}
