import Foundation
import Tracing
import W3CTraceContext

/// `ExportTraceServiceRequest` (opentelemetry-proto `collector/trace/v1`) in protobuf's binary form, written
/// field by field: the messages are small and fixed, and swift-otel keeps its generated types to itself. The field
/// numbers are the proto files'; `tests/cli/test_tracing.py` decodes the output with the official Python package.
public enum OTLPEncoding {
    public static func exportRequest(_ spans: [FinishedSpan], serviceName: String, resource: [(String, String)]) -> [UInt8] {
        var resourceMessage = ProtobufWriter()
        resourceMessage.message(1, keyValue("service.name", .string(serviceName)))
        resourceMessage.message(1, keyValue("telemetry.sdk.name", .string("switchyard")))
        resourceMessage.message(1, keyValue("telemetry.sdk.language", .string("swift")))
        for (key, value) in resource { resourceMessage.message(1, keyValue(key, .string(value))) }

        var scope = ProtobufWriter()
        scope.string(1, "switchyard")

        var scopeSpans = ProtobufWriter()
        scopeSpans.message(1, scope)
        for span in spans { scopeSpans.message(2, encode(span)) }

        var resourceSpans = ProtobufWriter()
        resourceSpans.message(1, resourceMessage)
        resourceSpans.message(2, scopeSpans)

        var request = ProtobufWriter()
        request.message(1, resourceSpans)
        return request.bytes
    }

    static func encode(_ span: FinishedSpan) -> ProtobufWriter {
        var out = ProtobufWriter()
        out.bytes(1, span.identity.traceID.bytesArray)
        out.bytes(2, span.identity.spanID.bytesArray)
        if let state = span.identity.traceState, !state.isEmpty { out.string(3, state) }
        if let parent = span.parentSpanID { out.bytes(4, parent.bytesArray) }
        out.string(5, span.name)
        out.varint(6, UInt64(kind(span.kind)))
        out.fixed64(7, span.start)
        out.fixed64(8, span.end)
        span.attributes.forEach { key, value in
            if let encoded = anyValue(value) { out.message(9, keyValue(key, encoded)) }
        }
        for event in span.events {
            var message = ProtobufWriter()
            message.fixed64(1, event.nanosecondsSinceEpoch)
            message.string(2, event.name)
            event.attributes.forEach { key, value in
                if let encoded = anyValue(value) { message.message(3, keyValue(key, encoded)) }
            }
            out.message(11, message)
        }
        for link in span.links {
            guard let identity = link.context.spanIdentity else { continue }
            var message = ProtobufWriter()
            message.bytes(1, identity.traceID.bytesArray)
            message.bytes(2, identity.spanID.bytesArray)
            if let state = identity.traceState, !state.isEmpty { message.string(3, state) }
            link.attributes.forEach { key, value in
                if let encoded = anyValue(value) { message.message(4, keyValue(key, encoded)) }
            }
            message.fixed32(6, identity.sampled ? 1 : 0)
            out.message(13, message)
        }
        if let status = span.status {
            var message = ProtobufWriter()
            if let text = status.message, !text.isEmpty { message.string(2, text) }
            message.varint(3, status.code == .ok ? 1 : 2)
            out.message(15, message)
        }
        // Trace flags, plus "whether the parent is remote is known" (bit 8) and "it is" (bit 9).
        var flags: UInt32 = span.identity.sampled ? 1 : 0
        if span.parentSpanID != nil { flags |= 0x100 | (span.parentIsRemote ? 0x200 : 0) }
        out.fixed32(16, flags)
        return out
    }

    static func kind(_ kind: SpanKind) -> Int {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }

    enum Value {
        case string(String), bool(Bool), int(Int64), double(Double), array([Value])
    }

    static func anyValue(_ attribute: SpanAttribute) -> Value? {
        switch attribute {
        case .string(let value): .string(value)
        case .bool(let value): .bool(value)
        case .int32(let value): .int(Int64(value))
        case .int64(let value): .int(value)
        case .double(let value): .double(value)
        case .stringArray(let values): .array(values.map(Value.string))
        case .boolArray(let values): .array(values.map(Value.bool))
        case .int32Array(let values): .array(values.map { .int(Int64($0)) })
        case .int64Array(let values): .array(values.map(Value.int))
        case .doubleArray(let values): .array(values.map(Value.double))
        case .stringConvertible(let value): .string(value.description)
        case .stringConvertibleArray(let values): .array(values.map { .string($0.description) })
        default: nil
        }
    }

    static func keyValue(_ key: String, _ value: Value) -> ProtobufWriter {
        var out = ProtobufWriter()
        out.string(1, key)
        out.message(2, encode(value))
        return out
    }

    static func encode(_ value: Value) -> ProtobufWriter {
        var out = ProtobufWriter()
        switch value {
        case .string(let text): out.string(1, text, always: true)
        case .bool(let flag): out.varint(2, flag ? 1 : 0, always: true)
        case .int(let number): out.varint(3, UInt64(bitPattern: number), always: true)
        case .double(let number): out.fixed64(4, number.bitPattern, always: true)
        case .array(let values):
            var array = ProtobufWriter()
            for item in values { array.message(1, encode(item)) }
            out.message(5, array)
        }
        return out
    }
}

/// Protobuf's binary encoding, for the field kinds OTLP's trace messages use. Proto3 leaves default values out
/// (`always` writes them: a oneof's member is present even when it is 0 or "").
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func tag(_ field: Int, _ wireType: UInt8) { rawVarint(UInt64(field) << 3 | UInt64(wireType)) }

    mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func varint(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 0)
        rawVarint(value)
    }

    mutating func fixed64(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 1)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func fixed32(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        tag(field, 5)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        tag(field, 2)
        rawVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        guard !value.isEmpty || always else { return }
        tag(field, 2)
        rawVarint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    mutating func message(_ field: Int, _ value: ProtobufWriter) {
        tag(field, 2)
        rawVarint(UInt64(value.bytes.count))
        bytes.append(contentsOf: value.bytes)
    }
}

extension TraceID {
    var bytesArray: [UInt8] {
        let b = bytes
        return [b.0, b.1, b.2, b.3, b.4, b.5, b.6, b.7, b.8, b.9, b.10, b.11, b.12, b.13, b.14, b.15]
    }
}

extension SpanID {
    var bytesArray: [UInt8] {
        let b = bytes
        return [b.0, b.1, b.2, b.3, b.4, b.5, b.6, b.7]
    }
}
