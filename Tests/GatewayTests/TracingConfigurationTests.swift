import Foundation
import Testing

@testable import Gateway
import SwitchyardCore

@Suite("observability.tracing in the config file")
struct TracingConfigurationTests {
    let models = """
        providers:
          - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: x}
        models:
          - {name: m, provider: p, price: {input: 1, output: 1}}
        """

    @Test func fieldsBecomeTheirOTELVariables() throws {
        let configuration = try ConfigurationLoader.parse(models + """

            observability:
              tracing: {endpoint: "http://collector:4317", protocol: grpc, service_name: gw-eu, sampler: parentbased_traceidratio,
                        sampler_arg: 0.1, schedule_delay_ms: 200, headers: {authorization: "Bearer a,b"}}
            """, source: "t.yaml")
        let tracing = configuration.observability.tracing
        #expect(tracing["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317")
        #expect(tracing["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc")
        #expect(tracing["OTEL_SERVICE_NAME"] == "gw-eu")
        #expect(tracing["OTEL_TRACES_SAMPLER_ARG"] == "0.1")
        #expect(tracing["OTEL_BSP_SCHEDULE_DELAY"] == "200")
        #expect(tracing["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=Bearer a%2Cb")
    }

    @Test(arguments: [
        ("sampler: sometimes", "observability.tracing.sampler"), ("sampler_arg: 1e300", "observability.tracing.sampler_arg"),
        ("schedule_delay_ms: -1", "observability.tracing.schedule_delay_ms"), ("endpoint: ftp://x", "observability.tracing.endpoint"),
        ("protocol: carrier-pigeon", "observability.tracing.protocol"), ("max_queue_size: 99999999999999999999", "observability.tracing.max_queue_size"),
        ("colour: red", "observability.tracing.colour"),
        ("sampler_arg: 1e309", "observability.tracing.sampler_arg"), ("schedule_delay_ms: 1e300", "observability.tracing.schedule_delay_ms"),
        ("timeout_ms: -1", "observability.tracing.timeout_ms"), ("max_export_batch_size: 0", "observability.tracing.max_export_batch_size"),
        ("headers: {a: {b: {c: [1, [2, [3]]]}}}", "observability.tracing.headers"),
        ("headers: {a: \"\(String(repeating: "x", count: 1_048_576))\"}", "observability.tracing.headers"),
        ("endpoint: \"http://\(String(repeating: "h", count: 1_048_576)):4318\"", "observability.tracing.endpoint"),
    ])
    func badValuesNameTheField(entry: String, field: String) {
        do {
            _ = try ConfigurationLoader.parse(models + "\nobservability:\n  tracing: {\(entry)}\n", source: "t.yaml")
            Issue.record("\(entry) was accepted")
        } catch let error as SwitchyardError {
            #expect(error.message.contains(field), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
