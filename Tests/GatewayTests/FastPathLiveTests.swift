import Caching
import Foundation
import Governance
@testable import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import HummingbirdTesting
import SwitchyardCore
import Synchronization
import Testing

/// The fast path (issue 26) against a live gateway and the mock upstream: what it answers, what it
/// gives to the full pipeline and why, and that the client sees the same answer either way.
@Suite struct FastPathLiveTests {
    static func record(_ client: any TestClientProtocol, _ answer: TestResponse) async throws -> JSONValue? {
        try await client.get("/v1/switchyard/requests/\(answer.header("x-switchyard-request-id") ?? "")").json
    }

    static func notes(_ record: JSONValue?) -> [String] {
        record?["route"]?["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    @Test func plainRequestTakesTheFastPathWithTheFullPathsHeadersAndBody() async throws {
        let answers = Mutex<[String: TestResponse]>([:])
        try await LiveHarness.run(fastPath: true) { client, mock, _ in
            let fast = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hello there"))
            answers.withLock { $0["fast"] = fast }
            let record = try await Self.record(client, fast)
            #expect(Self.notes(record).contains("fast path"))
            #expect(record?["cost_usd"]?.doubleValue ?? 0 > 0)
            let sent = await mock.recordedRequests().last
            // The upstream hears the upstream model name and the provider's key, never the client's.
            #expect(sent?.headers["authorization"] == "Bearer sk-upstream-secret-openai")
            #expect(JSONValue.parse(sent?.body ?? Data())?["model"] == "gpt-4o-mini")
        }
        try await LiveHarness.run(fastPath: false) { client, _, _ in
            let full = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hello there"))
            answers.withLock { $0["full"] = full }
        }
        let (a, b) = (try #require(answers.withLock { $0["fast"] }), try #require(answers.withLock { $0["full"] }))
        #expect(a.status == .ok && b.status == .ok)
        #expect(a.header("x-switchyard-path") == "fast")
        #expect(b.header("x-switchyard-path") == nil)
        // The same headers, but for the path marker, and the same body fields.
        let names = { (response: TestResponse) in Set(response.headers.map(\.name.canonicalName)).subtracting(["x-switchyard-path"]) }
        #expect(names(a) == names(b))
        for name in ["x-switchyard-model", "x-switchyard-provider", "x-switchyard-upstream-model", "x-switchyard-route", "x-switchyard-cost-usd"] {
            #expect(a.header(name) == b.header(name), "\(name)")
        }
        // The fast path passes the upstream's answer through (fields the full path's decoding drops, such as
        // `refusal: null`, stay); what the client reads is the same.
        let messageA = a.json?["choices"]?.arrayValue?.first
        let messageB = b.json?["choices"]?.arrayValue?.first
        #expect(messageA?["message"]?["content"] == messageB?["message"]?["content"])
        #expect(messageA?["message"]?["role"] == messageB?["message"]?["role"])
        #expect(messageA?["finish_reason"] == messageB?["finish_reason"])
        for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            let usageA = a.json?["usage"]?[field]
            let usageB = b.json?["usage"]?[field]
            #expect(usageA == usageB, "\(field)")
        }
        let keysA: Set<String> = Set(a.json?.objectValue?.keys.map { $0 } ?? [])
        let keysB: Set<String> = Set(b.json?.objectValue?.keys.map { $0 } ?? [])
        #expect(keysB.isSubset(of: keysA), "\(keysA) \(keysB)")
        #expect(a.json?["switchyard"]?["cost_usd"] == b.json?["switchyard"]?["cost_usd"])
    }

    @Test func optionsTheFastPathDoesNotCoverTakeTheFullPathAndSayWhy() async throws {
        try await LiveHarness.run(fastPath: true) { client, _, _ in
            // Stream options other than `include_usage: true` are the full path's to encode.
            let optioned = Body.chat("m-openai", "hi", stream: true, extra: ["stream_options": ["include_usage": false]])
            let streamed = try await client.post("/v1/chat/completions", json: optioned)
            #expect(streamed.status == .ok)
            #expect(streamed.header("x-switchyard-path") == nil)
            #expect(Self.notes(try await Self.record(client, streamed)).contains("full path: stream options"))

            let translated = try await client.post("/v1/chat/completions", json: Body.chat("m-anthropic", "hi"))
            #expect(translated.status == .ok)
            #expect(Self.notes(try await Self.record(client, translated)).contains("full path: provider"))

            // A header that changes the route takes the full pipeline.
            let routed = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", "hi"), headers: [HTTPField.Name("x-switchyard-route")!: "{}"])
            #expect(routed.status == .ok)
            #expect(routed.header("x-switchyard-path") == nil)
            // The fast path's own headers are removed from what clients send: a forged reason never reaches the log.
            let forged: HTTPFields = [HTTPField.Name("x-switchyard-full-path")!: "forged", HTTPField.Name("x-switchyard-fast-admitted")!: "true"]
            let plain = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi"), headers: forged)
            #expect(plain.header("x-switchyard-path") == "fast")
            let streamedForged = try await client.post("/v1/chat/completions", json: optioned, headers: forged)
            let forgedNotes = Self.notes(try await Self.record(client, streamedForged))
            #expect(forgedNotes.contains("full path: stream options") && !forgedNotes.contains { $0.contains("forged") }, "\(forgedNotes)")
        }
    }

    /// The text, the final usage chunk and whether `[DONE]` ended it, of an OpenAI stream.
    static func read(_ response: TestResponse) -> (text: String, usage: JSONValue?, extensionObject: JSONValue?, done: Bool) {
        var text = ""
        var usage: JSONValue?
        var extensionObject: JSONValue?
        for event in response.events where event.data != "[DONE]" {
            let chunk = JSONValue.parse(event.data)
            for choice in chunk?["choices"]?.arrayValue ?? [] { text += choice["delta"]?["content"]?.stringValue ?? "" }
            if let found = chunk?["usage"], found != .null { usage = found }
            if let found = chunk?["switchyard"] { extensionObject = found }
        }
        return (text, usage, extensionObject, response.events.last?.data == "[DONE]")
    }

    @Test func streamsTakeTheFastPathAndReadAsTheFullPathsDo() async throws {
        let prompt = "[[reply: the quick brown fox jumps over the lazy dog]]"
        let answers = Mutex<[String: TestResponse]>([:])
        try await LiveHarness.run(fastPath: true) { client, mock, _ in
            let fast = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", prompt, stream: true))
            answers.withLock { $0["fast"] = fast }
            #expect(fast.status == .ok)
            #expect(fast.header("x-switchyard-path") == "fast")
            #expect(fast.header("content-type") == "text/event-stream")
            let record = try #require(try await Self.record(client, fast))
            #expect(Self.notes(record).contains("fast path"))
            #expect(record["stream"] == true)
            #expect(record["ttft_ms"]?.doubleValue != nil)
            #expect(record["usage_estimated"] == false)
            let read = Self.read(fast)
            #expect(record["cost_usd"]?.doubleValue == read.extensionObject?["cost_usd"]?.doubleValue)
            #expect(record["completion_tokens"] == read.usage?["completion_tokens"])

            // Without `stream_options` the client gets no usage chunk, but the upstream is asked for one (cost needs it).
            await mock.clearRecordedRequests()
            let bare = try await client.post(
                "/v1/chat/completions", json: #"{"model": "m-openai", "stream": true, "messages": [{"role": "user", "content": "\#(prompt)"}]}"#)
            #expect(bare.header("x-switchyard-path") == "fast")
            let bareRead = Self.read(bare)
            #expect(bareRead.text == "the quick brown fox jumps over the lazy dog" && bareRead.done)
            #expect(bareRead.usage == nil && bareRead.extensionObject == nil)
            #expect(!bare.events.contains { $0.data.contains("\"usage\":{") })
            let sent = JSONValue.parse(await mock.recordedRequests().last?.body ?? Data())
            #expect(sent?["stream_options"]?["include_usage"] == true)
            #expect(sent?["model"] == "gpt-4o-mini")
            let bareRecord = try await Self.record(client, bare)
            #expect(bareRecord?["usage_estimated"] == false && (bareRecord?["cost_usd"]?.doubleValue ?? 0) > 0)
        }
        try await LiveHarness.run(fastPath: false) { client, _, _ in
            answers.withLock { $0["full"] = nil }
            let full = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", prompt, stream: true))
            answers.withLock { $0["full"] = full }
        }
        let (a, b) = (try #require(answers.withLock { $0["fast"] }), try #require(answers.withLock { $0["full"] }))
        #expect(b.header("x-switchyard-path") == nil)
        let names = { (response: TestResponse) in Set(response.headers.map(\.name.canonicalName)).subtracting(["x-switchyard-path", "date", "server"]) }
        #expect(names(a) == names(b), "\(names(a).symmetricDifference(names(b)))")
        for name in ["x-switchyard-model", "x-switchyard-provider", "x-switchyard-upstream-model", "x-switchyard-route"] {
            #expect(a.header(name) == b.header(name), "\(name)")
        }
        let (fast, full) = (Self.read(a), Self.read(b))
        #expect(fast.text == full.text && fast.text == "the quick brown fox jumps over the lazy dog")
        #expect(fast.done && full.done)
        #expect(fast.usage == full.usage, "\(String(describing: fast.usage)) \(String(describing: full.usage))")
        #expect(fast.extensionObject?["cost_usd"] == full.extensionObject?["cost_usd"])
        #expect(fast.extensionObject?["model"] == full.extensionObject?["model"])
        #expect(fast.extensionObject?["provider"] == full.extensionObject?["provider"])
        // The same number of chunks with choices: none dropped or merged.
        let choiceChunks = { (response: TestResponse) in
            response.events.filter { !(JSONValue.parse($0.data)?["choices"]?.arrayValue ?? []).isEmpty }.count
        }
        #expect(choiceChunks(a) == choiceChunks(b))
    }

    @Test func aStreamThatFailsBeforeOutputIsTheFirstOfThePlansAttempts() async throws {
        try await LiveHarness.run(extra: Self.retrying, fastPath: true) { client, mock, _ in
            // A broken chunk after the role chunk, before any text: nothing reached the client, so the plan's retry serves it.
            await mock.clearRecordedRequests()
            await mock.setFault(model: "gpt-4o-mini", fault: "malformed", count: 1)
            let retried = try await client.post("/v1/chat/completions", json: Body.chat("g-retry", "[[reply: one two three]]", stream: true))
            #expect(retried.status == .ok)
            #expect(Self.read(retried).text == "one two three" && Self.read(retried).done, "\(retried.text)")
            #expect(retried.header("x-switchyard-attempts") == "2")
            #expect(await mock.recordedRequests().count == 2)
            let notes = Self.notes(try await Self.record(client, retried))
            #expect(notes.contains { $0.hasPrefix("full path:") && $0.contains("not valid JSON") }, "\(notes)")

            // An upstream status before the stream is the client's error, in its envelope, with its retry-after.
            await mock.setFault(model: "gpt-4o-mini", fault: "error: 429 retry-after=3", count: 1)
            let limited = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi", stream: true))
            #expect(limited.status == .tooManyRequests, "\(limited.text) \(limited.headers)")
            #expect(limited.header("retry-after") == "3")
            #expect(limited.json?["error"]?["type"] != nil)

            // Nobody listening: a 5xx in the envelope, not a hang.
            let nowhere = try await client.post("/v1/chat/completions", json: Body.chat("m-nowhere", "hi", stream: true))
            #expect(nowhere.status.code >= 500)
            #expect(nowhere.json?["error"] != nil)
        }
    }

    @Test func badRequestsGetTheFullPathsErrors() async throws {
        try await LiveHarness.run(fastPath: true) { client, _, _ in
            let broken = try await client.post("/v1/chat/completions", json: #"{"model": "m-openai", "messages": [{"role": "user", "content": 7}]}"#)
            #expect(broken.status == .badRequest)
            #expect(broken.json?["error"]?["type"] == "invalid_request_error")
            let unknown = try await client.post("/v1/chat/completions", json: Body.chat("no-such-model", "hi"))
            #expect(unknown.status == .notFound)
            let noKey = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi"), key: nil)
            #expect(noKey.status == .unauthorized)
            let wrongKey = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi"), key: "sk-nope")
            #expect(wrongKey.status == .unauthorized)
            let limited = try await client.post("/v1/chat/completions", json: Body.chat("m-anthropic", "hi"), key: "sk-limited")
            #expect(limited.status == .notFound || limited.status == .forbidden)
            let huge = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", String(repeating: "x", count: 70_000)))
            #expect(huge.status == .contentTooLarge)
            // Extreme numbers are the validator's to refuse, on either path.
            let extreme = try await client.post(
                "/v1/chat/completions", json: #"{"model": "m-openai", "max_tokens": 1e309, "messages": [{"role": "user", "content": "hi"}]}"#)
            #expect(extreme.status == .badRequest)
        }
    }

    static let retrying = """
        groups: [{name: g-retry, deployments: [m-openai], retry: {attempts: 2, backoff_ms: 10}}, {name: g-timed, deployments: [m-openai], timeout_ms: 30000}]
        """

    @Test func aFailedFastAttemptIsTheFirstOfThePlansAttempts() async throws {
        try await LiveHarness.run(extra: Self.retrying, fastPath: true) { client, mock, _ in
            // One 500: the fast attempt meets it, the full path's second attempt succeeds. Two calls, as configured.
            await mock.clearRecordedRequests()
            await mock.setFault(model: "gpt-4o-mini", fault: "error: 500", count: 1)
            let answer = try await client.post("/v1/chat/completions", json: Body.chat("g-retry", "hi"))
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(answer.header("x-switchyard-path") == nil)
            #expect(answer.header("x-switchyard-attempts") == "2")
            #expect(answer.header("x-switchyard-route") == "g-retry: m-openai(500) -> m-openai(200)")
            #expect(await mock.recordedRequests().count == 2)
            #expect(Self.notes(try await Self.record(client, answer)).contains("full path: upstream answered 500"))

            // Without retries, the one failed attempt is the answer: no second call behind the client's back.
            await mock.clearRecordedRequests()
            await mock.setFault(model: "gpt-4o-mini", fault: "error: 500", count: 1)
            let once = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi"))
            #expect(once.status.code == 500 || once.status.code == 502, "\(once.text)")
            #expect(await mock.recordedRequests().count == 1)

            // A client error is never retried, and is answered in the full path's envelope.
            await mock.clearRecordedRequests()
            await mock.setFault(model: "gpt-4o-mini", fault: "error: 400", count: 1)
            let refused = try await client.post("/v1/chat/completions", json: Body.chat("g-retry", "hi"))
            #expect(refused.status == .badRequest, "\(refused.text)")
            #expect(refused.json?["error"]?["type"] == "invalid_request_error")
            #expect(refused.header("x-switchyard-model") == "g-retry")
            #expect(await mock.recordedRequests().count == 1)

            // Nobody listening: the full path's error envelope, 5xx, not a hang.
            let nowhere = try await client.post("/v1/chat/completions", json: Body.chat("m-nowhere", "hi"))
            #expect(nowhere.status.code >= 500)
            #expect(nowhere.json?["error"] != nil)
        }
    }

    @Test func exactCacheHitsOnTheFastPath() async throws {
        let extra = """
            cache: {exact: true, ttl_s: 600}
            """
        try await LiveHarness.run(extra: extra, fastPath: true) { client, mock, _ in
            let first = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "cache me"))
            #expect(first.header("x-switchyard-cache") == "miss")
            #expect(first.header("x-switchyard-path") == "fast")
            let calls = await mock.recordedRequests().count
            let second = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "cache me"))
            #expect(second.header("x-switchyard-cache") == "hit-exact")
            #expect(second.header("x-switchyard-path") == "fast")
            #expect(second.header("x-switchyard-cost-usd") == "0.0000000000")
            #expect(await mock.recordedRequests().count == calls)
            #expect(second.json?["choices"] == first.json?["choices"])
            #expect(second.json?["id"] != first.json?["id"])
            // Another key's namespace is another cache.
            let other = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "cache me"), key: "sk-limited")
            #expect(other.header("x-switchyard-cache") == "miss")
            // The same bytes again, after the other namespace (the loop's memo keeps one key per body): the
            // stored answer with this request's id, time and extension spliced in.
            let third = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "cache me"))
            #expect(third.header("x-switchyard-cache") == "hit-exact")
            #expect(third.json?["choices"] == first.json?["choices"])
            #expect(third.json?["usage"] == first.json?["usage"])
            let id = third.json?["id"]?.stringValue ?? ""
            #expect(id.hasPrefix("chatcmpl-") && id != second.json?["id"]?.stringValue)
            #expect(third.header("x-switchyard-request-id").map { id.hasSuffix($0.dropFirst(4)) } == true)
            let created = third.json?["created"]?.doubleValue ?? 0
            #expect(abs(created - Date().timeIntervalSince1970) < 60)
            #expect(third.json?["switchyard"]?["cache"]?.objectValue != nil || third.json?["switchyard"]?["cache"]?.stringValue != nil)
            #expect(third.json?["switchyard"]?["request_id"]?.stringValue == third.header("x-switchyard-request-id"))
            #expect(Set(third.json?.objectValue?.keys.map { $0 } ?? []) == Set(second.json?.objectValue?.keys.map { $0 } ?? []))
        }
    }

    @Test func theRequestMemoIsBoundedAndKeysPerNamespace() throws {
        let memo = FastRequestMemo()
        let request = try JSONDecoder().decode(ChatRequest.self, from: Data(Body.chat("m", "hi").utf8))
        for index in 0..<(FastRequestMemo.capacity + 50) {
            memo.remember(ByteBuffer(string: "{\"n\":\(index)}"), .init(request: request, estimatedTokens: 1))
        }
        #expect(memo.count == FastRequestMemo.capacity)
        let body = ByteBuffer(string: "{\"n\":\(FastRequestMemo.capacity + 49)}")
        let entry = try #require(memo.entry(body))
        let a = try #require(memo.cacheKey(body, entry: entry, namespace: "a"))
        // The key is kept with the body: the next lookup finds it.
        #expect(memo.entry(body)?.lastKey?.key == a)
        let afterA = try #require(memo.entry(body))
        let b = try #require(memo.cacheKey(body, entry: afterA, namespace: "b"))
        #expect(a != b)
        let afterB = try #require(memo.entry(body))
        #expect(memo.cacheKey(body, entry: afterB, namespace: "a") == a)
        #expect(a == CacheKey(namespace: "a", request: request))
        // A body over the size bound is not kept.
        let big = ByteBuffer(string: String(repeating: " ", count: FastRequestMemo.maximumBodyBytes + 1))
        memo.remember(big, .init(request: request, estimatedTokens: 1))
        #expect(memo.entry(big) == nil)
        // Key hashes: the governor's, and bounded.
        #expect(memo.keyHash("sk-one") == Governor.hash("sk-one"))
        for index in 0..<(FastRequestMemo.keyCapacity * 2) { _ = memo.keyHash("sk-\(index)") }
        #expect(memo.keyHash("sk-one") == Governor.hash("sk-one"))
    }

    @Test func aSplicedCachedAnswerIsTheEncodedOneWithItsOwnIdTimeAndExtension() throws {
        let stored = Data(#"{"id":"chatcmpl-old","object":"chat.completion","created":1,"model":"m","choices":[{"index":0}],"usage":{"total_tokens":3}}"#.utf8)
        let spliced = try #require(Gateway.spliceCached(stored, id: "chatcmpl-\"new\"", created: 1_800_000_000, extensionJSON: #"{"a":1}"#))
        let parsed = try #require(JSONValue.parse(Data(spliced.readableBytesView)))
        #expect(parsed["id"] == "chatcmpl-\"new\"")
        #expect(parsed["created"]?.doubleValue == 1_800_000_000)
        #expect(parsed["switchyard"]?["a"]?.doubleValue == 1)
        #expect(parsed["choices"] == JSONValue.parse(Data(#"[{"index":0}]"#.utf8)))
        // Bytes that do not scan as such an object are encoded afresh instead.
        #expect(Gateway.spliceCached(Data(#"{"id":"x"}"#.utf8), id: "y", created: 2, extensionJSON: "{}") == nil)
        #expect(Gateway.spliceCached(Data(#"{"id":"x","created":1,"switchyard":{}}"#.utf8), id: "y", created: 2, extensionJSON: "{}") == nil)
        #expect(Gateway.spliceCached(Data(#"[1]"#.utf8), id: "y", created: 2, extensionJSON: "{}") == nil)
    }

    @Test func rateLimitsCountOnceOnEitherPath() async throws {
        try await LiveHarness.run(extra: Self.retrying, fastPath: true) { client, mock, _ in
            let created = try await client.post("/v1/switchyard/keys", json: #"{"name": "rpm", "rpm": 3}"#)
            let secret = try #require(created.json?["key"]?.stringValue, "\(created.text)")
            await mock.setFault(model: "gpt-4o-mini", fault: "error: 500", count: 1)
            // The first request is admitted by the fast path, fails upstream, and is retried by the full path: one admission.
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(Int(try await client.post("/v1/chat/completions", json: Body.chat("g-retry", "hi"), key: secret).status.code))
            }
            #expect(statuses == [200, 200, 200, 429], "\(statuses)")

            // A request the fast path gives up after its checks (a group with a deadline) is counted once too.
            let timed = try await client.post("/v1/switchyard/keys", json: #"{"name": "rpm-timed", "rpm": 3}"#)
            let timedSecret = try #require(timed.json?["key"]?.stringValue)
            var timedStatuses: [Int] = []
            for _ in 0..<4 {
                timedStatuses.append(Int(try await client.post("/v1/chat/completions", json: Body.chat("g-timed", "hi"), key: timedSecret).status.code))
            }
            #expect(timedStatuses == [200, 200, 200, 429], "\(timedStatuses)")
        }
    }
}
