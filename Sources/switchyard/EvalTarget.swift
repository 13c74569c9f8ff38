import AsyncHTTPClient
import Evaluation
import Foundation
import Gateway
import Logging
import SwitchyardCore

/// Where eval calls go: the gateway in process, or a running one over HTTP; and the names it serves,
/// so a suite naming a model the gateway lacks fails before any call.
struct EvalTarget {
    let completer: any EvalCompleter
    /// Models, groups, routes and experiments the caller may use (empty when a remote gateway would not list them).
    let knownModels: Set<String>
    private let runtime: GatewayRuntime?
    private let client: HTTPClient?
    /// The MCP servers the config names, running while the suite does (in process), as under `serve`.
    private var tools: Task<Void, any Error>?

    static func open(config: String?, url: String?, key: String?, logger: Logger) async throws -> EvalTarget {
        if let url {
            let base = url.trimmingCharacters(in: ["/"])
            let key = (key ?? ProcessInfo.processInfo.environment["SWITCHYARD_KEY"]).flatMap { $0.isEmpty ? nil : $0 }
            var known: Set<String> = []
            if let listing = try? await GatewayClient(url: base, key: key).call(.GET, "/v1/models") {
                known = Set((listing["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            }
            // Workflows are not models in /v1/models, but a suite may name `workflow/NAME`.
            if !known.isEmpty, let listing = try? await GatewayClient(url: base, key: key).call(.GET, "/v1/switchyard/workflows") {
                known.formUnion((listing["data"]?.arrayValue ?? []).compactMap { $0["model"]?.stringValue })
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            return EvalTarget(completer: HTTPEvalCompleter(url: base, key: key, client: client), knownModels: known, runtime: nil, client: client, tools: nil)
        }
        guard let configuration = try ConfigurationFinder.load(config) else {
            throw CommandFailure("No configuration: give --config FILE, put a switchyard.yaml in this folder, start a gateway (`switchyard serve`), or give --url to run against one.", .configuration)
        }
        let runtime = try GatewayRuntime(configuration: configuration, logger: logger)
        let gateway = runtime.gateway
        let caller: Caller
        if let key {
            do {
                caller = try gateway.authenticate(key)
            } catch {
                await runtime.shutdown()
                throw CommandFailure((error as? SwitchyardError)?.message ?? "\(error)", .permission)
            }
        } else {
            // The operator runs the suite in process, with the config's whole gateway; --key narrows it to that key.
            caller = gateway.requiresAuth ? Caller(name: "eval", role: .admin) : .anonymous
        }
        return await finish(runtime, caller: caller)
    }

    private static func finish(_ runtime: GatewayRuntime, caller: Caller) async -> EvalTarget {
        let gateway = runtime.gateway
        // Models may call the gateway's MCP tools (the server-side tool loop): start them as `serve` would.
        let tools = gateway.tools.map { manager in Task { try await manager.run() } }
        let missing = await gateway.tools?.waitUntilReady(timeout: .seconds(15)) ?? [:]
        for (server, reason) in missing.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("warning: MCP server '\(server)' is not ready: \(reason)\n".utf8))
        }
        let names = gateway.availableModels(for: caller).map(\.name) + gateway.availableGroups(for: caller).map(\.name)
            + gateway.availableRoutes(for: caller).map(\.name) + gateway.availableExperiments(for: caller).map(\.name)
            + gateway.availableWorkflows(for: caller).map { ConfigurationLoader.workflowModelPrefix + $0.name }
        return EvalTarget(
            completer: GatewayEvalCompleter(gateway: gateway, caller: caller), knownModels: Set(names), runtime: runtime, client: nil, tools: tools)
    }

    /// Every provider names something the gateway serves (when it said what it serves).
    func check(_ suite: EvalSuite, file: String) throws {
        guard !knownModels.isEmpty else { return }
        for (index, provider) in suite.providers.enumerated() where !knownModels.contains(provider.model) {
            let mapped = provider.model == provider.id ? "" : " (read as the Switchyard model '\(provider.model)')"
            throw CommandFailure(
                "\(file): providers[\(index)]: '\(provider.id)'\(mapped) is not served by this gateway; it serves: \(knownModels.sorted().joined(separator: ", ")).",
                .dataError)
        }
    }

    func close() async {
        tools?.cancel()
        _ = await tools?.result
        await runtime?.shutdown()
        try? await client?.shutdown()
    }
}
