import Foundation
import Testing
import Tracing
import W3CTraceContext

@testable import Telemetry

struct DictionaryCarrier: Extractor, Injector {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

@Suite("Tracer: sampling, propagation, spans, OTLP encoding")
struct TracerTests {
    func tracer(_ sampler: TraceConfiguration.Sampler = .parentBased(root: .alwaysOn), queue: Int = 100, batch: Int = 10)
        -> (SwitchyardTracer, SpanSink)
    {
        let sink = SpanSink(maxQueueSize: queue, batchSize: batch)
        return (SwitchyardTracer(sampler: sampler, sink: sink), sink)
    }

    @Test func aRemoteParentIsContinuedAndInjectedUpstream() {
        let (tracer, sink) = tracer()
        var context = ServiceContext.topLevel
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        tracer.extract(["traceparent": parent, "tracestate": "vendor=1"], into: &context, using: DictionaryCarrier())
        let span = tracer.startSpan("server", context: context, ofKind: .server, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        #expect(span.identity.traceID.description == "0af7651916cd43dd8448eb211c80319c")
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryCarrier())
        #expect(headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-\(span.identity.spanID)-01")
        #expect(headers["tracestate"] == "vendor=1")
        span.end()
        let (spans, _) = sink.take(10)
        #expect(spans.count == 1 && spans[0].parentSpanID?.description == "b7ad6b7169203331" && spans[0].parentIsRemote)
    }

    @Test(arguments: [
        "", "garbage", "00-00000000000000000000000000000000-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", String(repeating: "0", count: 100_000), "00-ZZf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ])
    func aBrokenTraceparentStartsANewTrace(header: String) {
        let (tracer, _) = tracer()
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": header], into: &context, using: DictionaryCarrier())
        #expect(context.spanIdentity == nil)
        let span = tracer.startSpan("x", context: context, ofKind: .server, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        #expect(span.identity.traceID != TraceID.null && span.isRecording)
    }

    @Test func anUnsampledParentIsHonouredAndStillPropagated() {
        let (tracer, sink) = tracer()
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"], into: &context, using: DictionaryCarrier())
        let span = tracer.startSpan("x", context: context, ofKind: .server, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        span.attributes["ignored"] = "yes"
        #expect(!span.isRecording && span.attributes.isEmpty)
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryCarrier())
        #expect(headers["traceparent"]?.hasSuffix("-00") == true)
        span.end()
        #expect(sink.count == 0)
    }

    @Test func ratioSamplingIsDeterministicAndNearItsRatio() {
        var generator = Xoshiro(seed: (1, 2, 3, 4))
        var kept = 0
        for _ in 0..<20_000 {
            let id = TraceID(bytes: SwitchyardTracer.traceBytes(generator.next(), generator.next()))
            let decision = SwitchyardTracer.ratioSampled(id, ratio: 0.25)
            #expect(decision == SwitchyardTracer.ratioSampled(id, ratio: 0.25))
            if decision { kept += 1 }
        }
        #expect((4_500...5_500).contains(kept), "kept \(kept) of 20,000 at 0.25")
        let id = TraceID(bytes: SwitchyardTracer.traceBytes(7, 9))
        #expect(!SwitchyardTracer.ratioSampled(id, ratio: 0) && SwitchyardTracer.ratioSampled(id, ratio: 1))
    }

    @Test func aSpanEndsOnceAndAFullQueueDropsAndCounts() {
        let (tracer, sink) = tracer(.alwaysOn, queue: 3, batch: 2)
        let first = tracer.startSpan("a", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        first.attributes["k"] = "v"
        first.end()
        first.end()
        first.attributes["late"] = "no"
        #expect(sink.count == 1)
        for _ in 0..<5 {
            tracer.startSpan("b", context: first.context, ofKind: .internal, at: DefaultTracerClock.now, function: "", file: "", line: 0).end()
        }
        let (spans, dropped) = sink.take(100)
        #expect(spans.count == 3 && dropped == 3)
        #expect(spans[0].attributes.get("k") == .string("v") && spans[0].attributes.get("late") == nil)
        #expect(spans[1].parentSpanID == first.identity.spanID && spans[1].identity.traceID == first.identity.traceID)
    }

    @Test func theEncodingHasOTLPsFields() throws {
        let (tracer, sink) = tracer(.alwaysOn)
        let span = tracer.startSpan("chat small", context: .topLevel, ofKind: .client, at: DefaultTracerClock.now, function: "", file: "", line: 0)
        span.attributes["gen_ai.usage.input_tokens"] = 12
        span.attributes["gen_ai.response.finish_reasons"] = ["stop"]
        span.attributes["switchyard.cost_usd"] = 0.5
        span.setStatus(SpanStatus(code: .error, message: "upstream 503"))
        span.end()
        let bytes = OTLPEncoding.exportRequest(sink.take(10).spans, serviceName: "svc", resource: [("env", "test")])
        // ExportTraceServiceRequest.resource_spans(1) → ScopeSpans(2) → Span(2)
        let resourceSpans = try #require(ProtobufReader.fields(bytes)[1]?.first)
        let resource = try #require(ProtobufReader.fields(resourceSpans)[1]?.first)
        let resourceKeys = try ProtobufReader.fields(resource)[1, default: []].map { try #require(ProtobufReader.fields($0)[1]?.first) }
        #expect(resourceKeys.map { String(decoding: $0, as: UTF8.self) }.contains("service.name"))
        let scopeSpans = try #require(ProtobufReader.fields(resourceSpans)[2]?.first)
        let encoded = try #require(ProtobufReader.fields(scopeSpans)[2]?.first)
        let fields = ProtobufReader.fields(encoded)
        #expect(fields[1]?.first == span.identity.traceID.bytesArray)
        #expect(fields[2]?.first == span.identity.spanID.bytesArray)
        #expect(fields[5]?.first.map { String(decoding: $0, as: UTF8.self) } == "chat small")
        #expect(fields[6]?.first == [3])  // CLIENT
        #expect(fields[9]?.count == 3)
        let status = try #require(fields[15]?.first)
        #expect(ProtobufReader.fields(status)[3]?.first == [2])  // STATUS_CODE_ERROR
        #expect(fields[16]?.first == [1, 0, 0, 0])  // sampled, no parent
    }
}

/// Enough of protobuf's decoding to check field numbers: every field's raw payload (varints as their bytes).
enum ProtobufReader {
    static func fields(_ bytes: [UInt8]) -> [Int: [[UInt8]]] {
        var result: [Int: [[UInt8]]] = [:]
        var index = 0
        func varint() -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            return value
        }
        while index < bytes.count {
            let key = varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: result[field, default: []].append([UInt8(truncatingIfNeeded: varint())])
            case 1: result[field, default: []].append(Array(bytes[index..<min(index + 8, bytes.count)])); index += 8
            case 5: result[field, default: []].append(Array(bytes[index..<min(index + 4, bytes.count)])); index += 4
            case 2:
                let length = Int(varint())
                result[field, default: []].append(Array(bytes[index..<min(index + length, bytes.count)]))
                index += length
            default: return result
            }
        }
        return result
    }
}
