import Foundation
import Logging
import HummingbirdTesting
import NIOCore
import NIOPosix
import Server
import Synchronization
import Testing

@testable import Gateway
@testable import Providers
import Storage
import SwitchyardCore
import SwitchyardTesting

@Suite("providers' max_connections and prewarm_connections")
struct UpstreamConnectionsTests {
    static func yaml(_ provider: String) -> String {
        """
        providers:
          - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: x\(provider)}
        models:
          - {name: m, provider: p, price: {input: 1, output: 1}}
        """
    }

    @Test func theKeysAreTakenAndDefaultToNothing() throws {
        let set = try ConfigurationLoader.parse(Self.yaml(", max_connections: 64, prewarm_connections: 8"), source: "t.yaml")
        #expect(set.providers[0].maxConnections == 64)
        #expect(set.providers[0].prewarmConnections == 8)
        let plain = try ConfigurationLoader.parse(Self.yaml(""), source: "t.yaml")
        #expect(plain.providers[0].maxConnections == nil)
        #expect(plain.providers[0].prewarmConnections == 0)
    }

    @Test(arguments: ["0", "-1", "1e309", "\"x\"", "1e6", "65537", "1.5", "[1]", "{a: 1}", "99999999999999999999999"])
    func badMaxConnectionsNameTheField(value: String) {
        #expect(Self.error(", max_connections: \(value)")?.contains("providers[0].max_connections") == true, "\(value)")
    }

    @Test(arguments: ["-1", "1025", "1e309", "\"x\"", "2.5", ".inf"])
    func badPrewarmConnectionsNameTheField(value: String) {
        #expect(Self.error(", prewarm_connections: \(value)")?.contains("providers[0].prewarm_connections") == true, "\(value)")
    }

    @Test func prewarmingMoreThanTheLimitIsRefused() {
        let message = Self.error(", max_connections: 4, prewarm_connections: 5")
        #expect(message?.contains("providers[0].prewarm_connections") == true)
        #expect(message?.contains("max_connections (4)") == true)
    }

    static func error(_ provider: String) -> String? {
        do {
            _ = try ConfigurationLoader.parse(yaml(provider), source: "t.yaml")
            return nil
        } catch let error as SwitchyardError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func aLimitIsSplitOverTheLoopsWithoutExceedingIt() {
        #expect(UpstreamClients.perLoopShares(maxConnections: 5, loops: 2) == [3, 2])
        #expect(UpstreamClients.perLoopShares(maxConnections: 64, loops: 4) == [16, 16, 16, 16])
        // Fewer connections than loops: one shared pool holds them all.
        #expect(UpstreamClients.perLoopShares(maxConnections: 1, loops: 2) == [])
        #expect(UpstreamClients.perLoopShares(maxConnections: nil, loops: 2) == [1_024, 1_024])
        for limit in 1...40 {
            for loops in 1...8 { #expect(UpstreamClients.perLoopShares(maxConnections: limit, loops: loops).reduce(0, +) <= limit) }
        }
    }

    @Test func aWarningIsLoggedAtMostOnceIn10Seconds() {
        let load = UpstreamLoad(provider: "p", connections: 2)
        let start = ContinuousClock.now
        #expect(load.shouldWarn(at: start))
        #expect(!load.shouldWarn(at: start + .seconds(9)))
        #expect(load.shouldWarn(at: start + .seconds(10)))
        #expect(!load.shouldWarn(at: start + .seconds(11)))
    }

    /// Log lines, kept for the test to read.
    final class LogLines: Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
        var logger: Logger {
            Logger(label: "test") { _ in Capture(lines: self) }
        }
        struct Capture: LogHandler {
            let lines: LogLines
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                lines.lines.withLock { $0.append((event.level, "\(event.message)")) }
            }
        }
        var warnings: [String] { lines.withLock { $0.filter { $0.0 == .warning }.map(\.1) } }
    }

    static func gateway(_ yaml: String, clients: UpstreamClients) throws -> Gateway {
        Gateway(
            configuration: try ConfigurationLoader.parse(yaml, source: "t.yaml"), upstreamClients: clients,
            requestLog: RequestLog(store: try RequestLogStore(path: ":memory:")))
    }

    @Test func callsPastTheLimitWaitAndAreCountedAndLoggedOnce() async throws {
        let upstream = try await ConnectionCountingUpstream.start(delay: .milliseconds(300))
        let clients = Gateway.makeUpstreamClients()
        let log = LogLines()
        do {
            let gateway = try Self.gateway(
                """
                storage: {sqlite: ":memory:"}
                providers:
                  - {name: slow, kind: openai, base_url: "\(upstream.baseURL)/v1", api_key: sk-secret-value-123, max_connections: 2}
                models:
                  - {name: m, provider: slow, price: {input: 1, output: 1}}
                """, clients: clients)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        _ = try await gateway.complete(
                            ChatRequest(model: "m", messages: [.user("hi")]), context: CallContext(logger: log.logger))
                    }
                }
                try await group.waitForAll()
            }
            let counts = upstream.counts.withLock { $0 }
            #expect(counts.peakInFlight == 2, "the upstream held \(counts.peakInFlight) requests at once")
            #expect(counts.accepted <= 2, "\(counts.accepted) connections were opened")
            #expect(counts.requests.count == 6)
            let load = try #require(gateway.upstreamLoads().first { $0.provider == "slow" })
            #expect(load.inFlight == 0)
            #expect(load.connections == 2)
            #expect(load.waits == 4, "\(load.waits) waits counted")
            // One warning for the burst, naming the provider and the limit, and never the key.
            let warnings = log.warnings.filter { $0.contains("connection") }
            #expect(warnings.count == 1, "\(warnings)")
            #expect(warnings.first?.contains("'slow'") == true)
            #expect(warnings.first?.contains("max_connections: 2") == true)
            #expect(!log.warnings.joined().contains("sk-secret-value-123"))
            let page = await gateway.metricsExposition()
            #expect(page.contains(#"switchyard_upstream_connection_waits_total{provider="slow"} 4"#), "\(page)")
            #expect(page.contains(#"switchyard_upstream_in_flight{provider="slow"} 0"#))
            // Read twice, the counter does not count the same waits again.
            let again = await gateway.metricsExposition()
            #expect(again.contains(#"switchyard_upstream_connection_waits_total{provider="slow"} 4"#))
        } catch {
            await clients.shutdown()
            await upstream.stop()
            throw error
        }
        await clients.shutdown()
        await upstream.stop()
    }

    @Test func aStreamIsInFlightUntilItsLastChunk() async throws {
        let mock = try await MockUpstream.start()
        let clients = Gateway.makeUpstreamClients()
        do {
            let gateway = try Self.gateway(
                """
                storage: {sqlite: ":memory:"}
                providers:
                  - {name: mock, kind: openai, base_url: "\(mock.baseURL)/v1", max_connections: 8}
                models:
                  - {name: m, provider: mock, price: {input: 1, output: 1}}
                """, clients: clients)
            let outcome = try await gateway.stream(
                ChatRequest(model: "m", messages: [.user("[[chunk-delay: 50]] [[reply: one two three four five six]]")]),
                context: CallContext())
            var chunks = 0
            var inFlightWhileStreaming: [Int] = []
            for try await _ in outcome.chunks {
                chunks += 1
                inFlightWhileStreaming.append(gateway.upstreamLoads().first { $0.provider == "mock" }?.inFlight ?? -1)
            }
            #expect(chunks > 2)
            // Every chunk but the last was read while the upstream still held the call open.
            #expect(inFlightWhileStreaming.dropLast().allSatisfy { $0 == 1 }, "\(inFlightWhileStreaming)")
            #expect(gateway.upstreamLoads().first { $0.provider == "mock" }?.inFlight == 0)
            #expect(gateway.upstreamLoads().first { $0.provider == "mock" }?.waits == 0)
        } catch {
            await clients.shutdown()
            await mock.stop()
            throw error
        }
        await clients.shutdown()
        await mock.stop()
    }

    @Test func prewarmingOpensThatManyConnectionsWithTheModelList() async throws {
        let upstream = try await ConnectionCountingUpstream.start(delay: .milliseconds(100))
        let clients = Gateway.makeUpstreamClients()
        do {
            let gateway = try Self.gateway(
                """
                storage: {sqlite: ":memory:"}
                providers:
                  - {name: warm, kind: openai, base_url: "\(upstream.baseURL)/v1", prewarm_connections: 6}
                  - {name: cold, kind: openai, base_url: "\(upstream.baseURL)/v2"}
                  - {name: gone, kind: anthropic, base_url: "http://127.0.0.1:1", api_key: sk-gone-secret-456, prewarm_connections: 2}
                models:
                  - {name: m, provider: warm, price: {input: 1, output: 1}}
                """, clients: clients)
            let log = LogLines()
            let outcomes = await gateway.prewarmConnections(logger: log.logger)
            #expect(outcomes.map(\.provider) == ["gone", "warm"])
            let warm = try #require(outcomes.last)
            #expect(warm.answered == 6 && warm.failure == nil)
            let counts = upstream.counts.withLock { $0 }
            #expect(counts.accepted == 6, "\(counts.accepted) connections")
            #expect(counts.requests == Array(repeating: "GET /v1/models", count: 6))
            // An upstream that is not there: reported once, without its key, and nothing is thrown.
            let gone = try #require(outcomes.first)
            #expect(gone.answered == 0 && gone.failure != nil)
            #expect(log.warnings.count == 1)
            #expect(log.warnings.first?.contains("'gone'") == true)
            #expect(!log.warnings.joined().contains("sk-gone-secret-456"))
            // Prewarming holds nothing in flight.
            #expect(gateway.upstreamLoads().allSatisfy { $0.inFlight == 0 })
        } catch {
            await clients.shutdown()
            await upstream.stop()
            throw error
        }
        await clients.shutdown()
        await upstream.stop()
    }

    @Test func withTheFastPathOnItsOwnPoolsArePrewarmedAndUsed() async throws {
        let upstream = try await ConnectionCountingUpstream.start(delay: .zero)
        let clients = Gateway.makeUpstreamClients()
        let log = LogLines()
        // Two a loop: every event loop's pool gets some, so the test client's requests find one whichever loop it is on.
        let count = 2 * MultiThreadedEventLoopGroup.singleton.makeIterator().reduce(0) { count, _ in count + 1 }
        do {
            let gateway = try Self.gateway(
                """
                storage: {sqlite: ":memory:"}
                providers:
                  - {name: warm, kind: openai, base_url: "\(upstream.baseURL)/v1", api_key: sk-warm-secret-123, prewarm_connections: \(count)}
                  - {name: gone, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: sk-gone-secret-456, prewarm_connections: 2}
                models:
                  - {name: m, provider: warm, price: {input: 1, output: 1}}
                """, clients: clients)
            let app = SwitchyardServer.makeApplication(gateway: gateway, host: "127.0.0.1", port: 0, logger: log.logger)
            try await app.test(.live) { client in
                for _ in 0..<250 where upstream.counts.withLock({ $0.requests.count }) < count {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let warmed = upstream.counts.withLock { $0 }
                #expect(warmed.accepted == count, "\(warmed.accepted) connections")
                #expect(warmed.requests == Array(repeating: "GET /v1/models", count: count))
                // The fast path's requests go out on those connections: none is opened for them.
                for _ in 0..<4 {
                    let answer = try await client.post("/v1/chat/completions", json: Body.chat("m", "hi"), key: nil)
                    #expect(answer.status == .ok && answer.header("x-switchyard-path") == "fast", "\(answer.text)")
                }
                let after = upstream.counts.withLock { $0 }
                #expect(after.accepted == count, "\(after.accepted) connections")
                #expect(after.requests.filter { $0.hasPrefix("POST") }.count == 4)
                // The full path's pool was not prewarmed for them as well.
                #expect(gateway.upstreamLoads().first { $0.provider == "warm" }?.connections ?? 0 == 0)
                // An upstream that is not there: one warning, without its key; the start is not held up.
                for _ in 0..<250 where !log.lines.withLock({ $0.contains { $0.1.contains("'gone'") } }) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let warnings = log.lines.withLock { $0.filter { $0.0 == .warning }.map(\.1) }
                #expect(warnings.filter { $0.contains("'gone'") && $0.contains("fast-path") }.count == 1, "\(warnings)")
                #expect(!warnings.joined().contains("sk-gone-secret-456") && !warnings.joined().contains("sk-warm-secret-123"))
            }
        } catch {
            await clients.shutdown()
            await upstream.stop()
            throw error
        }
        await clients.shutdown()
        await upstream.stop()
    }
}
