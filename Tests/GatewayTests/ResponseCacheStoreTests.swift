import Foundation
import Storage
import SwitchyardCore
import Testing

/// Cached answers in SQLite keep the text that was embedded, so semantic candidates restored at
/// start are verified like fresh ones.
@Suite("Response cache store")
struct ResponseCacheStoreTests {
    @Test func theEmbeddedTextSurvivesARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("cache.sqlite").path
        let now = Date()
        func record(_ key: String, text: String?) -> CacheRecord {
            CacheRecord(
                key: key, namespace: "t", scope: text == nil ? nil : "s", vector: text == nil ? nil : [0.6, 0.8], text: text,
                response: Data("{}".utf8), model: "m", costUSD: 0.01, promptTokens: 3, completionTokens: 4, createdAt: now,
                expiresAt: now.addingTimeInterval(60))
        }
        let store = try ResponseCacheStore(path: path)
        try await store.save([record("a", text: "The `column` method selects a column."), record("b", text: nil)])
        // Reopened: the migrations run once, and the rows come back with their text (or none).
        let reopened = try ResponseCacheStore(path: path)
        let loaded = Dictionary(uniqueKeysWithValues: try reopened.load(now: now).map { ($0.key, $0) })
        #expect(loaded["a"]?.text == "The `column` method selects a column.")
        #expect(loaded["a"]?.vector == [0.6, 0.8])
        #expect(loaded["b"] != nil && loaded["b"]?.text == nil)
    }
}
