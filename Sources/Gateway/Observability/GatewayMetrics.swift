import Foundation
import Prometheus
import Routing
import SwitchyardCore
import Synchronization
import Telemetry

/// The gateway's Prometheus metrics (`GET /metrics`), in one registry per gateway. Request metrics are taken from
/// each request log record as it is queued (so every endpoint, stream, cache hit and failure counts once, from the
/// same facts `explain` shows); state metrics (breakers, budgets, cache size, the log's queue) are read when scraped.
///
/// Label values are bounded: a model, tool or workflow name a client sends counts under its own name only when
/// the configuration knows it (otherwise `other`), and no request id or user value is ever a label.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Names that may appear as label values (models, groups, routes, experiments, `workflow/NAME`, tools).
    private let knownNames: Mutex<Set<String>>
    /// Dropped request log records already counted in `switchyard_request_log_dropped_total`.
    private let reportedDropped = Mutex(0)
    /// The buckets as durations, made once (not per request).
    static let durationBucketDurations: [Duration] = durationBuckets.map { .nanoseconds(Int64($0 * 1e9)) }
    static let durationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    private static var requests: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "requests", unitName: "total",
        helpText: "Requests by the model the client asked for, the provider that answered, route, HTTP status and cache outcome.") }
    private static var duration: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "request_duration", unitName: "seconds", helpText: "Time from a request's arrival to its last byte.") }
    private static var overhead: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "gateway_overhead", unitName: "seconds",
        helpText: "A request's time spent in the gateway itself: its duration less the upstream attempts' time.") }
    private static var ttfb: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "upstream_time_to_first_byte", unitName: "seconds",
        helpText: "Time to an answer's first token (streams) by provider.") }
    private static var tokens: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "tokens", unitName: "total", helpText: "Tokens sent to and received from upstream models (cache hits excluded), by model and direction (input, output, cached_input).") }
    private static var cost: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "cost_usd", unitName: "total", helpText: "Spend in US dollars by model, key and team.") }
    private static var cacheLookups: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "cache_lookups", unitName: "total", helpText: "Response cache lookups by outcome (hit, semantic_hit, miss).") }
    private static var cacheSaved: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "cache_saved_usd", unitName: "total", helpText: "What cache hits would have cost upstream.") }
    private static var cacheBytes: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "cache", unitName: "bytes", helpText: "Bytes held by the response cache.") }
    private static var cacheEntries: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "cache_entries", helpText: "Entries in the response cache.") }
    private static var breakerOpen: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "circuit_breaker_open",
        helpText: "1 while a deployment's circuit breaker is open or half-open (probing), 0 while closed.") }
    private static var inFlight: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "deployment_in_flight", helpText: "Requests in flight per deployment.") }
    private static var budgetRemaining: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "budget_remaining_usd",
        helpText: "What a key's or team's budget has left in its period (budget − spent − reserved).") }
    private static var guardVerdicts: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "guard_verdicts", unitName: "total", helpText: "Guardrail verdicts by policy and verdict.") }
    private static var toolCalls: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "tool_calls", unitName: "total", helpText: "Tool calls (tool loop and /mcp) by tool and outcome.") }
    private static var workflowSteps: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "workflow_steps", unitName: "total", helpText: "Workflow steps checkpointed, by workflow and status.") }
    private static var logQueue: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "request_log_queue_depth", helpText: "Request log records waiting to be written.") }
    private static var logDropped: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "request_log_dropped", unitName: "total",
        helpText: "Request log records dropped because the queue was full.") }

    private static var traceSpans: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "trace_spans", unitName: "total",
        helpText: "Spans by export outcome: exported, dropped (the export queue was full) or failed (the OTLP receiver refused or was unreachable).") }
    private static var traceQueue: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "trace_queue_depth", helpText: "Ended spans waiting for export.") }
    private static var storageUp: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "storage_up",
        helpText: "1 when the shared database (PostgreSQL replicas) answered its last call, 0 when it did not.") }
    private static var upstreamInFlight: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "upstream_in_flight",
        helpText: "Upstream calls in flight per provider, from the request until the answer's last byte.") }
    private static var connectionWaits: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchyard", metricName: "upstream_connection_waits", unitName: "total",
        helpText: "Upstream calls that started while every connection the provider may open (max_connections) was busy, and so waited for one.") }
    /// Connection waits already added to `switchyard_upstream_connection_waits_total`, per provider.
    private let reportedWaits = Mutex<[String: Int]>([:])
    /// Span counts already added to `switchyard_trace_spans_total`.
    private let reportedSpans = Mutex(TraceExporter.Tally())

    init(knownNames: Set<String>) {
        self.knownNames = Mutex(knownNames)
    }

    /// Tools of the connected MCP servers (which connect after the gateway is made).
    private let toolLookup = Mutex<ToolLookup?>(nil)
    /// Boxed, as `RequestLog`'s observer is: a bare closure in a `Mutex` gathers a thunk on every access.
    final class ToolLookup: Sendable {
        let known: @Sendable (String) -> Bool
        init(_ known: @escaping @Sendable (String) -> Bool) { self.known = known }
    }
    var isKnownTool: @Sendable (String) -> Bool {
        get { toolLookup.withLock { $0 }?.known ?? { _ in false } }
        set {
            let box = ToolLookup(newValue)
            toolLookup.withLock { $0 = box }
        }
    }

    /// A client-given name as a label: itself when configured, else `other`.
    func bounded(_ name: String?) -> String {
        guard let name, !name.isEmpty else { return "none" }
        return knownNames.withLock({ $0.contains(name) }) || isKnownTool(name) ? Self.clean(name) : "other"
    }

    /// Label values may hold anything but a label must stay one line and a bounded size.
    static func clean(_ value: String) -> String {
        // The common case (a configured name) is returned as it is, without copying; Foundation's string search is
        // kept off this path (it is called for every request, on the event loops).
        if value.utf8.count <= 128 && !value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) { return value }
        return String(value.prefix(128).map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }

    /// Counts a finished request from its log record.
    func observe(_ record: RequestRecord) {
        let model = bounded(record.model)
        let provider = record.provider.map(Self.clean) ?? "none"
        let cache = record.cache ?? "none"
        registry.makeCounter(
            descriptor: Self.requests,
            labels: [
                ("model", model), ("provider", provider), ("route", Self.clean(record.route?.attempts.last?.deployment ?? "none")),
                ("status", String(record.status)), ("cache", Self.clean(cache)), ("endpoint", Self.clean(record.endpoint)),
            ]
        ).increment()
        let seconds = max(0, record.latencyMs) / 1000
        if seconds.isFinite {
            registry.makeDurationHistogram(
                descriptor: Self.duration, labels: [("model", model), ("endpoint", Self.clean(record.endpoint))],
                buckets: Self.durationBucketDurations
            ).recordNanoseconds(Int64(seconds * 1e9))
            let upstream = (record.route?.attempts ?? []).reduce(0.0) { $0 + max(0, $1.milliseconds) } / 1000
            registry.makeDurationHistogram(
                descriptor: Self.overhead, labels: [("endpoint", Self.clean(record.endpoint))],
                buckets: Self.durationBucketDurations
            ).recordNanoseconds(Int64(max(0, seconds - upstream) * 1e9))
        }
        if let ttft = record.ttftMs, ttft.isFinite, ttft >= 0, let answered = record.provider, answered != "cache" {
            registry.makeDurationHistogram(
                descriptor: Self.ttfb, labels: [("provider", provider)], buckets: Self.durationBucketDurations
            ).recordNanoseconds(Int64(ttft * 1e6))
        }
        let upstreamTokens = !(record.cache ?? "").hasPrefix("hit")
        for (direction, count) in [("input", record.promptTokens), ("output", record.completionTokens), ("cached_input", record.cachedTokens)]
        where count > 0 && upstreamTokens {
            registry.makeCounter(descriptor: Self.tokens, labels: [("model", model), ("direction", direction)]).increment(by: Int64(count))
        }
        if record.costUSD.isFinite, record.costUSD > 0 {
            registry.makeCounter(
                descriptor: Self.cost, labels: [("model", model), ("key", Self.clean(record.caller)), ("team", Self.clean(record.team ?? "none"))]
            ).increment(by: record.costUSD)
        }
        if let outcome = record.cache {
            let label = outcome.contains("semantic") ? "semantic_hit" : outcome.contains("hit") ? "hit" : outcome.contains("miss") ? "miss" : "other"
            registry.makeCounter(descriptor: Self.cacheLookups, labels: [("outcome", label)]).increment()
            if record.savedUSD.isFinite, record.savedUSD > 0 {
                registry.makeCounter(descriptor: Self.cacheSaved, labels: [("model", model)]).increment(by: record.savedUSD)
            }
        }
        if let guardrail = record.guardrail {
            registry.makeCounter(
                descriptor: Self.guardVerdicts, labels: [("policy", Self.clean(guardrail.policy)), ("verdict", Self.clean(guardrail.verdict))]
            ).increment()
        }
        for call in record.toolCalls?.arrayValue ?? [] {
            let name = bounded(call["name"]?.stringValue)
            let ok = call["ok"]?.boolValue ?? (call["error"] == nil)
            registry.makeCounter(descriptor: Self.toolCalls, labels: [("tool", name), ("ok", ok ? "true" : "false")]).increment()
        }
    }

    func observeStep(workflow: String, status: WorkflowStepStatus) {
        registry.makeCounter(descriptor: Self.workflowSteps, labels: [("workflow", Self.clean(workflow)), ("status", status.rawValue)])
            .increment()
    }

    /// The Prometheus text exposition, with the state gauges read now.
    func exposition(of gateway: Gateway) -> String {
        for deployment in gateway.models.keys.sorted() {
            let open: Int64 = switch gateway.health.breakerState(deployment) {
            case .closed: 0
            case .open, .halfOpen: 1
            }
            registry.makeGauge(descriptor: Self.breakerOpen, labels: [("deployment", Self.clean(deployment))]).set(open)
            registry.makeGauge(descriptor: Self.inFlight, labels: [("deployment", Self.clean(deployment))])
                .set(Int64(gateway.health.snapshot(deployment).inFlight))
        }
        let names = Dictionary(gateway.governor.keys().map { ($0.0.id, $0.0.name) }, uniquingKeysWith: { first, _ in first })
        for (subject, account) in gateway.governor.budgetAccounts() {
            let remaining = account.budget.usd - account.spent - account.reserved
            guard remaining.isFinite else { continue }
            let (scope, id) = subject.hasPrefix("key:") ? ("key", String(subject.dropFirst(4))) : ("team", String(subject.drop { $0 != ":" }.dropFirst()))
            let name = scope == "key" ? (names[id] ?? id) : id
            registry.makeGauge(descriptor: Self.budgetRemaining, labels: [("scope", scope), ("name", Self.clean(name))]).set(remaining)
        }
        if let cache = gateway.cache {
            let stats = cache.stats()
            registry.makeGauge(descriptor: Self.cacheBytes).set(Int64(stats.bytes))
            registry.makeGauge(descriptor: Self.cacheEntries).set(Int64(stats.entries))
        }
        registry.makeGauge(descriptor: Self.logQueue).set(Int64(gateway.requestLog.queueDepth))
        let seen = gateway.requestLog.droppedCount
        let newlyDropped = reportedDropped.withLock { reported in
            defer { reported = max(reported, seen) }
            return max(0, seen - reported)
        }
        registry.makeCounter(descriptor: Self.logDropped).increment(by: Int64(newlyDropped))
        if let exporter = TraceExporter.bootstrapped {
            let now = exporter.counts
            let before = reportedSpans.withLock { reported in
                defer {  // monotonic: a scrape that read the counts earlier but got here later adds nothing twice
                    reported.exported = max(reported.exported, now.exported)
                    reported.dropped = max(reported.dropped, now.dropped)
                    reported.failed = max(reported.failed, now.failed)
                }
                return reported
            }
            for (outcome, added) in [("exported", now.exported - before.exported), ("dropped", now.dropped - before.dropped), ("failed", now.failed - before.failed)] {
                registry.makeCounter(descriptor: Self.traceSpans, labels: [("outcome", outcome)]).increment(by: Int64(max(0, added)))
            }
            registry.makeGauge(descriptor: Self.traceQueue).set(Int64(exporter.queued))
        }
        for load in gateway.upstreamLoads() {
            let labels = [("provider", Self.clean(load.provider))]
            registry.makeGauge(descriptor: Self.upstreamInFlight, labels: labels).set(Int64(load.inFlight))
            let added = reportedWaits.withLock { reported in
                defer { reported[load.provider] = max(reported[load.provider] ?? 0, load.waits) }
                return max(0, load.waits - (reported[load.provider] ?? 0))
            }
            registry.makeCounter(descriptor: Self.connectionWaits, labels: labels).increment(by: Int64(added))
        }
        if let probe = gateway.storageProbe {
            registry.makeGauge(descriptor: Self.storageUp, labels: [("backend", probe.backend)]).set(Int64(probe.lastStatus.reachable ? 1 : 0))
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension Gateway {
    /// `GET /metrics`: every metric in Prometheus' text format, the state gauges read now. Request metrics are
    /// counted as the request log's batches leave its queue, so the queue is flushed first: every request answered
    /// before the scrape is in it.
    /// With a shared database the flush waits two seconds at most: one that is down must not hold the
    /// scrape (the counts are then those of the batches that left the queue).
    public func metricsExposition() async -> String {
        await requestLog.flushForRead()
        return metrics.exposition(of: self)
    }
}
