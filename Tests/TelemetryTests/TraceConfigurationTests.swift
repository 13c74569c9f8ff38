import Foundation
import Testing

@testable import Telemetry

@Suite("Trace configuration from OTEL_* variables")
struct TraceConfigurationTests {
    @Test func defaultsFollowTheSpecification() throws {
        let configuration = try TraceConfiguration(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"])
        #expect(configuration.endpoint.absoluteString == "http://collector:4318/v1/traces")
        #expect(configuration.exportProtocol == .httpProtobuf)
        #expect(configuration.sampler == .parentBased(root: .alwaysOn))
        #expect(configuration.scheduleDelay == .milliseconds(5_000))
        #expect(configuration.maxQueueSize == 2_048 && configuration.maxExportBatchSize == 512)
        #expect(configuration.serviceName == "switchyard")
    }

    @Test func signalEndpointIsUsedAsGivenAndGRPCKeepsTheBase() throws {
        let traces = try TraceConfiguration(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b:2/custom/path",
        ])
        #expect(traces.endpoint.absoluteString == "https://b:2/custom/path")
        let grpc = try TraceConfiguration(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])
        #expect(grpc.endpoint.absoluteString == "http://c:4317" && grpc.exportProtocol == .grpc)
        let slash = try TraceConfiguration(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://d:4318/base/"])
        #expect(slash.endpoint.absoluteString == "http://d:4318/base/v1/traces")
    }

    @Test func samplersAndServiceNames() throws {
        let ratio = try TraceConfiguration(environment: ["OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"])
        #expect(ratio.sampler == .parentBased(root: .ratio(0.25)))
        #expect(try TraceConfiguration(environment: ["OTEL_TRACES_SAMPLER": "ALWAYS_OFF"]).sampler == .alwaysOff)
        let named = try TraceConfiguration(environment: ["OTEL_RESOURCE_ATTRIBUTES": "service.name=from-resource,deployment.environment=prod%20eu"])
        #expect(named.serviceName == "from-resource")
        #expect(named.resourceAttributes.map { "\($0.0)=\($0.1)" } == ["deployment.environment=prod eu"])
        let both = try TraceConfiguration(environment: ["OTEL_RESOURCE_ATTRIBUTES": "service.name=a", "OTEL_SERVICE_NAME": "b"])
        #expect(both.serviceName == "b")
    }

    @Test func headersMergeWithTheSignalsWinning() throws {
        let configuration = try TraceConfiguration(environment: [
            "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20one,x-team=a", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=Bearer two",
        ])
        #expect(configuration.headers.map { "\($0.0)=\($0.1)" } == ["x-team=a", "authorization=Bearer two"])
    }

    @Test(arguments: [
        ("OTEL_TRACES_SAMPLER", "sometimes"), ("OTEL_TRACES_SAMPLER_ARG", "NaN"), ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_TRACES_SAMPLER_ARG", "-0.1"), ("OTEL_BSP_SCHEDULE_DELAY", "1e300"), ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "99999999999999999999"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "abc"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:99999"), ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=b%0D%0Ainjected: 1"), ("OTEL_RESOURCE_ATTRIBUTES", "=x"),
    ])
    func badValuesNameTheirVariable(variable: String, value: String) {
        var environment = ["OTEL_TRACES_SAMPLER": "parentbased_traceidratio"]
        environment[variable] = value
        do {
            _ = try TraceConfiguration(environment: environment)
            Issue.record("\(variable)=\(value) was accepted")
        } catch let invalid as TraceConfiguration.Invalid {
            #expect(invalid.variable == variable)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func batchSizeNeverExceedsTheQueue() throws {
        let configuration = try TraceConfiguration(environment: ["OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100"])
        #expect(configuration.maxExportBatchSize == 10)
    }

    @Test func requestedOnlyWithAnExporter() {
        #expect(!TraceConfiguration.requested([:]))
        #expect(TraceConfiguration.requested(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"]))
        #expect(!TraceConfiguration.requested(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_SDK_DISABLED": "true"]))
        #expect(!TraceConfiguration.requested(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1", "OTEL_TRACES_EXPORTER": "none"]))
        #expect(TraceConfiguration.requested(["OTEL_TRACES_EXPORTER": "otlp"]))
    }
}
