import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// `switchyard cache stats|clear`: the response cache of a running gateway.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Inspect or clear the response cache of a running gateway.",
        subcommands: [Stats.self, Clear.self], defaultSubcommand: Stats.self)

    struct Connection: ParsableArguments {
        @Option(help: "Gateway base URL.")
        var url: String = ProcessInfo.processInfo.environment["SWITCHYARD_URL"] ?? "http://127.0.0.1:4000"

        @Option(help: "API key (default: $SWITCHYARD_KEY).")
        var key: String?

        func call(_ method: HTTPMethod, _ path: String) async throws -> JSONValue {
            var request = HTTPClientRequest(url: url.trimmingCharacters(in: ["/"]) + path)
            request.method = method
            if let key = key ?? ProcessInfo.processInfo.environment["SWITCHYARD_KEY"], !key.isEmpty {
                request.headers.add(name: "authorization", value: "Bearer \(key)")
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 1 << 20)
                try? await client.shutdown()
                let json = JSONValue.parse(Data(body.readableBytesView)) ?? .null
                guard response.status.code < 300 else {
                    throw ValidationError("HTTP \(response.status.code): \(json["error"]?["message"]?.stringValue ?? String(buffer: body))")
                }
                return json
            } catch let error as ValidationError {
                throw error
            } catch {
                try? await client.shutdown()
                throw ValidationError("Cannot reach the gateway at \(url): \(error). Is `switchyard serve` running?")
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Entries, bytes, hit rates, tokens and dollars saved.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let stats = try await connection.call(.GET, "/v1/switchyard/cache/stats")
            for key in ["entries", "semantic_entries", "bytes", "exact_hits", "semantic_hits", "misses", "exact_hit_rate", "semantic_hit_rate", "evictions", "tokens_saved", "dollars_saved"] {
                print("\(key.padding(18)) \(stats[key]?.jsonString() ?? "-")")
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove cached answers (all, or one namespace = one key's tenant).")
        @OptionGroup var connection: Connection
        @Option(help: "Only this namespace: an API key's name (or its id, key_…).")
        var namespace: String?

        func run() async throws {
            let query = namespace.map { "?namespace=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
            let result = try await connection.call(.DELETE, "/v1/switchyard/cache" + query)
            print("removed \(result["removed"]?.intValue ?? 0) entries")
        }
    }
}
