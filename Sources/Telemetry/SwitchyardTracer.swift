import Foundation
import Instrumentation
import ServiceContextModule
import Synchronization
import Tracing
import W3CTraceContext

/// A span's place in its trace: what `traceparent` carries, plus whether it came from another process.
public struct SpanIdentity: Sendable, Hashable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var sampled: Bool
    public var traceState: String?
    public var isRemote: Bool

    public static func == (a: Self, b: Self) -> Bool {
        a.traceID == b.traceID && a.spanID == b.spanID && a.sampled == b.sampled && a.traceState == b.traceState && a.isRemote == b.isRemote
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(traceID)
        hasher.combine(spanID)
    }

    public var traceParent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }
}

enum SpanIdentityKey: ServiceContextKey {
    typealias Value = SpanIdentity
    static let nameOverride: String? = "switchyard-span"
}

extension ServiceContext {
    /// The active span's identity (a remote parent's after `extract`).
    public var spanIdentity: SpanIdentity? {
        get { self[SpanIdentityKey.self] }
        set { self[SpanIdentityKey.self] = newValue }
    }
}

/// The gateway's tracer. swift-otel's (measured first) hands every span start and end to a task through an
/// `AsyncStream` and an actor, so a request with seven spans scheduled some twenty extra jobs on the same event
/// loops that serve requests: +136 µs p50 at one connection (`Benchmarks/observability.sh`). Here a span is a
/// small object whose end appends one value to a locked buffer; a single exporter task wakes on its schedule (or
/// when a batch fills) and sends OTLP. Sampling, propagation (W3C `traceparent`/`tracestate`) and the batch
/// processor's limits follow the OpenTelemetry specification and its `OTEL_*` variables.
public final class SwitchyardTracer: Tracer, Sendable {
    public typealias Span = RecordedSpan

    let sampler: TraceConfiguration.Sampler
    let sink: SpanSink
    private let random: Mutex<Xoshiro>

    init(sampler: TraceConfiguration.Sampler, sink: SpanSink) {
        self.sampler = sampler
        self.sink = sink
        var seed = SystemRandomNumberGenerator()
        random = Mutex(Xoshiro(seed: (seed.next(), seed.next(), seed.next(), seed.next())))
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind, at instant: @autoclosure () -> Instant,
        function: String, file fileID: String, line: UInt
    ) -> RecordedSpan {
        var context = context()
        let parent = context.spanIdentity
        let (traceID, spanID) = random.withLock { generator -> (TraceID, SpanID) in
            let spanID = SpanID(bytes: Self.spanBytes(generator.nextNonZero()))
            guard let parent else {
                let high = generator.next(), low = generator.nextNonZero()
                return (TraceID(bytes: Self.traceBytes(high, low)), spanID)
            }
            return (parent.traceID, spanID)
        }
        let sampled = Self.decide(sampler, traceID: traceID, parent: parent)
        let identity = SpanIdentity(traceID: traceID, spanID: spanID, sampled: sampled, traceState: parent?.traceState, isRemote: false)
        context.spanIdentity = identity
        return RecordedSpan(
            name: operationName, kind: kind, context: context, identity: identity, parent: parent,
            start: sampled ? instant().nanosecondsSinceEpoch : 0, sink: sampled ? sink : nil)
    }

    public func forceFlush() { sink.wake() }

    // MARK: propagation (W3C Trace Context)

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: "traceparent", from: carrier), parent.utf8.count <= 512,
            let parsed = try? TraceContext(traceParentHeaderValue: parent)
        else { return }
        var state = extractor.extract(key: "tracestate", from: carrier)
        if let raw = state, raw.utf8.count > 512 || raw.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E }) { state = nil }
        context.spanIdentity = SpanIdentity(
            traceID: parsed.traceID, spanID: parsed.spanID, sampled: parsed.flags.contains(.sampled), traceState: state, isRemote: true)
    }

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let identity = context.spanIdentity else { return }
        injector.inject(identity.traceParent, forKey: "traceparent", into: &carrier)
        if let state = identity.traceState, !state.isEmpty { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }

    // MARK: sampling

    static func decide(_ sampler: TraceConfiguration.Sampler, traceID: TraceID, parent: SpanIdentity?) -> Bool {
        switch sampler {
        case .alwaysOn: return true
        case .alwaysOff: return false
        case .ratio(let ratio): return ratioSampled(traceID, ratio: ratio)
        case .parentBased(let root):
            guard let parent else { return decide(root, traceID: traceID, parent: nil) }
            return parent.sampled
        }
    }

    /// TraceIdRatioBased: the trace id's last 8 bytes as a number below `ratio` of their range, so every
    /// process that sees the trace decides the same.
    static func ratioSampled(_ traceID: TraceID, ratio: Double) -> Bool {
        guard ratio > 0 else { return false }
        guard ratio < 1 else { return true }
        let bytes = traceID.bytes
        let low = [bytes.8, bytes.9, bytes.10, bytes.11, bytes.12, bytes.13, bytes.14, bytes.15].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(low >> 11) < ratio * 9_007_199_254_740_992  // 2^53: the top 53 bits against the ratio
    }

    static func spanBytes(_ value: UInt64) -> SpanID.Bytes {
        (UInt8(truncatingIfNeeded: value >> 56), UInt8(truncatingIfNeeded: value >> 48), UInt8(truncatingIfNeeded: value >> 40),
         UInt8(truncatingIfNeeded: value >> 32), UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value))
    }

    static func traceBytes(_ high: UInt64, _ low: UInt64) -> TraceID.Bytes {
        let h = spanBytes(high), l = spanBytes(low)
        return (h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7, l.0, l.1, l.2, l.3, l.4, l.5, l.6, l.7)
    }
}

/// xoshiro256** (Blackman & Vigna), seeded from the system's generator: ids need to be unique, not secret, and a
/// system call per id would cost more than the rest of a span.
struct Xoshiro {
    var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: (UInt64, UInt64, UInt64, UInt64)) {
        s = seed
        if s == (0, 0, 0, 0) { s.0 = 0x9E37_79B9_7F4A_7C15 }
    }

    mutating func next() -> UInt64 {
        let result = rotate(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotate(s.3, 45)
        return result
    }

    mutating func nextNonZero() -> UInt64 {
        while true {
            let value = next()
            if value != 0 { return value }
        }
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

import Logging

extension SwitchyardTracer {
    /// Log lines made inside a traced task carry `trace_id` and `span_id`.
    public static let loggingMetadata = Logger.MetadataProvider {
        guard let identity = ServiceContext.current?.spanIdentity else { return [:] }
        return ["trace_id": "\(identity.traceID)", "span_id": "\(identity.spanID)"]
    }
}
