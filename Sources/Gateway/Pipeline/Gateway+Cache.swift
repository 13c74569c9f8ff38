import Caching
import Foundation
import Logging
import SwitchyardCore

extension CacheLookup {
    /// The value of the `x-switchyard-cache` header.
    var label: String {
        switch self {
        case .hit(let answer): return answer.kind.rawValue
        case .miss: return "miss"
        case .bypass: return "bypass"
        }
    }

    /// The value of the `x-switchyard-cache-verify` header: `passed` on a verified semantic hit,
    /// `rejected:<check>` on a miss whose nearest candidate above the threshold the verifier refused.
    var verification: String? {
        switch self {
        case .hit(let answer): return answer.verified ? "passed" : nil
        case .miss(let fill): return fill.rejection.map { "rejected:" + $0.rawValue }
        case .bypass: return nil
        }
    }

    var fill: CacheFill? {
        switch self {
        case .hit: return nil
        case .miss(let fill): return fill
        case .bypass(let fill): return fill
        }
    }
}

extension Gateway {
    /// Consults the cache when the requested model or route has a policy. Namespaced by caller, so
    /// one tenant never sees another's answers.
    func cacheLookup(_ request: ChatRequest, context: CallContext) async throws -> CacheLookup? {
        guard let cache, let policy = configuration.cache.policy(for: request.model) else { return nil }
        let directive = try Self.cacheDirective(header: context.cacheHeader, body: request.switchyard?["cache"])
        let result = await cache.lookup(request, namespace: context.caller.id, policy: policy, directive: directive)
        if case .miss(let fill) = result, let rejection = fill.rejection {
            context.logger.debug(
                "Semantic cache candidate turned down by the verifier",
                metadata: [
                    "switchyard.cache.verify": "rejected:\(rejection.rawValue)",
                    "switchyard.cache.similarity": "\(fill.rejectedSimilarity ?? 0)",
                ])
        }
        if directive == .onlyIfCached, case .hit = result {} else if directive == .onlyIfCached {
            throw SwitchyardError(
                code: .upstreamTimeout, message: "No cached answer for this request (only-if-cached).", status: 504)
        }
        return result
    }

    static func cacheDirective(header: String?, body: JSONValue?) throws -> CacheDirective {
        let text = header ?? body?.stringValue
        guard let text else {
            if let body, body != .null {
                throw SwitchyardError.invalidRequest(
                    "switchyard.cache must be one of no-cache, no-store, only-if-cached.", param: "switchyard.cache")
            }
            return .normal
        }
        guard let directive = CacheDirective(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw SwitchyardError.invalidRequest(
                "Cache directive '\(text)' is not one of no-cache, no-store, only-if-cached.",
                param: header != nil ? "x-switchyard-cache" : "switchyard.cache")
        }
        return directive
    }

    /// A cached answer as the chunks of a stream: role, text in pieces, tool calls, finish, usage.
    static func replay(_ response: ChatResponse, id: String) -> [ChatChunk] {
        let created = Int(Date().timeIntervalSince1970)
        let model = response.model
        func chunk(_ delta: ChatChunk.Delta, finish: FinishReason? = nil) -> ChatChunk {
            ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta, finishReason: finish)])
        }
        var chunks = [chunk(.init(role: .assistant, content: ""))]
        let message = response.message
        var text = Substring(message?.text ?? "")
        while !text.isEmpty {
            var end = text.index(text.startIndex, offsetBy: min(24, text.count))
            if end < text.endIndex, let space = text[end...].firstIndex(of: " ") { end = space }
            chunks.append(chunk(.init(content: String(text[..<end]))))
            text = text[end...]
        }
        for (index, call) in (message?.toolCalls ?? []).enumerated() {
            chunks.append(
                chunk(.init(toolCalls: [ToolCallDelta(index: index, id: call.id, type: "function", function: .init(name: call.function.name, arguments: call.function.arguments))])))
        }
        chunks.append(chunk(.init(), finish: response.choices.first?.finishReason ?? .stop))
        chunks.append(ChatChunk(id: id, created: created, model: model, choices: [], usage: response.usage))
        return chunks
    }
}
