import Foundation
import Tracing
import W3CTraceContext

/// `ExportTraceServiceRequest` (opentelemetry-proto `collector/trace/v1`) in protobuf's binary form, written
/// field by field: the messages are small and fixed, and swift-otel keeps its generated types to itself. The field
/// numbers are the proto files'; `tests/cli/test_tracing.py` decodes the output with the official Python package.
public enum OTLPEncoding {
    public static func exportRequest(_ spans: [FinishedSpan], serviceName: String, resource: [(String, String)]) -> [UInt8] {
        var out = ProtobufWriter()
        out.bytes.reserveCapacity(256 + spans.count * 400)
        out.message(1) { resourceSpans in  // ExportTraceServiceRequest.resource_spans
            resourceSpans.message(1) { resourceMessage in  // ResourceSpans.resource
                keyValue(1, "service.name", .string(serviceName), into: &resourceMessage)
                keyValue(1, "telemetry.sdk.name", .string("switchyard"), into: &resourceMessage)
                keyValue(1, "telemetry.sdk.language", .string("swift"), into: &resourceMessage)
                for (key, value) in resource { keyValue(1, key, .string(value), into: &resourceMessage) }
            }
            resourceSpans.message(2) { scopeSpans in  // ResourceSpans.scope_spans
                scopeSpans.message(1) { $0.string(1, "switchyard") }  // InstrumentationScope.name
                for span in spans { scopeSpans.message(2) { encode(span, into: &$0) } }
            }
        }
        return out.bytes
    }

    static func encode(_ span: FinishedSpan, into out: inout ProtobufWriter) {
        out.bytes(1, span.identity.traceID.bytesArray)
        out.bytes(2, span.identity.spanID.bytesArray)
        if let state = span.identity.traceState, !state.isEmpty { out.string(3, state) }
        if let parent = span.parentSpanID { out.bytes(4, parent.bytesArray) }
        out.string(5, span.name)
        out.varint(6, UInt64(kind(span.kind)))
        out.fixed64(7, span.start)
        out.fixed64(8, span.end)
        span.attributes.forEach { key, value in
            if let encoded = anyValue(value) { keyValue(9, key, encoded, into: &out) }
        }
        for event in span.events {
            out.message(11) { message in
                message.fixed64(1, event.nanosecondsSinceEpoch)
                message.string(2, event.name)
                event.attributes.forEach { key, value in
                    if let encoded = anyValue(value) { keyValue(3, key, encoded, into: &message) }
                }
            }
        }
        for link in span.links {
            guard let identity = link.context.spanIdentity else { continue }
            out.message(13) { message in
                message.bytes(1, identity.traceID.bytesArray)
                message.bytes(2, identity.spanID.bytesArray)
                if let state = identity.traceState, !state.isEmpty { message.string(3, state) }
                link.attributes.forEach { key, value in
                    if let encoded = anyValue(value) { keyValue(4, key, encoded, into: &message) }
                }
                message.fixed32(6, identity.sampled ? 1 : 0)
            }
        }
        if let status = span.status {
            out.message(15) { message in
                if let text = status.message, !text.isEmpty { message.string(2, text) }
                message.varint(3, status.code == .ok ? 1 : 2)
            }
        }
        // Trace flags, plus "whether the parent is remote is known" (bit 8) and "it is" (bit 9).
        var flags: UInt32 = span.identity.sampled ? 1 : 0
        if span.parentSpanID != nil { flags |= 0x100 | (span.parentIsRemote ? 0x200 : 0) }
        out.fixed32(16, flags)
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

    /// A `KeyValue` message as field `field` of the message being written.
    static func keyValue(_ field: Int, _ key: String, _ value: Value, into out: inout ProtobufWriter) {
        out.message(field) { pair in
            pair.string(1, key)
            pair.message(2) { encode(value, into: &$0) }
        }
    }

    /// An `AnyValue` message's fields.
    static func encode(_ value: Value, into out: inout ProtobufWriter) {
        switch value {
        case .string(let text): out.string(1, text, always: true)
        case .bool(let flag): out.varint(2, flag ? 1 : 0, always: true)
        case .int(let number): out.varint(3, UInt64(bitPattern: number), always: true)
        case .double(let number): out.fixed64(4, number.bitPattern, always: true)
        case .array(let values):
            out.message(5) { array in
                for item in values { array.message(1) { encode(item, into: &$0) } }
            }
        }
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

    /// A length-delimited message written in place: its fields go straight into this buffer and its length is
    /// inserted in front of them afterwards (a nested buffer per message cost an allocation and a copy each).
    mutating func message(_ field: Int, _ write: (inout ProtobufWriter) -> Void) {
        tag(field, 2)
        let start = bytes.count
        write(&self)
        var length = UInt64(bytes.count - start)
        var size = 1
        while length >= 1 << (7 * size) { size += 1 }
        bytes.insert(contentsOf: repeatElement(0, count: size), at: start)
        for index in 0..<size {
            bytes[start + index] = UInt8(truncatingIfNeeded: length) | (index < size - 1 ? 0x80 : 0)
            length >>= 7
        }
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
