import ArgumentParser
import Foundation
import Gateway
import SwitchyardCore

/// `switchyard bench governance`: what admission costs per request in the process (no network):
/// authentication, rate limits and a budget's reserve-and-settle, against a gateway without keys.
struct BenchGovernanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "governance",
        abstract: "Time admission per request: no auth, a config key, a virtual key with team, budgets, rpm and tpm.")

    @Option(help: "Admissions per scenario.")
    var iterations = 200_000

    static let models = """
        storage: {sqlite: ":memory:"}
        providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:9/v1"}]
        models:
          - {name: m1, provider: p, price: {input: 0.15, output: 0.6}, context_window: 128000}
        """

    func run() async throws {
        let request = ChatRequest(model: "m1", messages: [
            .system("You are a concise assistant for a benchmark harness."),
            .user("Summarize in one sentence why an API gateway in front of several LLM providers can help a small team with routing, retries, budgets and caching."),
        ], maxTokens: 64)
        let open = Gateway(configuration: try ConfigurationLoader.parse(Self.models, source: "<bench>"), requestLog: RequestLog(store: nil))
        let keyed = Gateway(
            configuration: try ConfigurationLoader.parse(Self.models + "\nauth: {keys: [sk-bench-plain-0123456789]}", source: "<bench>"),
            requestLog: RequestLog(store: nil))
        let governed = Gateway(
            configuration: try ConfigurationLoader.parse(
                Self.models + "\nauth: {keys: [{key: sk-bench-admin-0123456789, name: admin, role: admin}]}", source: "<bench>"),
            requestLog: RequestLog(store: nil))
        let admin = try governed.authenticate("sk-bench-admin-0123456789")
        let limits = (budget: Budget(usd: 1e9, period: .month, mode: .hard), rpm: 1_000_000_000, tpm: 1_000_000_000)
        _ = try await governed.createTeam(StoredTeam(name: "bench", budget: limits.budget, rpm: limits.rpm, tpm: limits.tpm), caller: admin)
        var template = Gateway.KeyRequest(name: "bench-key")
        template.team = "bench"
        template.budget = limits.budget
        template.rpm = limits.rpm
        template.tpm = limits.tpm
        template.tags = ["project": "bench"]
        let (_, secret) = try await governed.createKey(template, caller: admin)

        let scenarios: [(String, Gateway, String?)] = [
            ("no auth", open, nil),
            ("config key (auth only)", keyed, "sk-bench-plain-0123456789"),
            ("virtual key: team, 2 budgets, rpm+tpm", governed, secret),
        ]
        print("admission per request, \(iterations) each (authenticate, rate limits, budget reserve + settle; no network)")
        print("scenario                                   p50 µs   p99 µs   mean µs")
        for (label, gateway, key) in scenarios {
            for _ in 0..<10_000 { try await gateway.admitAndSettle(request, presentedKey: key, costUSD: 0.00005) }
            var samples: [Double] = []
            samples.reserveCapacity(iterations)
            let clock = ContinuousClock()
            var progress = BenchProgress(label, total: iterations, unit: "admissions")
            for _ in 0..<iterations {
                let started = clock.now
                try await gateway.admitAndSettle(request, presentedKey: key, costUSD: 0.00005)
                let elapsed = clock.now - started
                samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                progress.tick()
            }
            progress.finish()
            samples.sort()
            let mean = samples.reduce(0, +) / Double(samples.count)
            print(label.padding(42), String(format: "%7.2f  %7.2f  %7.2f", samples[samples.count / 2], samples[samples.count * 99 / 100], mean))
        }
    }
}
