import Foundation
import Telemetry

extension ConfigurationLoader {
    /// The config file's names for OpenTelemetry's variables.
    static let tracingFields: [(field: String, variable: String)] = [
        ("endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"), ("protocol", "OTEL_EXPORTER_OTLP_PROTOCOL"), ("service_name", "OTEL_SERVICE_NAME"),
        ("sampler", "OTEL_TRACES_SAMPLER"), ("sampler_arg", "OTEL_TRACES_SAMPLER_ARG"), ("headers", "OTEL_EXPORTER_OTLP_HEADERS"),
        ("schedule_delay_ms", "OTEL_BSP_SCHEDULE_DELAY"), ("max_queue_size", "OTEL_BSP_MAX_QUEUE_SIZE"),
        ("max_export_batch_size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), ("timeout_ms", "OTEL_EXPORTER_OTLP_TIMEOUT"),
    ]

    /// `observability: {tracing: {endpoint, protocol, service_name, sampler, sampler_arg, headers, …}}`: the same
    /// settings as the `OTEL_*` variables (which win when both are set), checked here so a bad value names its field.
    static func tracing(_ node: ConfigNode) throws -> [String: String] {
        try node.allowOnly(Set(tracingFields.map(\.field)))
        var environment: [String: String] = [:]
        for (field, variable) in tracingFields {
            guard let value = node[field] else { continue }
            if field == "headers" {
                let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~ /+:;="))
                environment[variable] = try value.stringMap().sorted { $0.key < $1.key }.map { key, raw in
                    "\(key)=\(raw.addingPercentEncoding(withAllowedCharacters: allowed.subtracting(CharacterSet(charactersIn: ",="))) ?? raw)"
                }.joined(separator: ",")
            } else {
                environment[variable] = try value.string()
            }
        }
        do {
            _ = try TraceConfiguration(environment: environment.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"]) { mine, _ in mine })
        } catch let invalid as TraceConfiguration.Invalid {
            let field = tracingFields.first { $0.variable == invalid.variable }?.field ?? "endpoint"
            throw (node[field] ?? node).error(invalid.problem)
        }
        return environment
    }
}
