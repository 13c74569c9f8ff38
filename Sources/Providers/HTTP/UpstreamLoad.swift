import AsyncHTTPClient
import NIOHTTP1
import Synchronization

/// One provider's upstream calls in flight and how often one had to wait for a connection.
///
/// AsyncHTTPClient does not say when a request waits in its pool, so the gateway counts for itself: every
/// call holds an `UpstreamLease` from the moment it is sent until its answer's last byte is read (or it is
/// dropped), against the pool of the client it went through. A call that starts while that pool's
/// connections are all taken waits for one of them to come free.
public final class UpstreamLoad: Sendable {
    public let provider: String
    /// Connections the provider's pools may open in all (`max_connections`, or the default per loop × loops).
    public let connections: Int
    private let inFlightCount = Atomic<Int>(0)
    private let waitCount = Atomic<Int>(0)
    /// Set once an answer came over HTTP/2: then one connection carries many calls, and a count of calls
    /// against connections says nothing about waiting.
    private let multiplexedFlag = Atomic<Bool>(false)
    private let lastWarning = Mutex<ContinuousClock.Instant?>(nil)

    init(provider: String, connections: Int) {
        self.provider = provider
        self.connections = connections
    }

    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }
    public var waits: Int { waitCount.load(ordering: .relaxed) }
    public var multiplexed: Bool { multiplexedFlag.load(ordering: .relaxed) }

    /// What `/metrics` shows of it.
    public struct Snapshot: Sendable, Equatable {
        public var provider: String
        public var inFlight: Int
        public var waits: Int
        public var connections: Int

        public init(provider: String, inFlight: Int, waits: Int, connections: Int) {
            self.provider = provider
            self.inFlight = inFlight
            self.waits = waits
            self.connections = connections
        }
    }

    public var snapshot: Snapshot { Snapshot(provider: provider, inFlight: inFlight, waits: waits, connections: connections) }

    func started(waiting: Bool) {
        inFlightCount.wrappingAdd(1, ordering: .relaxed)
        if waiting && !multiplexed { waitCount.wrappingAdd(1, ordering: .relaxed) }
    }

    func ended() { inFlightCount.wrappingSubtract(1, ordering: .relaxed) }

    func answered(over version: HTTPVersion) {
        if version.major >= 2, !multiplexed { multiplexedFlag.store(true, ordering: .relaxed) }
    }

    /// Whether a wait seen at `now` is to be logged: at most once per `interval` for this provider.
    public func shouldWarn(at now: ContinuousClock.Instant, every interval: Duration = .seconds(10)) -> Bool {
        lastWarning.withLock { last in
            if let last, now - last < interval { return false }
            last = now
            return true
        }
    }
}

/// Calls in flight on one connection pool (one client), against the connections it may open.
final class PoolOccupancy: Sendable {
    let capacity: Int
    private let count = Atomic<Int>(0)

    init(capacity: Int) { self.capacity = capacity }

    /// Counts a call in; true when every connection was already taken.
    func enter() -> Bool { count.wrappingAdd(1, ordering: .relaxed).oldValue >= capacity }
    func leave() { count.wrappingSubtract(1, ordering: .relaxed) }
}

/// A call's hold on its provider's connections: from the request until its answer is read. It ends once,
/// when `end()` is called or when the last reference to it goes (a stream dropped half-read).
public final class UpstreamLease: Sendable {
    /// The client the call goes through.
    public let client: HTTPClient
    /// Whether every connection of the client's pool was taken when the call started.
    public let waited: Bool
    let load: UpstreamLoad
    private let occupancy: PoolOccupancy
    private let isEnded = Atomic<Bool>(false)

    init(client: HTTPClient, occupancy: PoolOccupancy, load: UpstreamLoad) {
        self.client = client
        self.occupancy = occupancy
        self.load = load
        waited = occupancy.enter()
        load.started(waiting: waited)
    }

    /// Notes the HTTP version the answer came over (HTTP/2 multiplexes).
    public func answered(over version: HTTPVersion) { load.answered(over: version) }

    public func end() {
        guard !isEnded.exchange(true, ordering: .relaxed) else { return }
        occupancy.leave()
        load.ended()
    }

    deinit { end() }
}
