import ArgumentParser

@main
struct SwitchyardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A self-hosted compound-AI gateway: one OpenAI- and Anthropic-compatible API over many providers.",
        subcommands: [
            ServeCommand.self, ChatCommand.self, MockCommand.self, ModelsCommand.self, LogsCommand.self, ExplainCommand.self, CacheCommand.self,
            EmbedCommand.self, BenchCommand.self, RouteCommand.self, EvalCommand.self, ToolsCommand.self,
            IngestCommand.self, SearchCommand.self, CollectionsCommand.self,
        ]
    )
}

/// `switchyard bench …`: benchmarks that print figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures.", subcommands: [BenchEmbeddingsCommand.self, BenchRoutingCommand.self, BenchCachePrecisionCommand.self, BenchCacheCommand.self, BenchLearnedRoutingCommand.self, BenchIndexCommand.self, BenchToolsCommand.self])
}
