import AsyncHTTPClient
import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing

/// Sends ended spans over OTLP as the batch span processor does: every `OTEL_BSP_SCHEDULE_DELAY`, or as soon as
/// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans have gathered; at shutdown, whatever is left. A failed batch is retried
/// (twice, for the statuses the OTLP specification calls retryable) and then dropped and counted; the request
/// path never waits for any of it.
public final class TraceExporter: Service, Sendable {
    public let tracer: SwitchyardTracer
    public let configuration: TraceConfiguration
    let sink: SpanSink
    let transport: any SpanTransport
    let logger: Logger
    private let tally = Mutex(Tally())

    public struct Tally: Sendable, Equatable {
        public var exported = 0
        public var dropped = 0
        public var failed = 0
        var lastWarning: ContinuousClock.Instant?
        public init() {}
    }

    public convenience init(configuration: TraceConfiguration, logger: Logger) throws {
        let transport: any SpanTransport = switch configuration.exportProtocol {
        case .httpProtobuf: HTTPSpanTransport(configuration: configuration)
        case .grpc: try GRPCSpanTransport(configuration: configuration)
        }
        self.init(configuration: configuration, transport: transport, logger: logger)
    }

    init(configuration: TraceConfiguration, transport: any SpanTransport, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.transport = transport
        sink = SpanSink(maxQueueSize: configuration.maxQueueSize, batchSize: configuration.maxExportBatchSize)
        tracer = SwitchyardTracer(sampler: configuration.sampler, sink: sink)
    }

    /// Spans exported, dropped (queue full) and failed (the receiver refused or could not be reached).
    public var counts: Tally { tally.withLock { $0 } }

    /// Spans ended and waiting for export.
    public var queued: Int { sink.count }

    /// Takes up to `limit` queued spans without exporting them (benchmarks).
    public func takeQueued(_ limit: Int) -> [FinishedSpan] { sink.take(limit).spans }

    /// The exporter `InstrumentationSystem` was bootstrapped with (one per process, like the tracer), for `/metrics`.
    public static var bootstrapped: TraceExporter? { installed.withLock { $0 } }
    private static let installed = Mutex<TraceExporter?>(nil)

    /// Makes this exporter's tracer the process's (`InstrumentationSystem.bootstrap`, once per process).
    public func bootstrap() {
        InstrumentationSystem.bootstrap(tracer)
        Self.installed.withLock { $0 = self }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.transport.run() }
            group.addTask {
                let delay = self.configuration.scheduleDelay
                while !Task.isCancelled {
                    try? await Task.sleep(for: delay)
                    self.sink.wake()
                }
            }
            await withGracefulShutdownHandler {
                for await _ in self.sink.wakeUps { await self.exportQueued() }
            } onGracefulShutdown: {
                self.sink.finish()
            }
            await self.exportQueued(draining: true)
            group.cancelAll()
            await self.transport.shutdown()
        }
    }

    /// Exports what was queued when the exporter woke, a batch at a time, and then only full batches: spans that
    /// arrive during an export wait for the next tick (exporting them at once made a continuous stream of small
    /// batches — 140 a second at 1,000 requests a second, each a request to the receiver). At shutdown, everything.
    func exportQueued(draining: Bool = false) async {
        var due = sink.count
        while true {
            guard draining || due > 0 || sink.count >= configuration.maxExportBatchSize else { return }
            let (spans, dropped) = sink.take(configuration.maxExportBatchSize)
            due -= spans.count
            if dropped > 0 {
                tally.withLock { $0.dropped += dropped }
                warn("spans dropped: the export queue (OTEL_BSP_MAX_QUEUE_SIZE \(configuration.maxQueueSize)) was full", ["dropped": "\(dropped)"])
            }
            guard !spans.isEmpty else { return }
            let body = await encode(spans)
            if await send(body) {
                tally.withLock { $0.exported += spans.count }
            } else {
                tally.withLock { $0.failed += spans.count }
            }
        }
    }

    /// Encodes on a thread of its own at utility priority: the exporter's task runs on the event loops (Swift
    /// concurrency's executor here), where 1–2 µs a span of encoding would sit between requests.
    private func encode(_ spans: [FinishedSpan]) async -> [UInt8] {
        let (name, resource) = (configuration.serviceName, configuration.resourceAttributes)
        return await withCheckedContinuation { continuation in
            Self.encodingQueue.async {
                continuation.resume(returning: OTLPEncoding.exportRequest(spans, serviceName: name, resource: resource))
            }
        }
    }

    private static let encodingQueue = DispatchQueue(label: "switchyard-otlp-encode", qos: .utility)

    private func send(_ body: [UInt8]) async -> Bool {
        var backoff = Duration.milliseconds(500)
        for attempt in 1...3 {
            do {
                try await transport.send(body, timeout: configuration.exportTimeout)
                return true
            } catch let failure as ExportFailure where failure.retryable && attempt < 3 {
                try? await Task.sleep(for: backoff)
                backoff *= 2
            } catch {
                warn("span export failed", ["error": "\(String(describing: error).prefix(300))", "spans_endpoint": "\(configuration.endpoint.host ?? "")"])
                return false
            }
        }
        return false
    }

    /// At most one warning every 30 s: a receiver that is down must not flood the log.
    private func warn(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        let now = ContinuousClock.now
        let due = tally.withLock { current -> Bool in
            if let last = current.lastWarning, now - last < .seconds(30) { return false }
            current.lastWarning = now
            return true
        }
        if due { logger.warning(message, metadata: metadata) }
    }
}

struct ExportFailure: Error, CustomStringConvertible {
    var description: String
    var retryable: Bool
}

protocol SpanTransport: Sendable {
    func run() async
    func send(_ body: [UInt8], timeout: Duration) async throws
    func shutdown() async
}

/// OTLP/HTTP with protobuf bodies (`POST …/v1/traces`, `application/x-protobuf`).
struct HTTPSpanTransport: SpanTransport {
    let client: HTTPClient
    let endpoint: String
    let headers: [(String, String)]

    init(configuration: TraceConfiguration) {
        var settings = HTTPClient.Configuration()
        settings.tracing.tracer = nil  // the exporter's own requests are not traced (they would feed themselves)
        settings.timeout.connect = .seconds(5)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
        endpoint = configuration.endpoint.absoluteString
        headers = configuration.headers
    }

    func run() async {}

    func send(_ body: [UInt8], timeout: Duration) async throws {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-protobuf")
        request.headers.add(name: "user-agent", value: "switchyard-otlp")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let milliseconds = Int64(timeout.components.seconds) * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let response = try await client.execute(request, timeout: .milliseconds(max(1, milliseconds)))
        _ = try? await response.body.collect(upTo: 64 * 1_024)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            throw ExportFailure(description: "the receiver answered HTTP \(status)", retryable: [429, 502, 503, 504].contains(status))
        }
    }

    func shutdown() async { try? await client.shutdown() }
}

/// OTLP over gRPC: the unary `opentelemetry.proto.collector.trace.v1.TraceService/Export`, with the request
/// already in protobuf form.
struct GRPCSpanTransport: SpanTransport {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let metadata: Metadata
    static let method = MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService", method: "Export")

    init(configuration: TraceConfiguration) throws {
        let url = configuration.endpoint
        guard let host = url.host, !host.isEmpty else {
            throw TraceConfiguration.Invalid(variable: "OTEL_EXPORTER_OTLP_ENDPOINT", problem: "no host in \(url.absoluteString.prefix(80))")
        }
        let secure = url.scheme?.lowercased() == "https"
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: host, port: url.port ?? 4317), transportSecurity: secure ? .tls : .plaintext, config: .defaults)
        client = GRPCClient(transport: transport)
        var metadata = Metadata()
        for (name, value) in configuration.headers { metadata.addString(value, forKey: name.lowercased()) }
        metadata.replaceOrAddString("switchyard-otlp", forKey: "user-agent")
        self.metadata = metadata
    }

    func run() async { try? await client.runConnections() }

    func send(_ body: [UInt8], timeout: Duration) async throws {
        var options = CallOptions.defaults
        options.timeout = timeout
        do {
            try await client.unary(
                request: ClientRequest(message: body, metadata: metadata), descriptor: Self.method, serializer: BytesSerializer(),
                deserializer: BytesDeserializer(), options: options
            ) { response in _ = try response.message }
        } catch let error as RPCError {
            let retryable: Set<RPCError.Code> = [.cancelled, .deadlineExceeded, .aborted, .outOfRange, .unavailable, .dataLoss]
            throw ExportFailure(description: "gRPC \(error.code): \(error.message.prefix(200))", retryable: retryable.contains(error.code))
        }
    }

    func shutdown() async { client.beginGracefulShutdown() }
}

struct BytesSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct BytesDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
