import Providers

/// The HTTP clients a `Gateway` calls upstreams through (`Gateway.makeUpstreamClients()`), named
/// here so that callers never import the transport's modules.
public typealias UpstreamClients = Providers.UpstreamClients
