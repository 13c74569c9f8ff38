import ArgumentParser
import Foundation
import Gateway
import SwitchyardCore
import Tools

/// `switchyard bench tools`: latency of MCP tool calls through the tool manager, several tools side
/// by side in one run (e.g. the same tool over stdio and over Streamable HTTP with JSON or SSE answers).
struct BenchToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools", abstract: "Time MCP tool calls, side by side (configure the servers in --config).")

    @OptionGroup var options: ToolsOptions

    @Option(name: .customLong("tool"), help: "An exposed tool name; repeat to compare several.")
    var tools: [String]

    @Option(help: "Arguments for every call, as a JSON object.")
    var arguments = "{}"

    @Option(name: .shortAndLong, help: "Calls per tool (after 10 warm-up calls).")
    var iterations = 200

    @Option(help: "Calls in flight at once.")
    var concurrency = 1

    func run() async throws {
        guard let parsed = JSONValue.parse(arguments), parsed.objectValue != nil else {
            throw ValidationError("--arguments must be a JSON object.")
        }
        let (tools, iterations, concurrency) = (self.tools, max(1, self.iterations), max(1, self.concurrency))
        try await options.withGateway { gateway in
            guard let manager = gateway.tools else { throw CommandFailure("The configuration has no MCP servers.", .configuration) }
            print("tool calls: \(iterations) per tool, concurrency \(concurrency), arguments \(parsed.jsonString())")
            print("tool".padding(toLength: 28, withPad: " ", startingAt: 0) + "   p50 ms   p95 ms   mean ms   calls/s")
            for tool in tools {
                for _ in 0..<10 { _ = try await manager.call(tool, arguments: parsed) }
                // Workers share one progress (thread-safe); each tells it every few calls, after its clock is read.
                let progress = TaskProgress(tool, total: iterations, unit: "calls")
                let every = max(1, iterations / concurrency / 50)
                let started = ContinuousClock.now
                let samples = try await withThrowingTaskGroup(of: [Double].self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var times: [Double] = []
                            for _ in stride(from: worker, to: iterations, by: concurrency) {
                                let begin = ContinuousClock.now
                                let result = try await manager.call(tool, arguments: parsed)
                                if result.isError { throw CommandFailure("\(tool) reported an error: \(result.text)") }
                                let elapsed = ContinuousClock.now - begin
                                times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                                if times.count % every == 0 { progress.advance(by: every) }
                            }
                            progress.advance(by: times.count % every)
                            return times
                        }
                    }
                    var all: [Double] = []
                    for try await times in group { all += times }
                    return all.sorted()
                }
                let wall = ContinuousClock.now - started
                progress.finish()
                let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
                let p50 = samples[samples.count / 2]
                let p95 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.95))]
                let mean = samples.reduce(0, +) / Double(samples.count)
                print(
                    tool.padding(toLength: 28, withPad: " ", startingAt: 0)
                        + String(format: " %8.2f %8.2f %9.2f %9.0f", p50, p95, mean, Double(samples.count) / seconds))
            }
        }
    }
}
