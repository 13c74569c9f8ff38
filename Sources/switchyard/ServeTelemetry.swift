import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import Tracing

/// Traces and logs for `serve`. Tracing is configured the OpenTelemetry way, by the standard `OTEL_*` variables
/// (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` = `http/protobuf` or `grpc`, `OTEL_SERVICE_NAME`,
/// `OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`…, read by `TraceConfiguration`); it is on when an OTLP endpoint
/// (or `OTEL_TRACES_EXPORTER=otlp`) is given and `OTEL_SDK_DISABLED` is not true.
enum ServeTelemetry {
    static func tracingRequested(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        TraceConfiguration.requested(environment)
    }

    /// Bootstraps the process-wide tracer (before any HTTP client is made, so upstream calls carry `traceparent`);
    /// returns the exporter's service, which flushes spans on shutdown. A bad `OTEL_*` value stops the start,
    /// naming the variable.
    static func startTracing(environment: [String: String], logger: Logger) throws -> any Service {
        let configuration: TraceConfiguration
        do {
            configuration = try TraceConfiguration(environment: environment)
        } catch let invalid as TraceConfiguration.Invalid {
            throw CommandFailure("Tracing: \(invalid)", .configuration)
        }
        let exporter = try TraceExporter(configuration: configuration, logger: logger)
        exporter.bootstrap()
        logger.info("tracing: spans exported over OTLP", metadata: [
            "otel.endpoint": "\(configuration.endpoint.scheme ?? "http")://\(configuration.endpoint.host ?? ""):\(configuration.endpoint.port.map(String.init) ?? "")\(configuration.endpoint.path)",
            "otel.protocol": "\(configuration.exportProtocol.rawValue)",
            "otel.service_name": "\(configuration.serviceName)",
        ])
        return exporter
    }

    /// Log lines as text (swift-log's default) or one JSON object per line; with tracing on each line made inside a
    /// traced request carries `trace_id` and `span_id` (the provider finds no span, and adds nothing, when it is off).
    static func bootstrapLogging(format: LogFormat, level: Logger.Level) {
        let provider: Logger.MetadataProvider? = SwitchyardTracer.loggingMetadata
        LoggingSystem.bootstrap({ label, metadataProvider in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
                handler.logLevel = level
                return handler
            case .json:
                return JSONLogHandler(label: label, logLevel: level, metadataProvider: metadataProvider)
            }
        }, metadataProvider: provider)
    }

    enum LogFormat: String, CaseIterable {
        case text, json
    }
}

/// One JSON object per log line on stderr: `{"ts", "level", "label", "message", …metadata}`, for log shippers.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private static let output = Mutex(())

    init(label: String, logLevel: Logger.Level, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds]),
            "level": event.level.rawValue, "label": label, "message": event.message.description,
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged where object[key] == nil { object[key] = Self.plain(value) }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        Self.output.withLock { _ in FileHandle.standardError.write(data) }
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): items.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }
}
