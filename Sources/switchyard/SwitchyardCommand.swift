import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

@main
enum SwitchyardMain {
    static func main() {
        // `serve` runs Swift Concurrency on NIO's event loops: a request then stays on the thread its
        // connection lives on instead of hopping to the cooperative pool and back. Measured with
        // ../shared/bench (same binary, alternating runs): 2-6 context switches per request instead of
        // 9-10 (1 instead of 3 for cache hits) and 40-70 % more requests/s at 32 connections; latency at
        // one connection unchanged within this machine's noise.
        // SWITCHYARD_EXECUTOR=swift keeps Swift's default pool. It must be installed before any task
        // starts, so it is decided here, before the command line is parsed.
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "serve", ProcessInfo.processInfo.environment["SWITCHYARD_EXECUTOR"] != "swift" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        Task {
            exit(await SwitchyardCommand.run(Array(CommandLine.arguments.dropFirst())))
        }
        dispatchMain()
    }
}

struct SwitchyardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A self-hosted compound-AI gateway: one OpenAI- and Anthropic-compatible API over many providers.",
        subcommands: [
            ServeCommand.self, ChatCommand.self, MockCommand.self, ModelsCommand.self, LogsCommand.self, ExplainCommand.self, CacheCommand.self,
            EmbedCommand.self, BenchCommand.self, RouteCommand.self, EvalCommand.self, ToolsCommand.self,
            IngestCommand.self, SearchCommand.self, CollectionsCommand.self, KeysCommand.self, TeamsCommand.self, SpendCommand.self,
            AuditCommand.self, DoctorCommand.self, GuardCommand.self, ExperimentsCommand.self, WorkflowCommand.self, MigrateCommand.self,
        ]
    )
}

/// `switchyard bench …`: benchmarks that print figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures.", subcommands: [BenchEmbeddingsCommand.self, BenchRoutingCommand.self, BenchCachePrecisionCommand.self, BenchCacheCommand.self, BenchLearnedRoutingCommand.self, BenchIndexCommand.self, BenchToolsCommand.self, BenchGovernanceCommand.self, BenchGuardCommand.self, BenchWorkflowCommand.self, BenchTracingCommand.self, BenchStreamsCommand.self])
}
