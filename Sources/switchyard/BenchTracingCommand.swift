import ArgumentParser
import Foundation
import Logging
import Telemetry
import Tracing

/// `switchyard bench tracing`: what a request's spans cost on the request path with the gateway's tracer, against
/// swift-distributed-tracing's no-op tracer (tracing off), and what OTLP encoding costs per span off the path.
struct BenchTracingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracing",
        abstract: "Span cost: a request's six spans (start, attributes, end) with the tracer on and off; OTLP encoding per span.")

    @Option(help: "Requests per round (six spans each).")
    var requests = 50_000

    @Option(help: "Rounds, alternating off and on.")
    var rounds = 3

    func run() async throws {
        guard (1...10_000_000).contains(requests), (1...100).contains(rounds) else {
            throw ValidationError("--requests is 1 to 10,000,000 and --rounds 1 to 100")
        }
        let exporter = try TraceExporter(
            configuration: TraceConfiguration(environment: ["OTEL_TRACES_SAMPLER": "always_on", "OTEL_BSP_MAX_QUEUE_SIZE": "100000"]),
            logger: Logger(label: "bench"))
        let on = exporter.tracer
        let off = NoOpTracer()
        print("a request's spans: a server span, `chat MODEL` with 8 attributes, 3 stage spans, 1 client span; \(requests) requests a round")
        print("round  off_ns_per_request  on_ns_per_request  added_ns_per_request  added_ns_per_span")
        var added: [Double] = []
        for round in 1...rounds {
            let offNanos = Self.time { for _ in 0..<requests { Self.request(off) } }
            let onNanos = Self.time {
                for index in 0..<requests {
                    Self.request(on)
                    if index % 1_000 == 999 { _ = exporter.takeQueued(10_000) }  // what the exporter task would take away
                }
            }
            let offPer = offNanos / Double(requests), onPer = onNanos / Double(requests)
            added.append(onPer - offPer)
            print(String(format: "%5d  %18.0f  %17.0f  %20.0f  %17.0f", round, offPer, onPer, onPer - offPer, (onPer - offPer) / 6))
        }
        for _ in 0..<200 { Self.request(on) }
        let batch = exporter.takeQueued(1_200)
        let encodeNanos = Self.time { for _ in 0..<20 { _ = OTLPEncoding.exportRequest(batch, serviceName: "bench", resource: []) } }
        print(String(format: "median added per request: %.0f ns; OTLP encoding (exporter task, off the request path): %.0f ns per span",
            added.sorted()[added.count / 2], encodeNanos / Double(20 * max(1, batch.count))))
    }

    static func request<T: Tracer>(_ tracer: T) {
        let server = tracer.startSpan("POST /v1/chat/completions", context: .topLevel, ofKind: .server, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        server.attributes["http.request.method"] = "POST"
        server.attributes["url.path"] = "/v1/chat/completions"
        let chat = tracer.startSpan("chat gpt-4o-mini", context: server.context, ofKind: .internal, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        chat.attributes["gen_ai.operation.name"] = "chat"
        chat.attributes["gen_ai.request.model"] = "gpt-4o-mini"
        chat.attributes["switchyard.request_id"] = "req_0123456789abcdef0123"
        chat.attributes["gen_ai.request.max_tokens"] = 64
        for stage in ["switchyard.ground", "switchyard.guard", "switchyard.route_and_cache"] {
            let span = tracer.startSpan(stage, context: chat.context, ofKind: .internal, at: DefaultTracerClock.now, function: "", file: "", line: 0)
            span.end()
        }
        let attempt = tracer.startSpan("chat gpt-4o-mini", context: chat.context, ofKind: .client, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        attempt.attributes["gen_ai.request.model"] = "gpt-4o-mini"
        attempt.end()
        chat.attributes["gen_ai.usage.input_tokens"] = 52
        chat.attributes["gen_ai.usage.output_tokens"] = 20
        chat.attributes["gen_ai.provider.name"] = "mock"
        chat.attributes["switchyard.cost_usd"] = 0.0000198
        chat.end()
        server.attributes["http.response.status_code"] = 200
        server.end()
    }

    static func time(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    }
}
