import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

import Gateway
import SwitchyardCore
import SwitchyardTesting

/// Provider faults injected at the mock upstream, through the live server: with one healthy
/// deployment left, the client never sees a failure before the first byte.
@Suite("Fault injection through the live gateway")
struct FaultInjectionTests {
    /// Deployments on four different protocols, tried in this order.
    static let groups = """
        groups:
          - {name: resilient, strategy: priority, deployments: [d-openai, d-anthropic, d-gemini, d-ollama], retry: {attempts: 1}}
          - {name: retrying, strategy: priority, deployments: [d-openai, d-anthropic], retry: {attempts: 3, backoff_ms: 10, max_backoff_ms: 200}}
          - {name: primary, deployments: [d-openai], retry: {attempts: 1}, fallbacks: [backup]}
          - {name: backup, deployments: [d-gemini], retry: {attempts: 1}}
        routing: {circuit_breaker: {failures: 3, cooldown_s: 30}}
        """

    func requests(to model: String, _ mock: MockUpstream) async -> Int {
        await mock.recordedRequests().filter { String(decoding: $0.body, as: UTF8.self).contains("\"\(model)\"") }.count
    }

    @Test func failingDeploymentIsSkippedAndItsBreakerOpens() async throws {
        try await LiveHarness.run(extra: Self.groups) { client, mock, gateway in
            await mock.setFault(model: "dep-a", fault: "error: 500", count: -1)
            for index in 0..<10 {
                let stream = index.isMultiple(of: 2)
                let response = try await client.post("/v1/chat/completions", json: Body.chat("resilient", "hi", stream: stream))
                #expect(response.status == .ok)
                if stream { #expect(response.events.last?.data == "[DONE]") }
                #expect(response.header("x-switchyard-model") == "d-anthropic")
            }
            // Three failures opened the breaker: the other seven requests never went to dep-a.
            #expect(await requests(to: "dep-a", mock) == 3)
            #expect(gateway.health.breakerState("d-openai") != .closed)
            let log = try await client.get("/v1/switchyard/requests?limit=1")
            let route = log.json?["data"]?.arrayValue?.first?["route"]
            #expect(route?["candidates"]?.arrayValue?.contains { $0["deployment"] == "d-openai" && $0["excluded"] == "circuit breaker open" } == true)
        }
    }

    @Test func rateLimitStormsAreRetriedHonouringRetryAfter() async throws {
        try await LiveHarness.run(extra: Self.groups) { client, mock, _ in
            await mock.setFault(model: "dep-a", fault: "error: 429 retry-after=0.05", count: 2)
            let started = ContinuousClock.now
            let response = try await client.post("/v1/chat/completions", json: Body.chat("retrying", "hi"))
            #expect(response.status == .ok)
            #expect(response.header("x-switchyard-model") == "d-openai")  // third try on the same deployment
            #expect(response.header("x-switchyard-attempts") == "3")
            #expect(ContinuousClock.now - started >= .milliseconds(100))  // waited retry-after twice
            #expect(response.header("x-switchyard-route") == "retrying: d-openai(429) -> d-openai(429) -> d-openai(200)")
        }
    }

    @Test func clientErrorsAreNeverRetried() async throws {
        try await LiveHarness.run(extra: Self.groups) { client, mock, _ in
            await mock.setFault(model: "dep-a", fault: "error: 400", count: -1)
            let response = try await client.post("/v1/chat/completions", json: Body.chat("resilient", "hi"))
            #expect(response.status == .badRequest)
            #expect(await requests(to: "dep-a", mock) == 1)
            #expect(await requests(to: "dep-b", mock) == 0)
        }
    }

    @Test func timeoutsMoveOnToTheNextDeployment() async throws {
        // The two faulty deployments time out after 1.5 s; the healthy ones get 60 s, so a machine loaded by the rest
        // of the suite cannot push the answer past its own timeout and on to the next deployment.
        let timeouts = ["up-openai": 1500, "up-anthropic": 1500]
        try await LiveHarness.run(timeoutMs: 60_000, timeouts: timeouts, extra: Self.groups) { client, mock, _ in
            await mock.setFault(model: "dep-a", fault: "delay: 3000", count: -1)
            await mock.setFault(model: "dep-b", fault: "hang", count: -1)
            for stream in [false, true] {
                let response = try await client.post("/v1/messages", json: Body.messages("resilient", "hi", stream: stream))
                #expect(response.status == .ok)
                #expect(response.header("x-switchyard-model") == "d-gemini")
                if stream { #expect(response.events.last?.event == "message_stop") }
            }
        }
    }

    @Test(arguments: ["disconnect-after: 0", "malformed", "error: 503"])
    func failuresBeforeTheFirstByteFallBackInvisibly(fault: String) async throws {
        try await LiveHarness.run(extra: Self.groups) { client, mock, _ in
            await mock.setFault(model: "dep-a", fault: fault, count: -1)
            let openAI = try await client.post("/v1/chat/completions", json: Body.chat("resilient", "[[reply: all good]]", stream: true))
            #expect(openAI.status == .ok)
            #expect(openAI.events.last?.data == "[DONE]")
            #expect(!openAI.events.contains { JSONValue.parse($0.data)?["error"] != nil })
            var accumulator = ChatStreamAccumulator()
            for event in openAI.events.dropLast() { accumulator.add(try JSONDecoder().decode(ChatChunk.self, from: Data(event.data.utf8))) }
            #expect(accumulator.text == "all good")
            #expect(openAI.header("x-switchyard-model") == "d-anthropic")
            let anthropic = try await client.post("/v1/messages", json: Body.messages("resilient", "[[reply: all good]]", stream: true))
            #expect(anthropic.events.last?.event == "message_stop")
        }
    }

    @Test func fallbacksAcrossGroups() async throws {
        try await LiveHarness.run(extra: Self.groups) { client, mock, _ in
            await mock.setFault(model: "dep-a", fault: "error: 502", count: -1)
            let response = try await client.post("/v1/chat/completions", json: Body.chat("primary", "hi"))
            #expect(response.status == .ok)
            #expect(response.header("x-switchyard-model") == "d-gemini")
            #expect(response.header("x-switchyard-route") == "primary: d-openai(502) -> d-gemini(200)")
        }
    }

    @Test func aRecoveredDeploymentGetsTrafficBackAfterOneProbe() async throws {
        let clock = ManualClock()
        try await LiveHarness.run(extra: Self.groups, clock: { clock.now }) { client, mock, gateway in
            await mock.setFault(model: "dep-a", fault: "error: 500", count: 3)
            for _ in 0..<5 {
                #expect(try await client.post("/v1/chat/completions", json: Body.chat("resilient", "hi")).status == .ok)
            }
            #expect(await requests(to: "dep-a", mock) == 3)
            // Still open just before the cool-down ends: no traffic.
            clock.advance(.seconds(29))
            _ = try await client.post("/v1/chat/completions", json: Body.chat("resilient", "hi"))
            #expect(await requests(to: "dep-a", mock) == 3)
            // After it, one probe; it succeeds (the fault was for 3 calls), and the breaker closes.
            clock.advance(.seconds(2))
            let probe = try await client.post("/v1/chat/completions", json: Body.chat("resilient", "hi"))
            #expect(probe.header("x-switchyard-model") == "d-openai")
            #expect(gateway.health.breakerState("d-openai") == .closed)
            for _ in 0..<3 {
                let response = try await client.post("/v1/chat/completions", json: Body.chat("resilient", "hi"))
                #expect(response.header("x-switchyard-model") == "d-openai")
            }
        }
    }

    @Test func autoRouteAndConstraintsThroughTheServer() async throws {
        let extra = Self.groups + """

            routes:
              - name: auto
                classifier: {rules: [{name: hard, keywords: [prove], difficulty: 3}]}
                tiers:
                  - {name: cheap, groups: [m-ollama, d-openai], max_difficulty: 1}
                  - {name: strong, groups: [m-anthropic]}
            """
        try await LiveHarness.run(extra: extra) { client, _, _ in
            let easy = try await client.post("/v1/chat/completions", json: Body.chat("auto", "hello"))
            #expect(easy.status == .ok && easy.header("x-switchyard-model") == "m-ollama")
            let hard = try await client.post("/v1/messages", json: Body.messages("auto", "prove it"))
            #expect(hard.status == .ok && hard.header("x-switchyard-model") == "m-anthropic")
            let ignored = try await client.post(
                "/v1/chat/completions", json: Body.chat("auto", "hello"),
                headers: [.init("x-switchyard-route")!: #"{"ignore": ["m-ollama"]}"#])
            #expect(ignored.header("x-switchyard-model") == "d-openai")
            let body = try await client.post(
                "/v1/chat/completions", json: Body.chat("auto", "hello", extra: ["switchyard": ["route": ["only": ["m-anthropic"]]]]))
            #expect(body.header("x-switchyard-model") == "m-anthropic")
            let impossible = try await client.post(
                "/v1/chat/completions", json: Body.chat("auto", "hello", extra: ["switchyard": ["route": ["privacy": "local", "require": ["vision"]]]]))
            #expect(impossible.status == .badRequest)
            let badHeader = try await client.post(
                "/v1/chat/completions", json: Body.chat("auto", "hello"), headers: [.init("x-switchyard-route")!: "local please"])
            #expect(badHeader.status == .badRequest && badHeader.json?["error"]?["param"] == "x-switchyard-route")
            let models = try await client.get("/v1/models")
            #expect(models.json?["data"]?.arrayValue?.contains { $0["id"] == "auto" } == true)
        }
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(_ duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
}
