import Logging
import Providers

extension Gateway {
    /// Opens every provider's `prewarm_connections` ahead of traffic, the providers at once, so the first
    /// requests do not pay connect (and TLS) time. One line per provider says how it went; a failure never
    /// stops anything (the connections are then opened by the first requests, as without prewarming).
    ///
    /// - Parameter except: providers whose connections the fast path's pools open instead (`fastPrewarms`).
    @discardableResult
    public func prewarmConnections(logger: Logger, except: Set<String> = []) async -> [PrewarmOutcome] {
        let prewarming = configuration.providers.filter { $0.prewarmConnections > 0 && !except.contains($0.name) }
            .compactMap { providers[$0.name] as? any ConnectionPrewarming }
        guard !prewarming.isEmpty else { return [] }
        let outcomes = await withTaskGroup(of: PrewarmOutcome.self) { group in
            for provider in prewarming { group.addTask { await provider.prewarm() } }
            var outcomes: [PrewarmOutcome] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.provider < $1.provider }
        }
        for outcome in outcomes {
            let metadata: Logger.Metadata = ["switchyard.provider": .string(outcome.provider)]
            if let failure = outcome.failure {
                logger.warning(
                    "provider '\(outcome.provider)': prewarm_connections opened \(outcome.answered) of \(outcome.requested) connections (\(failure)); the first requests open the rest",
                    metadata: metadata)
            } else {
                logger.info("provider '\(outcome.provider)': \(outcome.answered) connections opened ahead of traffic", metadata: metadata)
            }
        }
        return outcomes
    }

    /// Upstream calls in flight and connection waits of each configured provider (0 for one not called yet).
    public func upstreamLoads() -> [UpstreamLoadSnapshot] {
        let seen = Dictionary(upstreamClients.loads().map { ($0.provider, $0) }, uniquingKeysWith: { first, _ in first })
        return configuration.providers.map { provider in
            seen[provider.name] ?? UpstreamLoadSnapshot(provider: provider.name, inFlight: 0, waits: 0, connections: 0)
        }
    }
}
