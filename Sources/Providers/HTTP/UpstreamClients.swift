import AsyncHTTPClient
import NIOCore
import NIOPosix
import Synchronization

/// The HTTP clients upstream calls go through: one per event loop of NIO's singleton group, so a
/// request always goes out on a connection of the loop its task is running on — and one such set
/// per read timeout, so each provider's `timeout_ms` bounds every silence of its answers.
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
/// default 300 s. Clients are therefore kept per read timeout (one set per distinct `timeout_ms`,
/// created on first use): silence past it is a `readTimeout` (a 504), and the connection is closed.
public final class UpstreamClients: Sendable {
    /// AsyncHTTPClient's process-wide client for every call (never shut down): for tests, benchmarks
    /// that call no upstream, and one-shot CLIs. Its read timeout is its own.
    public static let processWide = UpstreamClients(HTTPClient.shared)

    /// The client for callers that are not on an event loop, and for what does not care (MCP).
    public let shared: HTTPClient

    private struct ClientSet {
        var shared: HTTPClient
        var perLoop: [(loop: any EventLoop, client: HTTPClient)]
    }

    private let configuration: HTTPClient.Configuration?
    private let perLoop: Bool
    /// Client sets by read timeout in milliseconds; the default set under `nil`.
    private let sets: Mutex<[Int64?: ClientSet]>

    /// One client (`shared`) for every call, whatever loop it runs on — for tests and one-shot CLIs.
    public init(_ client: HTTPClient) {
        shared = client
        configuration = nil
        perLoop = false
        sets = Mutex([nil: ClientSet(shared: client, perLoop: [])])
    }

    /// A client per loop of `MultiThreadedEventLoopGroup.singleton`, and a shared one, all with
    /// `configuration` (and further sets with other read timeouts when asked for).
    public init(configuration: HTTPClient.Configuration) {
        self.configuration = configuration
        perLoop = true
        let set = Self.makeSet(configuration)
        shared = set.shared
        sets = Mutex([nil: set])
    }

    private static func makeSet(_ configuration: HTTPClient.Configuration) -> ClientSet {
        ClientSet(
            shared: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration),
            perLoop: MultiThreadedEventLoopGroup.singleton.makeIterator().map { loop in
                (loop, HTTPClient(eventLoopGroup: loop, configuration: configuration))
            })
    }

    /// The default client of the current event loop, else the shared one.
    public var current: HTTPClient { current(readTimeout: nil) }

    /// The client of the current event loop whose read timeout is `readTimeout`.
    public func current(readTimeout: Duration?) -> HTTPClient {
        let key = readTimeout.map { Self.milliseconds($0) }
        let set = sets.withLock { sets -> ClientSet in
            if let existing = sets[key] ?? (configuration == nil ? sets[nil] : nil) { return existing }
            var configuration = self.configuration!  // only nil for single-client sets, answered above
            configuration.timeout.read = .milliseconds(key ?? 300_000)
            let created = Self.makeSet(configuration)
            sets[key] = created
            return created
        }
        if perLoop, let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            for entry in set.perLoop where entry.loop === loop { return entry.client }
        }
        return set.shared
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000)
    }

    private var allClients: [HTTPClient] {
        sets.withLock { sets in
            guard configuration != nil else { return [] }  // a client handed in is its owner's to shut down
            return sets.values.flatMap { [$0.shared] + $0.perLoop.map(\.client) }
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
