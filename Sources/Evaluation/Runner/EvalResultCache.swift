import Crypto
import Foundation
import SwitchyardCore

/// Answers already paid for, by (model, parameters, messages): re-running an unchanged suite asks no
/// provider. One small JSON file per answer under `directory/ab/abcdef….json`, written atomically, so
/// concurrent runs and a run killed half-way leave only whole entries.
public final class EvalResultCache: Sendable {
    public let directory: URL

    public init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw EvalSuiteError("cannot create the eval cache folder \(directory.path): \(error.localizedDescription)")
        }
    }

    /// `$SWITCHYARD_EVAL_CACHE`, else `$XDG_CACHE_HOME/switchyard/eval-results`, else `~/.cache/switchyard/eval-results`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let path = environment["SWITCHYARD_EVAL_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("switchyard/eval-results")
    }

    /// The key of a call: SHA-256 over its canonical JSON (sorted keys), plus the repeat index when a
    /// suite asks each cell more than once (each repeat is its own sample, and is cached as one).
    public static func key(_ call: EvalCall, sample: Int = 0) -> String {
        var object: [String: JSONValue] = ["model": .string(call.model), "messages": .array(call.messages), "parameters": .object(call.parameters)]
        if sample > 0 { object["sample"] = .int(Int64(sample)) }
        let digest = SHA256.hash(data: Data(JSONValue.object(object).jsonString().utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    private func file(for key: String) -> URL {
        directory.appendingPathComponent(String(key.prefix(2))).appendingPathComponent("\(key).json")
    }

    public func lookup(_ key: String) -> EvalResponse? {
        guard let data = FileManager.default.contents(atPath: file(for: key).path),
            var response = try? JSONDecoder().decode(EvalResponse.self, from: data)
        else { return nil }
        response.cached = true
        return response
    }

    public func store(_ response: EvalResponse, key: String) {
        let url = file(for: key)
        var stored = response
        stored.cached = false
        guard let data = try? JSONEncoder().encode(stored) else { return }
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? data.write(to: url, options: .atomic)  // a cache that cannot be written only costs a call next time
    }
}

/// A completer that answers from the cache when it can and fills it otherwise. Failed calls are not
/// cached: the next run tries again.
public struct CachingCompleter: EvalCompleter {
    public let base: any EvalCompleter
    public let cache: EvalResultCache
    public let sample: Int
    /// Ask the provider even when an answer is cached (and cache the fresh one).
    public let refresh: Bool

    public init(base: any EvalCompleter, cache: EvalResultCache, sample: Int = 0, refresh: Bool = false) {
        self.base = base
        self.cache = cache
        self.sample = sample
        self.refresh = refresh
    }

    public func complete(_ call: EvalCall) async throws -> EvalResponse {
        let key = EvalResultCache.key(call, sample: sample)
        if !refresh, let hit = cache.lookup(key) { return hit }
        let response = try await base.complete(call)
        cache.store(response, key: key)
        return response
    }
}
