import AsyncHTTPClient
import NIOCore
import NIOPosix

/// The HTTP clients upstream calls go through: one per event loop of NIO's singleton group, so a
/// request always goes out on a connection of the loop its task is running on.
///
/// With one client for all loops, AsyncHTTPClient prefers an idle connection on the caller's loop
/// but takes one on another loop when the caller's has none — and at one request at a time the
/// only idle connection often lives on the other loop (whichever loop first needed one). Then
/// every request crossed threads twice (two wake-ups on the other core), and which way a run went
/// was luck: at one connection through a two-deployment group, a third of the requests did, and its
/// p99 was 3 ms against 1-1.5 ms. Per-loop clients keep each connection pool on its loop, as
/// servers with per-worker upstream pools do.
public final class UpstreamClients: Sendable {
    /// The client for callers that are not on an event loop, and for what does not care (MCP).
    public let shared: HTTPClient
    private let perLoop: [(loop: any EventLoop, client: HTTPClient)]

    /// AsyncHTTPClient's process-wide client for every call (never shut down): for tests, benchmarks
    /// that call no upstream, and one-shot CLIs.
    public static let processWide = UpstreamClients(HTTPClient.shared)

    /// One client (`shared`) for every call, whatever loop it runs on — for tests and one-shot CLIs.
    public init(_ client: HTTPClient) {
        shared = client
        perLoop = []
    }

    /// A client per loop of `MultiThreadedEventLoopGroup.singleton`, and a shared one, all with
    /// `configuration`.
    public init(configuration: HTTPClient.Configuration) {
        shared = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        perLoop = MultiThreadedEventLoopGroup.singleton.makeIterator().map { loop in
            (loop, HTTPClient(eventLoopGroup: loop, configuration: configuration))
        }
    }

    /// The client of the current event loop, else the shared one.
    public var current: HTTPClient {
        if !perLoop.isEmpty, let loop = MultiThreadedEventLoopGroup.currentEventLoop {
            for entry in perLoop where entry.loop === loop { return entry.client }
        }
        return shared
    }

    /// Shuts every client down (none blocks: this may run on an event loop).
    public func shutdown() async {
        for client in [shared] + perLoop.map(\.client) { try? await client.shutdown() }
    }

    /// Starts shutting every client down without waiting (for a failed start).
    public func shutdownWithoutWaiting() {
        for client in [shared] + perLoop.map(\.client) { client.shutdown { _ in } }
    }
}
