import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SwitchyardCore

/// The HTTP clients upstream calls go through: one per event loop of NIO's singleton group, so a
/// request always goes out on a connection of the loop its task is running on — and one such set
/// per provider, so each provider's `timeout_ms` bounds every silence of its answers and its
/// `max_connections` bounds its own connections.
///
/// With one client for all loops, AsyncHTTPClient prefers an idle connection on the caller's loop
/// but takes one on another loop when the caller's has none — and at one request at a time the
/// only idle connection often lives on the other loop (whichever loop first needed one). Then
/// every request crossed threads twice (two wake-ups on the other core), and which way a run went
/// was luck: at one connection through a two-deployment group, a third of the requests did, and its
/// p99 was 3 ms against 1-1.5 ms. Per-loop clients keep each connection pool on its loop, as
/// servers with per-worker upstream pools do.
///
/// Read timeouts: AsyncHTTPClient's request deadline covers only the response head, and its read
/// timeout is a client setting. An upstream that sends a stream's first chunks and then nothing,
/// or a `content-length` it never delivers, would hold the request and its connection for the
/// default 300 s. Clients are therefore kept per read timeout (created on first use): silence past
/// it is a `readTimeout` (a 504), and the connection is closed.
///
/// Connection limits: AsyncHTTPClient's `concurrentHTTP1ConnectionsPerHostSoftLimit` bounds the HTTP/1.1
/// connections of one client's pool per host (it is exceeded only for requests that demand a particular
/// event loop, which these do not: each per-loop client has one loop). A provider's `max_connections` is
/// therefore split over its per-loop clients (loop i gets `max / loops`, plus one for the first
/// `max % loops` loops), so the sum is the limit. Below one connection per loop, the provider's calls all go
/// through its one shared client instead, whose pool spans the loops and holds the whole limit.
public final class UpstreamClients: Sendable {
    /// AsyncHTTPClient's process-wide client for every call (never shut down): for tests, benchmarks
    /// that call no upstream, and one-shot CLIs. Its read timeout is its own.
    public static let processWide = UpstreamClients(HTTPClient.shared)

    /// The client for callers that are not on an event loop, and for what does not care (MCP).
    public let shared: HTTPClient

    /// The clients one provider's calls go through.
    public struct Pool: Hashable, Sendable {
        public var provider: String
        /// The longest silence of an answer; nil: the clients' default (300 s).
        public var readTimeout: Duration?
        /// Connections the provider's pools may open in all; nil: `ProviderConfiguration.defaultConnectionsPerLoop`
        /// per loop.
        public var maxConnections: Int?

        public init(provider: String, readTimeout: Duration? = nil, maxConnections: Int? = nil) {
            self.provider = provider
            self.readTimeout = readTimeout
            self.maxConnections = maxConnections
        }
    }

    fileprivate struct SetKey: Hashable {
        var provider: String?
        var readTimeoutMilliseconds: Int64?
        var maxConnections: Int?
    }

    private struct PooledClient {
        var client: HTTPClient
        var occupancy: PoolOccupancy
    }

    private struct ClientSet {
        var shared: PooledClient
        var perLoop: [(loop: any EventLoop, client: PooledClient)]
        var load: UpstreamLoad
    }

    private let configuration: HTTPClient.Configuration?
    private let perLoop: Bool
    private let sets: Mutex<[SetKey: ClientSet]>
    private let defaultKey = SetKey(provider: nil, readTimeoutMilliseconds: nil, maxConnections: nil)

    /// One client (`shared`) for every call, whatever loop it runs on — for tests and one-shot CLIs. Its
    /// pool's limit is its own: no call is counted as waiting.
    public init(_ client: HTTPClient) {
        shared = client
        configuration = nil
        perLoop = false
        sets = Mutex([:])
    }

    /// A client per loop of `MultiThreadedEventLoopGroup.singleton`, and a shared one, all with
    /// `configuration` (and further sets per provider when asked for).
    public init(configuration: HTTPClient.Configuration) {
        self.configuration = configuration
        perLoop = true
        let set = Self.makeSet(configuration, provider: "", maxConnections: nil)
        shared = set.shared.client
        sets = Mutex([defaultKey: set])
    }

    /// Number of event loops requests run on (NIO's singleton group).
    static var loopCount: Int { MultiThreadedEventLoopGroup.singleton.makeIterator().reduce(0) { count, _ in count + 1 } }

    /// Connections of `maxConnections` given to each of `loops` loops; empty when there are fewer
    /// connections than loops (then one shared pool holds them all).
    static func perLoopShares(maxConnections: Int?, loops: Int) -> [Int] {
        guard let maxConnections else { return Array(repeating: ProviderConfiguration.defaultConnectionsPerLoop, count: loops) }
        guard loops > 0, maxConnections >= loops else { return [] }
        return (0..<loops).map { maxConnections / loops + ($0 < maxConnections % loops ? 1 : 0) }
    }

    private static func makeSet(_ configuration: HTTPClient.Configuration, provider: String, maxConnections: Int?) -> ClientSet {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let shares = perLoopShares(maxConnections: maxConnections, loops: loops.count)
        var sharedConfiguration = configuration
        let sharedLimit = maxConnections ?? ProviderConfiguration.defaultConnectionsPerLoop
        sharedConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = sharedLimit
        let perLoop = zip(loops, shares).map { loop, share -> (loop: any EventLoop, client: PooledClient) in
            var loopConfiguration = configuration
            loopConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = share
            return (loop, PooledClient(client: HTTPClient(eventLoopGroup: loop, configuration: loopConfiguration), occupancy: PoolOccupancy(capacity: share)))
        }
        return ClientSet(
            shared: PooledClient(
                client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: sharedConfiguration),
                occupancy: PoolOccupancy(capacity: sharedLimit)),
            perLoop: perLoop,
            load: UpstreamLoad(provider: provider, connections: perLoop.isEmpty ? sharedLimit : shares.reduce(0, +)))
    }

    private func clientSet(_ key: SetKey) -> ClientSet {
        sets.withLock { sets -> ClientSet in
            if let existing = sets[key] { return existing }
            let created: ClientSet
            if let configuration {
                var configuration = configuration
                if let milliseconds = key.readTimeoutMilliseconds { configuration.timeout.read = .milliseconds(milliseconds) }
                created = Self.makeSet(configuration, provider: key.provider ?? "", maxConnections: key.maxConnections)
            } else {
                // One client handed in: its pool and its limit are its own.
                created = ClientSet(
                    shared: PooledClient(client: shared, occupancy: PoolOccupancy(capacity: .max)), perLoop: [],
                    load: UpstreamLoad(provider: key.provider ?? "", connections: .max))
            }
            sets[key] = created
            return created
        }
    }

    private func pooled(in set: ClientSet) -> PooledClient {
        if perLoop, !set.perLoop.isEmpty, let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            for entry in set.perLoop where entry.loop === loop { return entry.client }
        }
        return set.shared
    }

    /// The default client of the current event loop, else the shared one.
    public var current: HTTPClient { pooled(in: clientSet(defaultKey)).client }

    /// A call's client for `pool` (the current event loop's), counted in until the lease ends.
    public func acquire(_ pool: Pool) -> UpstreamLease {
        let set = clientSet(SetKey(pool))
        let chosen = pooled(in: set)
        return UpstreamLease(client: chosen.client, occupancy: chosen.occupancy, load: set.load)
    }

    /// Calls in flight and waits per provider (summed over a provider's pools), for `/metrics`.
    public func loads() -> [UpstreamLoad.Snapshot] {
        let loads = sets.withLock { sets in sets.filter { $0.key.provider != nil }.map { $0.value.load } }
        var byProvider: [String: UpstreamLoad.Snapshot] = [:]
        for load in loads {
            let snapshot = load.snapshot
            if var existing = byProvider[snapshot.provider] {
                existing.inFlight += snapshot.inFlight
                existing.waits += snapshot.waits
                existing.connections = max(existing.connections, snapshot.connections)
                byProvider[snapshot.provider] = existing
            } else {
                byProvider[snapshot.provider] = snapshot
            }
        }
        return byProvider.values.sorted { $0.provider < $1.provider }
    }

    /// Opens connections of `pool` ahead of traffic: `count` requests made by `request`, sent at once and
    /// spread over the pool's clients as calls are (the loops' clients in turn), each answer read and
    /// dropped so its connection stays open and idle in its pool. Returns how many were answered (any
    /// status: a 401 opened its connection all the same) and the errors of the others.
    public func prewarm(
        _ pool: Pool, count: Int, timeout: Duration, request: @escaping @Sendable () -> HTTPClientRequest
    ) async -> (answered: Int, errors: [any Error]) {
        guard count > 0 else { return (0, []) }
        let set = clientSet(SetKey(pool))
        let targets = set.perLoop.isEmpty ? [set.shared.client] : set.perLoop.map(\.client.client)
        let (seconds, attoseconds) = timeout.components
        let deadline = NIODeadline.now() + .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return await withTaskGroup(of: (any Error)?.self) { group in
            for index in 0..<count {
                let client = targets[index % targets.count]
                group.addTask {
                    do {
                        let response = try await client.execute(request(), deadline: deadline)
                        _ = try await response.body.collect(upTo: 1024 * 1024)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            var errors: [any Error] = []
            for await error in group { if let error { errors.append(error) } }
            return (count - errors.count, errors)
        }
    }

    fileprivate static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000)
    }

    private var allClients: [HTTPClient] {
        sets.withLock { sets in
            guard configuration != nil else { return [] }  // a client handed in is its owner's to shut down
            return sets.values.flatMap { [$0.shared.client] + $0.perLoop.map(\.client.client) }
        }
    }

    /// Shuts every client down (none blocks: this may run on an event loop).
    public func shutdown() async {
        for client in allClients { try? await client.shutdown() }
    }

    /// Starts shutting every client down without waiting (for a failed start).
    public func shutdownWithoutWaiting() {
        for client in allClients { client.shutdown { _ in } }
    }
}

extension UpstreamClients.SetKey {
    init(_ pool: UpstreamClients.Pool) {
        self.init(
            provider: pool.provider, readTimeoutMilliseconds: pool.readTimeout.map(UpstreamClients.milliseconds),
            maxConnections: pool.maxConnections)
    }
}
