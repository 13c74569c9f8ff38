import Caching
import Foundation
import Governance
import NIOCore
import NIOHTTP1
import Providers
import Routing
import Synchronization
import SwitchyardCore

/// Where a fast-path call goes: one HTTP/1.1 origin, reached over a pooled connection of the
/// server's own event loop.
public struct FastOrigin: Sendable, Hashable {
    public var tls: Bool
    public var host: String
    public var port: Int
    /// The path up to the API (`/v1`), without a trailing slash.
    public var basePath: String
    /// The most connections one event loop keeps open to the origin.
    public var maxConnections: Int

    /// Parses a provider's base URL; nil for anything but a plain `http(s)://host[:port][/path]` (no
    /// user info, query or fragment), which then takes the full path.
    public init?(baseURL: String, maxConnections: Int) {
        let tls: Bool
        var rest: Substring
        if baseURL.hasPrefix("http://") {
            tls = false
            rest = baseURL.dropFirst(7)
        } else if baseURL.hasPrefix("https://") {
            tls = true
            rest = baseURL.dropFirst(8)
        } else {
            return nil
        }
        guard !rest.contains("?"), !rest.contains("#"), !rest.contains("@") else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        var host = Substring(authority)
        var port = tls ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else { return nil }
                port = number
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else { return nil }
            port = number
        }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        self.tls = tls
        self.host = String(host)
        self.port = port
        self.basePath = path
        self.maxConnections = max(1, maxConnections)
    }
}

/// One upstream call the fast path makes: what to send, and what to settle afterwards.
public struct FastCall: Sendable {
    public let origin: FastOrigin
    /// The request target (`/v1/chat/completions`).
    public let target: String
    /// Headers besides `host`, `content-length` and `connection` (the pool's connection adds those).
    public let headers: [(String, String)]
    public let body: ByteBuffer
    /// How long to wait for the whole answer.
    public let timeout: TimeAmount
    /// The most bytes of answer read before the call is given up.
    public let maxResponseBytes: Int
    public let requestID: String
    /// A streamed request: a 2xx event-stream answer is relayed as it comes (`FastStream`), and `timeout`
    /// bounds the wait for its first output only.
    public let stream: Bool

    let request: ChatRequest
    let context: CallContext
    let record: RequestRecord
    let step: RoutePlanner.Step
    public let provider: String
    let providerConfiguration: ProviderConfiguration
    let reservation: Governor.Reservation
    let fill: CacheFill?
    let started: ContinuousClock.Instant
}

/// Connections the fast path opens to a provider as the server starts, each with one `GET target`.
public struct FastPrewarm: Sendable {
    public let provider: String
    public let origin: FastOrigin
    /// The model list (`/v1/models`): harmless, and answered by every OpenAI-compatible server.
    public let target: String
    public let headers: [(String, String)]
    public let count: Int
}

/// What the fast path answers with: a complete JSON response and what its headers say.
public struct FastAnswer: Sendable {
    public var body: ByteBuffer
    public var requestID: String
    public var model: ModelSpec
    public var provider: String
    public var trace: RouteTrace
    public var cache: String?
    public var admission: RateLimitAdmission?
    public var costUSD: Double
    public var usageEstimated: Bool
}

/// The fast path's decision for one request.
public enum FastDecision: Sendable {
    /// The full pipeline takes the request; the reason is for `explain` and the debug log.
    case full(String)
    /// The same, after the request was counted under its rate limits (the full path does not count it again).
    case fullAdmitted(String)
    /// Answered without an upstream call (an exact cache hit).
    case answer(FastAnswer)
    /// One upstream call, then `fastFinish`.
    case forward(FastCall)
    /// The upstream's refusal of the request (a client error), answered as the full path would.
    case failed(SwitchyardError)
    /// The fast attempt failed in a way the full path retries: it takes the request and continues from
    /// that attempt (`Gateway.takeFastAttempt(token)`), so the plan's retries and backoff hold.
    case handOff(reason: String, token: String)
}

/// A failed fast attempt, handed to the full path with the request.
public struct FastAttempt: Sendable {
    var deployment: String
    var attempt: RouteTrace.Attempt
    var error: SwitchyardError
}

/// Fast attempts on their way to the full path, by a random token the handler passes in a header it
/// removes from every client request. Bounded: an attempt whose request never reached the router (the
/// client left) is dropped with the oldest.
final class FastAttempts: Sendable {
    private let pending = Mutex<(order: [String], byToken: [String: FastAttempt])>(([], [:]))
    static let capacity = 4_096

    func put(_ attempt: FastAttempt) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = String(generator.next() as UInt64, radix: 16) + String(generator.next() as UInt64, radix: 16)
        pending.withLock { pending in
            if pending.order.count >= Self.capacity {
                let excess = pending.order.count - Self.capacity + 1
                for old in pending.order.prefix(excess) { pending.byToken[old] = nil }
                pending.order.removeFirst(excess)
            }
            pending.order.append(token)
            pending.byToken[token] = attempt
        }
        return token
    }

    func take(_ token: String) -> FastAttempt? {
        pending.withLock { pending in
            guard let attempt = pending.byToken.removeValue(forKey: token) else { return nil }
            if let index = pending.order.firstIndex(of: token) { pending.order.remove(at: index) }
            return attempt
        }
    }
}

extension Gateway {
    /// The request-body prefix of a chat-completions request of the workflow models, which the full path serves.
    static let fastPathIneligibleModels = ConfigurationLoader.workflowModelPrefix

    /// True when the configuration lets any chat request take the fast path at all (decided once).
    public var fastPathConfigured: Bool {
        configuration.server.fastPath
    }

    /// Decides, without waiting on anything, whether this OpenAI chat-completions request can be
    /// served on the fast path, and if so does everything the pipeline does before the upstream call:
    /// authentication, validation, admission, the route plan, the exact cache and the budget
    /// reservation. Anything it does not cover (streams, guards, grounding, tools, experiments, auto
    /// routes, semantic or shared caches, shared limits, headers that change the route) is `.full`.
    ///
    /// - Parameters:
    ///   - presentedKey: the bearer token or `x-api-key` the client sent.
    ///   - body: the whole request body.
    ///   - memo: the event loop's memo of bodies seen before (`FastRequestMemo`), if any.
    public func fastBegin(presentedKey: String?, body: ByteBuffer, memo: FastRequestMemo? = nil) -> FastDecision {
        guard configuration.server.fastPath else { return .full("fast path off") }
        let caller: Caller
        do {
            caller = try authenticate(presentedKey, hashes: memo)
        } catch {
            return .full("authentication")  // the full path answers 401 in its words
        }
        guard caller.may(.useModels) else { return .full("permission") }
        let request: ChatRequest
        let estimatedTokens: Int
        var remembered = memo?.entry(body)
        if let known = remembered {
            (request, estimatedTokens) = (known.request, known.estimatedTokens)
        } else {
            do {
                request = try JSONDecoder().decode(ChatRequest.self, from: body)
            } catch {
                return .full("body did not decode")  // the full path names the field
            }
            if request.switchyard != nil { return .full("switchyard options") }
            do {
                try ChatRequestValidator.validate(request)
            } catch {
                return .full("validation")
            }
            estimatedTokens = TokenEstimator.estimate(request)
            let entry = FastRequestMemo.Entry(request: request, estimatedTokens: estimatedTokens)
            memo?.remember(body, entry)
            remembered = entry
        }
        if request.stream, !Self.fastStreamOptions(body, request: request) { return .full("stream options") }
        if request.model.hasPrefix(Self.fastPathIneligibleModels) { return .full("workflow") }
        if configuration.experiments.contains(where: { $0.name == request.model }) { return .full("experiment") }
        if configuration.retrieval.grounding[request.model] != nil { return .full("grounding") }
        if !(configuration.toolPolicies[request.model] ?? []).isEmpty { return .full("server tools") }
        if guardPolicy(for: request, caller: caller) != nil { return .full("guardrails") }
        guard GlobPattern.allows(caller.allowedModels, request.model),
            planner.isRoute(request.model) || models[request.model]?.kind == .chat
        else { return .full("model") }
        if planner.autoRoutes[request.model] != nil { return .full("auto route") }

        var context = CallContext(caller: caller, clientProtocol: .openai, logger: logger, tagsLogger: false)
        let plan: RoutePlanner.Plan
        do {
            plan = try planner.planModelOrGroup(request, estimatedTokens: estimatedTokens, constraints: RouteConstraints())
        } catch {
            return .full("no plan")
        }
        var record = newRecord(request, context: context, stream: request.stream)
        record.route = plan.trace
        record.prompt = loggedPrompt(request, guarded: nil)

        var lookup: CacheLookup?
        if let cache, let policy = configuration.cache.policy(for: request.model) {
            // A cached stream is replayed, and a stream fills the cache from its decoded chunks: the full path's.
            if request.stream { return .full("stream with cache") }
            let key = remembered.flatMap { memo?.cacheKey(body, entry: $0, namespace: caller.id) }
            guard let found = cache.lookupNow(request, namespace: caller.id, policy: policy, key: key) else {
                return .full("semantic or shared cache")
            }
            lookup = found
        }
        record.cache = lookup?.label
        var step: RoutePlanner.Step?
        var provider: (any Provider)?
        var origin: FastOrigin?
        if case .hit = lookup {
        } else {
            guard let first = plan.steps.first, let chosen = providers[first.model.provider],
                let parsed = Self.fastOrigin(chosen.configuration)
            else { return .full("provider") }
            if plan.timeout != nil { return .full("group timeout") }
            (step, provider, origin) = (first, chosen, parsed)
        }

        // Admission last of the checks that may send the request to the full path, which would admit it again;
        // after it, every way there says so (`fullAdmitted`).
        if let key = caller.key {
            do {
                guard let admission = try governor.admitNow(key, tokens: estimatedTokens + (request.outputTokenLimit ?? 256)) else {
                    return .full("shared rate limits")
                }
                context.admission = admission
            } catch {
                return .full("rate limited")  // nothing was counted: the full path refuses it with its headers and log line
            }
        } else {
            context.admission = RateLimitAdmission()
        }
        if case .hit(let answer)? = lookup {
            return fastCacheHit(answer, plan: plan, request: request, context: context, record: record)
        }
        guard let step, let provider, let origin else { return .fullAdmitted("provider") }
        guard health.begin(step.model.name, estimatedTokens: estimatedTokens, force: step.panic) else {
            return .fullAdmitted("circuit breaker")
        }
        var reservation = Governor.Reservation.none
        if let key = caller.key {
            do {
                guard let reserved = try governor.reserveNow(key, usd: worstCaseCost(request, models: plan.steps.map(\.model))) else {
                    health.end(step.model.name, outcome: .neutral)
                    return .fullAdmitted("shared budget")
                }
                reservation = reserved
            } catch {
                health.end(step.model.name, outcome: .neutral)
                return .fullAdmitted("budget")
            }
        }
        record.budgetFlag = flagSoftOverruns(reservation, context: context)

        guard let upstreamBody = Self.fastUpstreamBody(body, request: request, upstreamModel: step.model.upstream) else {
            health.end(step.model.name, outcome: .neutral)
            governor.settle(reservation, actualUSD: 0)
            return .fullAdmitted("encoding")
        }
        let configuration = provider.configuration
        let headers = Self.fastHeaders(
            configuration, base: [("content-type", "application/json"), ("accept", request.stream ? "text/event-stream" : "application/json")])
        return .forward(
            FastCall(
                origin: origin, target: origin.basePath + "/chat/completions", headers: headers, body: upstreamBody,
                timeout: .milliseconds(Int64(max(1, configuration.timeoutMilliseconds))), maxResponseBytes: 16 * 1024 * 1024,
                requestID: context.requestID, stream: request.stream, request: request, context: context, record: record, step: step,
                provider: provider.name, providerConfiguration: configuration, reservation: reservation, fill: lookup?.fill, started: .now))
    }

    /// Where the fast path reaches a provider: an OpenAI-compatible one at a plain `http(s)://host[:port][/path]`,
    /// without `query` (its parameters go on every URL) and without `max_connections` (the full path's pool counts
    /// its connections exactly, so such a provider stays there). Nil for every other provider.
    static func fastOrigin(_ configuration: ProviderConfiguration) -> FastOrigin? {
        guard configuration.kind == .openai, configuration.query.isEmpty, configuration.maxConnections == nil else { return nil }
        return FastOrigin(baseURL: configuration.baseURL, maxConnections: 1_024)
    }

    /// `base` with the provider's key and configured headers (a configured header replaces one of the same name).
    static func fastHeaders(_ configuration: ProviderConfiguration, base: [(String, String)]) -> [(String, String)] {
        var headers = base
        if let key = configuration.apiKey, !key.isEmpty {
            headers.append((configuration.authHeader ?? "authorization", configuration.authHeader == nil ? "Bearer \(key)" : key))
        }
        for (name, value) in configuration.headers {
            headers.removeAll { $0.0.lowercased() == name.lowercased() }
            headers.append((name, value))
        }
        return headers
    }

    /// The providers whose `prewarm_connections` the fast path's pools open (the connections its requests use),
    /// when the fast path is on: every provider it reaches (`fastOrigin`). The others are prewarmed in the full
    /// path's pools (`prewarmConnections(logger:except:)`).
    public func fastPrewarms() -> [FastPrewarm] {
        guard configuration.server.fastPath else { return [] }
        return configuration.providers.compactMap { provider in
            guard provider.prewarmConnections > 0, let origin = Self.fastOrigin(provider) else { return nil }
            return FastPrewarm(
                provider: provider.name, origin: origin, target: origin.basePath + "/models",
                headers: Self.fastHeaders(provider, base: [("accept", "application/json")]), count: provider.prewarmConnections)
        }
    }

    /// Settles a fast-path call whose upstream answered `status` with `body`: the answer, or `.full`
    /// (nothing was sent to the client yet) when it is not a clean success, after booking the
    /// failure on the deployment's health so the full path's plan sees it.
    ///
    /// A clean answer is not decoded and re-encoded: its top level is scanned (`JSONScanner`), its
    /// `usage` alone decoded, and the `switchyard` extension spliced in before its last brace. An
    /// answer the scan cannot vouch for (no usage, a `switchyard` member of its own) and one the
    /// cache keeps go through `ChatResponse`, as on the full path.
    public func fastFinish(_ call: FastCall, status: Int, headers: HTTPHeaders, body: ByteBuffer) -> FastDecision {
        let step = call.step
        guard (200..<300).contains(status) else {
            let failure = UpstreamErrors.status(status, body: body, headers: headers, configuration: call.providerConfiguration)
            return fastFailure(call, failure, reason: "upstream answered \(status)")
        }
        if call.stream {
            // A 2xx that is not an event stream (those are relayed as they come, never answered whole).
            let failure = SwitchyardError(
                code: .badUpstreamResponse, message: "Provider '\(call.provider)' answered a streamed request without an event stream.",
                status: 502)
            return fastFailure(call, failure, reason: "upstream answer was not an event stream")
        }
        if call.fill == nil, let spliced = fastSplice(call, body: body) { return spliced }
        guard var response = try? JSONDecoder().decode(ChatResponse.self, from: body), !response.choices.isEmpty else {
            let failure = SwitchyardError(
                code: .badUpstreamResponse, message: "Provider '\(call.provider)' sent a response that could not be read.", status: 502)
            return fastFailure(call, failure, reason: "upstream answer did not decode")
        }
        let usage = Self.usableUsage(response.usage, response: response) ?? Self.estimateUsage(request: call.request, response: response)
        response.usage = usage
        let (record, cost) = fastSettle(call, usage: usage)
        response.switchyard = Self.extensionObject(
            context: call.context, model: step.model, provider: call.provider, cost: cost, usage: usage, trace: record.route)
        if let fill = call.fill { cache?.store(response, for: fill, costUSD: cost) }
        // The upstream was paid for: never a second call for an answer that could not be written.
        guard let encoded = Self.fastEncode(response) else { return .failed(SwitchyardError.internal("The answer could not be encoded.")) }
        return .answer(
            FastAnswer(
                body: encoded, requestID: call.requestID, model: step.model, provider: call.provider, trace: record.route ?? call.record.route!,
                cache: call.fill == nil ? nil : "miss", admission: call.context.admission, costUSD: cost, usageEstimated: usage.estimated))
    }

    /// The answer with the extension spliced in, when its top level scans clean and its usage is usable.
    private func fastSplice(_ call: FastCall, body: ByteBuffer) -> FastDecision? {
        let scanned = body.withUnsafeReadableBytes { bytes -> (usage: Usage, closingBrace: Int, empty: Bool)? in
            guard let (members, closing) = JSONScanner.members(bytes),
                JSONScanner.member("switchyard", in: members, of: bytes) == nil,
                let choices = JSONScanner.member("choices", in: members, of: bytes), bytes[choices.value.lowerBound] == UInt8(ascii: "["),
                choices.value.count > 2,
                let usageMember = JSONScanner.member("usage", in: members, of: bytes), bytes[usageMember.value.lowerBound] == UInt8(ascii: "{"),
                let usage = try? JSONDecoder().decode(Usage.self, from: Data(bytes[usageMember.value])),
                usage.isPlausible, usage.promptTokens > 0 || usage.completionTokens > 0
            else { return nil }
            return (usage, closing, members.isEmpty)
        }
        guard let scanned else { return nil }
        let step = call.step
        let (record, cost) = fastSettle(call, usage: scanned.usage)
        let extensionObject = Self.extensionObject(
            context: call.context, model: step.model, provider: call.provider, cost: cost, usage: scanned.usage, trace: record.route)
        var out = ByteBuffer()
        let tail = extensionObject.compactJSON()
        out.reserveCapacity(body.readableBytes + tail.utf8.count + 16)
        var head = body.getSlice(at: body.readerIndex, length: scanned.closingBrace) ?? ByteBuffer()
        out.writeBuffer(&head)
        out.writeString(scanned.empty ? "\"switchyard\":" : ",\"switchyard\":")
        out.writeString(tail)
        out.writeString("}")
        return .answer(
            FastAnswer(
                body: out, requestID: call.requestID, model: step.model, provider: call.provider, trace: record.route ?? call.record.route!,
                cache: nil, admission: call.context.admission, costUSD: cost, usageEstimated: scanned.usage.estimated))
    }

    /// Books a successful fast call: health, the attempt, the budget, the request log.
    private func fastSettle(_ call: FastCall, usage: Usage) -> (RequestRecord, Double) {
        let step = call.step
        health.end(step.model.name, outcome: .success(latencyMs: milliseconds(since: call.started), ttftMs: nil, tokens: usage.totalTokens))
        var record = call.record
        record.route?.attempts.append(attempt(step, provider: call.provider, retry: 0, status: 200, started: call.started))
        record.route?.notes.append("fast path")
        let cost = step.model.cost(of: usage, batch: false)
        governor.settle(call.reservation, actualUSD: cost)
        record.provider = call.provider
        record.upstreamModel = step.model.upstream
        record.servedModel = step.model.name
        record.fill(usage: usage, cost: cost)
        record.latencyMs = call.context.elapsedMilliseconds
        requestLog.record(record)
        return (record, cost)
    }

    /// A fast-path call that got no answer (connection refused or reset, timeout, too large): handed
    /// to the full path as its first failed attempt.
    public func fastFailed(_ call: FastCall, reason: String, timedOut: Bool) -> FastDecision {
        let failure = timedOut
            ? SwitchyardError(code: .upstreamTimeout, message: "Provider '\(call.provider)' did not answer in time.", status: 504)
            : SwitchyardError(code: .upstreamUnreachable, message: "Provider '\(call.provider)' could not be reached (\(reason)).", status: 502)
        return fastFailure(call, failure, reason: reason)
    }

    /// Books a failed attempt as the full path would; a client error is answered at once (it is never
    /// retried), anything else goes to the full path with the attempt.
    private func fastFailure(_ call: FastCall, _ failure: SwitchyardError, reason: String) -> FastDecision {
        let step = call.step
        health.end(step.model.name, outcome: failure.isRetryable ? .failure : .neutral)
        governor.settle(call.reservation, actualUSD: 0)
        let attempt = attempt(step, provider: call.provider, retry: 0, status: failure.status, error: failure.message, started: call.started)
        guard failure.isRetryable else {
            var record = call.record
            record.route?.attempts.append(attempt)
            record.route?.notes.append("fast path")
            record.fail(failure, latencyMs: call.context.elapsedMilliseconds)
            requestLog.record(record)
            return .failed(Self.annotate(failure, record: record) as? SwitchyardError ?? failure)
        }
        let token = fastAttempts.put(FastAttempt(deployment: step.model.name, attempt: attempt, error: failure))
        call.context.logger.debug(
            "fast path gave the request to the full pipeline", metadata: ["reason": "\(reason)", "switchyard.request_id": "\(call.requestID)"])
        return .handOff(reason: reason, token: token)
    }

    /// The failed fast attempt a handed-off request carries, once.
    public func takeFastAttempt(_ token: String?) -> FastAttempt? {
        token.flatMap(fastAttempts.take)
    }

    /// The client went away while the fast path waited for the upstream: nothing is held any more.
    public func fastCancelled(_ call: FastCall) {
        health.end(call.step.model.name, outcome: .neutral)
        governor.settle(call.reservation, actualUSD: 0)
        var record = call.record
        record.route?.notes.append("fast path")
        record.fail(CancellationError(), latencyMs: call.context.elapsedMilliseconds)
        requestLog.record(record)
    }

    private func fastCacheHit(
        _ answer: CachedAnswer, plan: RoutePlanner.Plan, request: ChatRequest, context: CallContext, record: RequestRecord
    ) -> FastDecision {
        var record = record
        let model = cacheModel(plan, request: request, answer: answer, record: &record)
        record.route?.notes.append("fast path")
        let id = "chatcmpl-" + context.requestID.dropFirst(4)
        let created = Int(Date().timeIntervalSince1970)
        let usage = answer.response.usage ?? Usage(promptTokens: 0, completionTokens: 0)
        let extensionObject = Self.extensionObject(context: context, model: model, provider: "cache", cost: 0, usage: usage, trace: nil, cache: answer)
        record.fill(usage: usage, cost: 0)
        record.latencyMs = context.elapsedMilliseconds
        requestLog.record(record)
        // The stored bytes with this answer's id, time and extension spliced in; encoded afresh when they do not scan.
        let spliced = answer.encoded.flatMap { Self.spliceCached($0, id: id, created: created, extensionJSON: extensionObject.compactJSON()) }
        guard let encoded = spliced ?? Self.fastEncode(answer.response, id: id, created: created, extension: extensionObject) else {
            return .fullAdmitted("encoding")
        }
        return .answer(
            FastAnswer(
                body: encoded, requestID: context.requestID, model: model, provider: "cache", trace: plan.trace,
                cache: answer.kind.rawValue, admission: context.admission, costUSD: 0, usageEstimated: usage.estimated))
    }

    /// The client's body with one edit, the model's upstream name: the rest goes as the client sent it
    /// (the full path's provider passes unknown fields through too). Re-encoded when the scan finds no
    /// plain `"model": "…"` member.
    ///
    /// A stream always asks for the usage chunk (cost accounting needs it): `"stream_options":
    /// {"include_usage":true}` is added before the body's last brace when the client sent no `stream_options`
    /// (`fastStreamOptions` sends any other `stream_options` to the full path).
    static func fastUpstreamBody(_ body: ByteBuffer, request: ChatRequest, upstreamModel: String) -> ByteBuffer? {
        let quoted = JSONValue.string(upstreamModel).compactJSON()
        let edited = body.withUnsafeReadableBytes { bytes -> ByteBuffer? in
            guard let (members, closing) = JSONScanner.members(bytes), let model = JSONScanner.member("model", in: members, of: bytes),
                bytes[model.value.lowerBound] == UInt8(ascii: "\"")
            else { return nil }
            let addUsage = request.stream && !request.includeUsage
            var out = ByteBuffer()
            out.reserveCapacity(bytes.count + quoted.utf8.count + 40)
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[..<model.value.lowerBound]))
            out.writeString(quoted)
            if addUsage {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[model.value.upperBound..<closing]))
                out.writeString(",\"stream_options\":{\"include_usage\":true}")
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[closing...]))
            } else {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[model.value.upperBound...]))
            }
            return out
        }
        if let edited { return edited }
        var upstream = request
        upstream.model = upstreamModel
        if request.stream { upstream.includeUsage = true }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(upstream)).map { ByteBuffer(bytes: $0) }
    }

    /// True when a streamed request's `stream_options` leave the fast path one edit to make: none sent
    /// (it adds them), or exactly `{"include_usage": true}`. Anything else goes to the full path, which
    /// encodes its own.
    static func fastStreamOptions(_ body: ByteBuffer, request: ChatRequest) -> Bool {
        body.withUnsafeReadableBytes { bytes -> Bool in
            guard let (members, _) = JSONScanner.members(bytes) else { return false }
            guard let options = JSONScanner.member("stream_options", in: members, of: bytes) else { return true }
            let value = UnsafeRawBufferPointer(rebasing: bytes[options.value])
            guard request.includeUsage, let (fields, _) = JSONScanner.members(value) else { return false }
            return fields.count == 1
        }
    }

    /// The relay of a streamed fast call whose upstream answered 2xx with an event stream.
    public func fastStreamBegin(_ call: FastCall) -> FastStream {
        FastStream(call: call, gateway: self)
    }

    /// A streamed fast call that failed before any output reached the client: booked as a failed
    /// attempt, and answered (a client error) or handed to the full path, as `fastFinish` does.
    public func fastStreamFailed(_ call: FastCall, _ failure: SwitchyardError) -> FastDecision {
        fastFailure(call, failure, reason: failure.message)
    }

    /// A cached answer's stored bytes (a top-level object with `id` and `created`, and no `switchyard`) with
    /// `id` and `created` replaced and the extension added; nil when they do not scan that way.
    static func spliceCached(_ encoded: Data, id: String, created: Int, extensionJSON: String) -> ByteBuffer? {
        encoded.withUnsafeBytes { bytes -> ByteBuffer? in
            guard let (members, closing) = JSONScanner.members(bytes), JSONScanner.member("switchyard", in: members, of: bytes) == nil,
                let idMember = JSONScanner.member("id", in: members, of: bytes),
                let createdMember = JSONScanner.member("created", in: members, of: bytes)
            else { return nil }
            let replacements = [(idMember.value, JSONValue.string(id).compactJSON()), (createdMember.value, String(created))]
                .sorted { $0.0.lowerBound < $1.0.lowerBound }
            var out = ByteBuffer()
            out.reserveCapacity(bytes.count + extensionJSON.utf8.count + 64)
            var position = 0
            for (range, text) in replacements {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<range.lowerBound]))
                out.writeString(text)
                position = range.upperBound
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<closing]))
            out.writeString(members.isEmpty ? "\"switchyard\":" : ",\"switchyard\":")
            out.writeString(extensionJSON)
            out.writeString("}")
            return out
        }
    }

    /// A cached answer encoded whole, with this request's id, time and extension.
    static func fastEncode(_ cached: ChatResponse, id: String, created: Int, extension object: JSONValue) -> ByteBuffer? {
        var response = cached
        response.id = id
        response.created = created
        response.switchyard = object
        return fastEncode(response)
    }

    static func fastEncode(_ response: ChatResponse) -> ByteBuffer? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(response) else { return nil }
        return ByteBuffer(bytes: data)
    }
}
