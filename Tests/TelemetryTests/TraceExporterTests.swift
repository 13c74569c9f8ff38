import Foundation
import Logging
import Synchronization
import Testing
import Tracing

@testable import Telemetry

/// Records each export's span count; optionally ends more spans while an export is in flight, as requests do.
final class CountingTransport: SpanTransport, Sendable {
    let batches = Mutex<[Int]>([])
    let duringSend = Mutex<(@Sendable () -> Void)?>(nil)
    let failing: Bool

    init(failing: Bool = false) { self.failing = failing }

    func run() async {}
    func shutdown() async {}
    func send(_ body: [UInt8], timeout: Duration) async throws {
        let spans = ProtobufReader.fields(body)[1].flatMap { $0.first.map { ProtobufReader.fields($0)[2]?.first } } ?? nil
        let count = spans.map { ProtobufReader.fields($0)[2]?.count ?? 0 } ?? 0
        batches.withLock { $0.append(count) }
        duringSend.withLock { $0 }?()
        if failing { throw ExportFailure(description: "refused", retryable: false) }
    }
}

@Suite("Trace exporter batching")
struct TraceExporterTests {
    func exporter(batch: Int, queue: Int = 1_000, transport: CountingTransport) throws -> TraceExporter {
        let configuration = try TraceConfiguration(environment: [
            "OTEL_TRACES_SAMPLER": "always_on", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "\(batch)", "OTEL_BSP_MAX_QUEUE_SIZE": "\(queue)",
        ])
        return TraceExporter(configuration: configuration, transport: transport, logger: Logger(label: "test"))
    }

    func end(_ count: Int, on exporter: TraceExporter) {
        for _ in 0..<count {
            exporter.tracer.startSpan("s", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now, function: "", file: "", line: 0).end()
        }
    }

    @Test func aWakeExportsWhatWasQueuedInBatches() async throws {
        let transport = CountingTransport()
        let exporter = try exporter(batch: 4, transport: transport)
        end(10, on: exporter)
        await exporter.exportQueued()
        #expect(transport.batches.withLock { $0 } == [4, 4, 2])
        #expect(exporter.counts.exported == 10 && exporter.queued == 0)
    }

    /// Spans that end while a batch is being sent wait for the next wake unless they make a full batch: exporting
    /// them at once turned into a continuous stream of small exports.
    @Test func spansEndedDuringAnExportWaitUnlessTheyFillABatch() async throws {
        let transport = CountingTransport()
        let exporter = try exporter(batch: 5, transport: transport)
        let sent = Atomic<Int>(0)
        transport.duringSend.withLock { $0 = { [exporter] in
            if sent.add(1, ordering: .relaxed).newValue == 1 { self.end(3, on: exporter) }
        } }
        end(2, on: exporter)
        await exporter.exportQueued()
        #expect(transport.batches.withLock { $0 } == [2], "the 3 that arrived meanwhile wait")
        #expect(exporter.queued == 3)
        transport.duringSend.withLock { $0 = { [exporter] in if sent.add(1, ordering: .relaxed).newValue == 2 { self.end(7, on: exporter) } } }
        await exporter.exportQueued()
        #expect(transport.batches.withLock { $0 } == [2, 3, 5], "a full batch that gathered meanwhile goes at once; the other 2 wait")
        #expect(exporter.queued == 2)
    }

    @Test func aFullQueueDropsAndAFailingReceiverIsCounted() async throws {
        let transport = CountingTransport(failing: true)
        let exporter = try exporter(batch: 10, queue: 10, transport: transport)
        end(25, on: exporter)
        await exporter.exportQueued()
        let counts = exporter.counts
        #expect(counts.dropped == 15 && counts.failed == 10 && counts.exported == 0)
    }
}
