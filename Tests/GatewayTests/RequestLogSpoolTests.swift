import Foundation
import Gateway
import Logging
import Storage
import SwitchyardCore
import Testing

/// The request log's spool: what a replica answered but had not stored when it died is stored by
/// another replica sharing the directory (or by itself, restarted); what was stored leaves no file.
@Suite struct RequestLogSpoolTests {
    static func record(_ id: String) -> RequestRecord {
        RequestRecord(id: id, createdAt: Date(), caller: "k", clientProtocol: "openai", endpoint: "chat.completions", model: "m", costUSD: 0.001)
    }

    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)")
    }

    static func files(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted()
    }

    @Test func recordsOfAReplicaThatDiedBeforeItsFlushAreStoredByTheSurvivor() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try RequestLogStore(path: ":memory:")
        do {
            // The doomed replica answers three requests and dies before its flush: its spool object goes
            // away without a flush (the kernel releases its lock as it would on kill -9).
            let doomed = RequestLog(store: store, spool: try RequestLogSpool(directory: directory, logger: Logger(label: "t")))
            for id in ["a", "b", "c"] { doomed.record(Self.record(id)) }
        }
        #expect(Self.files(directory).count == 1)
        let survivor = RequestLog(store: store, spool: try RequestLogSpool(directory: directory, logger: Logger(label: "t")))
        survivor.record(Self.record("d"))
        await survivor.flush()
        let ids = Set(try await store.recent(limit: 10).map(\.id))
        #expect(ids == ["a", "b", "c", "d"])
        // Stored: the dead replica's segment and the survivor's flushed one are gone.
        #expect(Self.files(directory).allSatisfy { !$0.hasSuffix(".1.jsonl") })
        // Adopting twice stores nothing twice.
        await survivor.flush()
        #expect(try await store.recent(limit: 10).count == 4)
    }

    @Test func aLiveReplicasSpoolIsNeverAdopted() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try RequestLogStore(path: ":memory:")
        let alive = RequestLog(store: store, spool: try RequestLogSpool(directory: directory, logger: Logger(label: "t")))
        alive.record(Self.record("mine"))
        let other = RequestLog(store: store, spool: try RequestLogSpool(directory: directory, logger: Logger(label: "t")))
        await other.flush()
        #expect(try await store.recent(limit: 10).isEmpty)
        await alive.flush()
        #expect(try await store.recent(limit: 10).map(\.id) == ["mine"])
        #expect(Self.files(directory).count == 2)  // each replica's current (empty) segment
    }
}
