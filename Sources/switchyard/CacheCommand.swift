import ArgumentParser
import Foundation
import NIOHTTP1
import SwitchyardCore

/// `switchyard cache stats|clear`: the response cache of a running gateway.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Inspect or clear the response cache of a running gateway.",
        subcommands: [Stats.self, Clear.self], defaultSubcommand: Stats.self)

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Entries, bytes, hit rates, tokens and dollars saved.")
        @OptionGroup var connection: GatewayConnection

        func run() async throws {
            let stats = try await connection.client.call(.GET, "/v1/switchyard/cache/stats")
            for key in ["entries", "semantic_entries", "bytes", "exact_hits", "semantic_hits", "misses", "exact_hit_rate", "semantic_hit_rate", "evictions", "tokens_saved", "dollars_saved"] {
                print("\(key.padding(18)) \(stats[key]?.jsonString() ?? "-")")
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove cached answers (all, or one namespace = one key's tenant).")
        @OptionGroup var connection: GatewayConnection
        @Option(help: "Only this namespace: an API key's name (or its id, key_…).")
        var namespace: String?

        func run() async throws {
            let query = namespace.map { "?namespace=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
            let result = try await connection.client.call(.DELETE, "/v1/switchyard/cache" + query)
            print("removed \(result["removed"]?.intValue ?? 0) entries")
        }
    }
}
