import Foundation
import Synchronization
import Tracing
import W3CTraceContext

/// A span as the exporter sees it once it has ended.
public struct FinishedSpan: Sendable {
    public var name: String
    public var kind: SpanKind
    public var identity: SpanIdentity
    public var parentSpanID: SpanID?
    public var parentIsRemote: Bool
    public var start: UInt64
    public var end: UInt64
    public var attributes: SpanAttributes
    public var events: [SpanEvent]
    public var links: [SpanLink]
    public var status: SpanStatus?
}

/// One span. Unsampled spans carry their context (so `traceparent` still goes upstream) and record nothing.
public final class RecordedSpan: Tracing.Span, Sendable {
    public let context: ServiceContext
    let identity: SpanIdentity
    private let sink: SpanSink?
    private let state: Mutex<State>
    private let recording: Bool

    struct State {
        var name: String
        var attributes = SpanAttributes()
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var status: SpanStatus?
        var ended = false
        let kind: SpanKind
        let parentSpanID: SpanID?
        let parentIsRemote: Bool
        let start: UInt64
    }

    init(
        name: String, kind: SpanKind, context: ServiceContext, identity: SpanIdentity, parent: SpanIdentity?, start: UInt64, sink: SpanSink?
    ) {
        self.context = context
        self.identity = identity
        self.sink = sink
        recording = sink != nil
        state = Mutex(State(name: name, kind: kind, parentSpanID: parent?.spanID, parentIsRemote: parent?.isRemote ?? false, start: start))
    }

    public var isRecording: Bool { recording && state.withLock { !$0.ended } }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set { if recording { state.withLock { if !$0.ended { $0.name = newValue } } } }
    }

    /// `span.attributes["k"] = v` goes through `_modify`: the attributes are taken out, changed in place and put
    /// back, not copied whole for every key.
    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { if recording { state.withLock { if !$0.ended { $0.attributes = newValue } } } }
        _modify {
            guard recording else {
                var scratch = SpanAttributes()
                yield &scratch
                return
            }
            var taken = state.withLock { current -> SpanAttributes in
                let value = current.attributes
                current.attributes = SpanAttributes()
                return value
            }
            yield &taken
            state.withLock { if !$0.ended { $0.attributes = taken } }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        guard recording else { return }
        state.withLock { current in
            guard !current.ended, current.status?.code != .ok else { return }  // Ok is final (the specification)
            current.status = status
        }
    }

    public func addEvent(_ event: SpanEvent) {
        guard recording else { return }
        state.withLock { if !$0.ended && $0.events.count < 128 { $0.events.append(event) } }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        guard recording else { return }
        var details = attributes
        details["exception.type"] = String(describing: type(of: error))
        details["exception.message"] = String(String(describing: error).prefix(1_024))
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: details))
    }

    public func addLink(_ link: SpanLink) {
        guard recording else { return }
        state.withLock { if !$0.ended && $0.links.count < 128 { $0.links.append(link) } }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard recording, let sink else { return }
        let end = instant().nanosecondsSinceEpoch
        let finished = state.withLock { current -> FinishedSpan? in
            guard !current.ended else { return nil }
            current.ended = true
            return FinishedSpan(
                name: current.name, kind: current.kind, identity: identity, parentSpanID: current.parentSpanID, parentIsRemote: current.parentIsRemote,
                start: current.start,
                end: max(end, current.start), attributes: current.attributes, events: current.events, links: current.links,
                status: current.status)
        }
        if let finished { sink.add(finished) }
    }
}

/// Ended spans waiting for export: bounded (`OTEL_BSP_MAX_QUEUE_SIZE`; the newest are dropped and counted when
/// full), and a wake-up for the exporter when a batch's worth has gathered.
final class SpanSink: Sendable {
    private struct State {
        var spans: [FinishedSpan] = []
        var dropped = 0
        var woken = false
    }

    private let state = Mutex(State())
    let maxQueueSize: Int
    let batchSize: Int
    /// Yielded once per gathered batch (and by `wake()`); the exporter's loop waits on it.
    let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    init(maxQueueSize: Int, batchSize: Int) {
        self.maxQueueSize = maxQueueSize
        self.batchSize = batchSize
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func add(_ span: FinishedSpan) {
        let wake = state.withLock { current -> Bool in
            guard current.spans.count < maxQueueSize else {
                current.dropped += 1
                return false
            }
            current.spans.append(span)
            guard current.spans.count >= batchSize, !current.woken else { return false }
            current.woken = true
            return true
        }
        if wake { wakeUp.yield() }
    }

    func wake() { wakeUp.yield() }

    func finish() { wakeUp.finish() }

    /// Up to `limit` of the oldest spans, and how many were dropped since the last call.
    func take(_ limit: Int) -> (spans: [FinishedSpan], dropped: Int) {
        state.withLock { current in
            let count = min(limit, current.spans.count)
            let batch = Array(current.spans.prefix(count))
            current.spans.removeFirst(count)
            let dropped = current.dropped
            current.dropped = 0
            current.woken = current.spans.count >= batchSize
            return (batch, dropped)
        }
    }

    var count: Int { state.withLock { $0.spans.count } }
}
