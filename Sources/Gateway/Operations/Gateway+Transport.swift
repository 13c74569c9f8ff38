import Providers

/// The HTTP clients a `Gateway` calls upstreams through (`Gateway.makeUpstreamClients()`), named
/// here so that callers never import the transport's modules.
public typealias UpstreamClients = Providers.UpstreamClients

/// What prewarming one provider's connections did (`Gateway.prewarmConnections`).
public typealias PrewarmOutcome = Providers.PrewarmOutcome

/// One provider's upstream calls in flight and connection waits (`Gateway.upstreamLoads()`).
public typealias UpstreamLoadSnapshot = Providers.UpstreamLoad.Snapshot
