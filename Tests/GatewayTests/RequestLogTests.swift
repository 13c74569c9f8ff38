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

    @Test func withoutAStoreTheQueueIsDrained() async {
        let log = RequestLog(store: nil, capacity: 3)
        for index in 0..<3 { log.record(record(index)) }
        await log.flush()
        for index in 3..<6 { log.record(record(index)) }
        #expect(log.droppedCount == 0)  // the flush emptied the queue, so these fit
    }
}
