import Foundation

/// Where and how spans are exported, read from OpenTelemetry's standard variables
/// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/ and the OTLP exporter's):
/// `OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `…_PROTOCOL`, `…_HEADERS`,
/// `…_TIMEOUT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` and
/// `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_EXPORT_TIMEOUT`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
/// Values come from outside: every one is checked, and a bad one is an error naming the variable.
public struct TraceConfiguration: Sendable, Equatable {
    public enum ExportProtocol: String, Sendable, Equatable {
        case httpProtobuf = "http/protobuf"
        case grpc
    }

    public enum Sampler: Sendable, Equatable {
        case alwaysOn, alwaysOff
        case ratio(Double)
        indirect case parentBased(root: Sampler)
    }

    /// The traces endpoint itself: `…/v1/traces` for OTLP/HTTP, `scheme://host:port` for gRPC.
    public var endpoint: URL
    public var exportProtocol: ExportProtocol
    public var headers: [(String, String)]
    public var exportTimeout: Duration
    public var serviceName: String
    public var resourceAttributes: [(String, String)]
    public var sampler: Sampler
    public var scheduleDelay: Duration
    public var maxQueueSize: Int
    public var maxExportBatchSize: Int

    public static func == (a: Self, b: Self) -> Bool {
        a.endpoint == b.endpoint && a.exportProtocol == b.exportProtocol && a.headers.elementsEqual(b.headers, by: ==)
            && a.exportTimeout == b.exportTimeout && a.serviceName == b.serviceName
            && a.resourceAttributes.elementsEqual(b.resourceAttributes, by: ==) && a.sampler == b.sampler
            && a.scheduleDelay == b.scheduleDelay && a.maxQueueSize == b.maxQueueSize && a.maxExportBatchSize == b.maxExportBatchSize
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var variable: String
        public var problem: String
        public var description: String { "\(variable): \(problem)" }
    }

    /// Whether the environment asks for traces: an OTLP endpoint (or `OTEL_TRACES_EXPORTER=otlp`), and the SDK not disabled.
    public static func requested(_ environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.trimmingCharacters(in: .whitespaces).lowercased() == "true" { return false }
        if let exporter = environment["OTEL_TRACES_EXPORTER"]?.trimmingCharacters(in: .whitespaces).lowercased() {
            return exporter.split(separator: ",").contains("otlp")
        }
        return environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil
    }

    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        let protocolName = value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").map { ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", $0) }
            ?? value("OTEL_EXPORTER_OTLP_PROTOCOL").map { ("OTEL_EXPORTER_OTLP_PROTOCOL", $0) }
        if let (name, raw) = protocolName {
            guard let parsed = ExportProtocol(rawValue: raw.lowercased()) else {
                throw Invalid(variable: name, problem: "'\(raw.prefix(40))' is not supported; use http/protobuf or grpc")
            }
            exportProtocol = parsed
        } else {
            exportProtocol = .httpProtobuf  // the specification's default
        }

        if let raw = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            // Used as given for OTLP/HTTP (the signal's own URL).
            endpoint = try Self.url(raw, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", appending: nil)
        } else if let raw = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            endpoint = try Self.url(raw, variable: "OTEL_EXPORTER_OTLP_ENDPOINT", appending: exportProtocol == .httpProtobuf ? "v1/traces" : nil)
        } else {
            endpoint = exportProtocol == .httpProtobuf ? URL(string: "http://localhost:4318/v1/traces")! : URL(string: "http://localhost:4317")!
        }

        var headers: [(String, String)] = []
        for name in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            guard let raw = value(name) else { continue }
            for (key, value) in try Self.pairs(raw, variable: name) {
                headers.removeAll { $0.0.lowercased() == key.lowercased() }
                headers.append((key, value))
            }
        }
        self.headers = headers

        exportTimeout = .milliseconds(
            try Self.integer(value("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ?? value("OTEL_EXPORTER_OTLP_TIMEOUT"),
                variable: value("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") != nil ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" : "OTEL_EXPORTER_OTLP_TIMEOUT",
                default: 10_000, range: 1...600_000))

        var resource = try value("OTEL_RESOURCE_ATTRIBUTES").map { try Self.pairs($0, variable: "OTEL_RESOURCE_ATTRIBUTES") } ?? []
        if let name = value("OTEL_SERVICE_NAME") {
            serviceName = String(name.prefix(256))
        } else if let named = resource.first(where: { $0.0 == "service.name" }) {
            serviceName = named.1
        } else {
            serviceName = "switchyard"
        }
        resource.removeAll { $0.0 == "service.name" }
        resourceAttributes = resource

        let argument = value("OTEL_TRACES_SAMPLER_ARG")
        func ratio() throws -> Double {
            guard let argument else { return 1 }
            guard let parsed = Double(argument), parsed.isFinite, (0...1).contains(parsed) else {
                throw Invalid(variable: "OTEL_TRACES_SAMPLER_ARG", problem: "'\(argument.prefix(40))' is not a ratio from 0 to 1")
            }
            return parsed
        }
        _ = try ratio()  // checked even when the sampler does not use it: a bad value is a mistake either way
        switch value("OTEL_TRACES_SAMPLER")?.lowercased() {
        case nil, "parentbased_always_on": sampler = .parentBased(root: .alwaysOn)
        case "always_on": sampler = .alwaysOn
        case "always_off": sampler = .alwaysOff
        case "traceidratio": sampler = .ratio(try ratio())
        case "parentbased_always_off": sampler = .parentBased(root: .alwaysOff)
        case "parentbased_traceidratio": sampler = .parentBased(root: .ratio(try ratio()))
        case let other?:
            throw Invalid(variable: "OTEL_TRACES_SAMPLER", problem: "'\(other.prefix(40))' is not supported; use always_on, always_off, "
                + "traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio")
        }

        scheduleDelay = .milliseconds(try Self.integer(value("OTEL_BSP_SCHEDULE_DELAY"), variable: "OTEL_BSP_SCHEDULE_DELAY", default: 5_000, range: 1...3_600_000))
        let export = try Self.integer(value("OTEL_BSP_EXPORT_TIMEOUT"), variable: "OTEL_BSP_EXPORT_TIMEOUT", default: 30_000, range: 1...3_600_000)
        exportTimeout = min(exportTimeout, .milliseconds(export))
        maxQueueSize = try Self.integer(value("OTEL_BSP_MAX_QUEUE_SIZE"), variable: "OTEL_BSP_MAX_QUEUE_SIZE", default: 2_048, range: 1...10_000_000)
        maxExportBatchSize = try Self.integer(
            value("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), variable: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", default: 512, range: 1...1_000_000)
        // The specification: the batch size must not exceed the queue size.
        maxExportBatchSize = min(maxExportBatchSize, maxQueueSize)
    }

    static func url(_ raw: String, variable: String, appending path: String?) throws -> URL {
        guard raw.count <= 2_048, let url = URL(string: raw), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw Invalid(variable: variable, problem: "'\(raw.prefix(80))' is not an http:// or https:// URL with a host")
        }
        if let port = url.port, !(1...65_535).contains(port) {
            throw Invalid(variable: variable, problem: "port \(port) is out of range")
        }
        guard let path else { return url }
        var text = raw
        if !text.hasSuffix("/") { text += "/" }
        return URL(string: text + path) ?? url
    }

    static func integer(_ raw: String?, variable: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw else { return fallback }
        guard let parsed = Int(raw), range.contains(parsed) else {
            throw Invalid(variable: variable, problem: "'\(raw.prefix(40))' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return parsed
    }

    /// `key1=value1,key2=value2` with percent-encoded values (the W3C baggage octet form the specification uses).
    static func pairs(_ raw: String, variable: String) throws -> [(String, String)] {
        guard raw.utf8.count <= 16_384 else { throw Invalid(variable: variable, problem: "longer than 16 KB") }
        var pairs: [(String, String)] = []
        for item in raw.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let equals = item.firstIndex(of: "=") else {
                throw Invalid(variable: variable, problem: "'\(item.prefix(40))' is not key=value")
            }
            let key = item[..<equals].trimmingCharacters(in: .whitespaces)
            let encoded = item[item.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw Invalid(variable: variable, problem: "'\(key.prefix(40))' is not a valid key")
            }
            let value = encoded.removingPercentEncoding ?? encoded
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw Invalid(variable: variable, problem: "the value of '\(key.prefix(40))' contains a line break or NUL")
            }
            pairs.append((key, value))
        }
        return pairs
    }
}
