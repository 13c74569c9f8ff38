import Foundation
import SwitchyardCore
import Synchronization
import Testing

@testable import Gateway

@Suite struct MetricsObserverTests {
    /// The request log's observer is called for every record. Kept as a bare closure in a `Mutex`, each call
    /// wrapped it in two more re-abstraction thunks: the gateway slowed from ~3,800 to ~400 requests/s and then
    /// overflowed its stack (found by Benchmarks/observability.sh). 200,000 records must go through in constant depth.
    @Test func observerIsCalledForEveryRecordWithoutGrowing() async {
        let log = RequestLog(store: nil, capacity: 1)
        let seen = Atomic<Int>(0)
        log.observe { _ in seen.add(1, ordering: .relaxed) }
        let record = RequestRecord(id: "req_1", createdAt: Date(), caller: "k", clientProtocol: "openai", endpoint: "chat", model: "m")
        for _ in 0..<200_000 { log.record(record) }
        #expect(seen.load(ordering: .relaxed) == 199_999, "dropped records are counted at once")
        await log.flush()
        #expect(seen.load(ordering: .relaxed) == 200_000, "queued ones as their batch leaves the queue")
        #expect(log.droppedCount == 199_999, "a full queue drops, but the observer still counts")
    }

    @Test func metricsCountRecordsAndBoundNames() {
        let metrics = GatewayMetrics(knownNames: ["m"])
        metrics.isKnownTool = { $0 == "time__now" }
        for _ in 0..<100_000 { _ = metrics.bounded("time__now") }
        #expect(metrics.bounded("m") == "m" && metrics.bounded("time__now") == "time__now")
        #expect(metrics.bounded("nope") == "other" && metrics.bounded(nil) == "none")
        #expect(GatewayMetrics.clean("a\nb") == "a b")
        #expect(GatewayMetrics.clean(String(repeating: "x", count: 1_000)).count == 128)
    }
}
