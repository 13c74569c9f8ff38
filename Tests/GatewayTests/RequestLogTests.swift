import Foundation
import Synchronization
import Storage
import SwitchyardCore
import Testing

@testable import Gateway

private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

/// The request log's queue and its flushes.
@Suite("Request log")
struct RequestLogTests {
    func record(_ index: Int) -> RequestRecord {
        RequestRecord(
            id: String(format: "req_%012x%012x", index, index), createdAt: Date(timeIntervalSince1970: 1_795_000_000 + Double(index)),
            caller: "test", clientProtocol: "openai", endpoint: "chat", model: "m")
    }

    /// What `GET /v1/switchyard/requests` relies on: a flush returns only once everything queued
    /// before it is stored, even while other flushes (the periodic service's) run at the same time — also when the
    /// reader's flush runs on the normal-priority writer and the periodic ones on the low-priority one.
    @Test(arguments: [false, true]) func aFlushWaitsForRecordsAConcurrentFlushTook(forReader: Bool) async throws {
        // A file, as in production: readers there see the last committed state without waiting for
        // a write in progress, which is the window a flush must not return in.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-requestlog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try RequestLogStore(path: directory.appendingPathComponent("log.db").path)
        let log = RequestLog(store: store)
        let rounds = 100, perRound = 40
        let finished = Flag()
        await withTaskGroup(of: Void.self) { group in
            // Two background flushers, as the periodic service would be, only much busier.
            for _ in 0..<2 {
                group.addTask {
                    while !finished.value.load(ordering: .relaxed) {
                        await log.flush()
                        await Task.yield()
                    }
                }
            }
            group.addTask {
                defer { finished.value.store(true, ordering: .relaxed) }
                for round in 0..<rounds {
                    for index in 0..<perRound { log.record(record(round * perRound + index)) }
                    // Give the other flushers a chance to take the batch first.
                    for _ in 0..<(round % 4) { await Task.yield() }
                    await log.flush(forReader: forReader)
                    let stored = (try? store.count()) ?? -1
                    #expect(stored >= (round + 1) * perRound, "after flush \(round): \(stored) stored")
                }
            }
        }
        #expect(try store.count() == rounds * perRound)
        #expect(log.droppedCount == 0)
    }

    /// After every batch the queue kept room for as many records as it had ever held: once the writer fell behind,
    /// that room was allocated again for every later batch (the largest allocation heaptrack saw in a soak).
    @Test func aBurstDoesNotLeaveTheQueueHoldingItsRoom() async throws {
        let log = RequestLog(store: try RequestLogStore(path: ":memory:"))
        for index in 0..<20_000 { log.record(record(index)) }  // the writer fell behind
        #expect(log.queueCapacity >= 20_000)
        await log.flush()
        #expect(log.queueCapacity <= RequestLog.retainedCapacity, "room for \(log.queueCapacity) records kept after the burst")
        for index in 0..<100 { log.record(record(20_000 + index)) }
        await log.flush()
        #expect(log.queueCapacity <= RequestLog.retainedCapacity)
        #expect(log.queueDepth == 0)
    }

    @Test func retentionCutsAtAUTCMidnightWholeDaysBack() {
        let day = 86_400.0
        let midnight = 1_795_046_400.0  // a UTC midnight
        func cutoff(_ now: Double, _ days: Int) -> Double {
            RequestLogRetentionService.cutoff(now: Date(timeIntervalSince1970: now), days: days).timeIntervalSince1970
        }
        #expect(cutoff(midnight + 5, 1) == midnight - day)
        #expect(cutoff(midnight + day - 1, 1) == midnight - day)
        #expect(cutoff(midnight, 30) == midnight - 30 * day)
        #expect(cutoff(midnight + 3 * day + 7, 36_500) == midnight + 3 * day - 36_500 * day)
    }

    /// The service prunes at start: records and feedback older than the cut-off go, in batches, while a key's and a
    /// team's spend — what budgets check — is the same before and after, for every period start.
    @Test func retentionDeletesOldRecordsAndFeedbackButNotTheirSpend() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try RequestLogStore(path: directory.appendingPathComponent("log.db").path)
        let now = Date()
        let day = 86_400.0
        // 40 records, one every 9 hours back from now (15 days); costs are binary fractions, so sums are exact.
        let records = (0..<40).map { index in
            var item = self.record(index)
            item.createdAt = now.addingTimeInterval(-Double(index) * 9 * 3_600)
            item.costUSD = Double(index % 4 + 1) * 0.125
            item.keyID = index % 2 == 0 ? "key_even" : "key_odd"
            item.team = index % 3 == 0 ? "red" : nil
            return item
        }
        try await store.insert { records }
        for (id, age) in [("fb_old", 9.0), ("fb_new", 1.0)] {
            try await store.insertFeedback(
                Feedback(id: id, requestID: records[0].id, episodeID: nil, metric: "helpful", value: .bool(true),
                         createdAt: now.addingTimeInterval(-age * day)))
        }
        let starts = BudgetPeriod.allCases.map { $0.start(containing: now) } + [now.addingTimeInterval(-20 * day)].map {
            RequestLogRetentionService.cutoff(now: $0, days: 0)
        }
        let subjects: [(String?, String?)] = [("key_even", nil), ("key_odd", nil), (nil, "red"), ("key_even", "red"), (nil, nil)]
        func spends() throws -> [Double] {
            try starts.flatMap { since in try subjects.map { try store.spend(key: $0.0, team: $0.1, since: since) } }
        }
        let before = try spends()
        let cutoff = RequestLogRetentionService.cutoff(now: now, days: 3)
        let kept = records.filter { $0.createdAt >= cutoff }.count
        #expect(kept >= 8 && kept <= 11)

        let service = RequestLogRetentionService(store: store, days: 3, interval: .seconds(3_600), batch: 8)
        let running = Task { try await service.run() }
        defer { running.cancel() }
        // The pruning runs on the low-priority background writer, which every live gateway of a full parallel test
        // run shares: there it once took longer than 30 s.
        let deadline = ContinuousClock.now + .seconds(180)
        while try store.count() > kept, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try store.count() == kept)
        #expect(try spends() == before)
        #expect(try store.exportFeedback(limit: 10).items.map(\.id) == ["fb_new"])
        // A second pass finds nothing more, and rolls nothing up twice.
        #expect(try await RequestLogRetentionService.prune(store, before: cutoff, batch: 4) == 0)
        #expect(try spends() == before)
    }

    @Test func withoutAStoreTheQueueIsDrained() async {
        let log = RequestLog(store: nil, capacity: 3)
        for index in 0..<3 { log.record(record(index)) }
        await log.flush()
        for index in 3..<6 { log.record(record(index)) }
        #expect(log.droppedCount == 0)  // the flush emptied the queue, so these fit
    }
}
