import Foundation
import Gateway
import Logging
import Storage
import SwitchyardCore
import SwitchyardTesting

extension BenchWorkflowCommand {
    /// A one-step workflow through an in-process gateway against the same chat completion made directly, both
    /// answered by the mock upstream over loopback HTTP, interleaved call by call. The difference of the medians is
    /// what a step costs beyond its model call: recording the run, the checkpoint, the finish, the answer's assembly.
    func benchGateway(databasePath: String) async throws {
        var logger = Logger(label: "switchyard.bench")
        logger.logLevel = .error
        let mock = try await MockUpstream.start(MockUpstreamConfiguration(), logger: logger)
        do {
            try await measureGateway(mockURL: mock.baseURL, databasePath: databasePath, logger: logger)
        } catch {
            await mock.stop()
            throw error
        }
        await mock.stop()
    }

    private func measureGateway(mockURL: String, databasePath: String, logger: Logger) async throws {
        let yaml = """
            storage: {sqlite: ":memory:"}
            providers: [{name: mock, kind: openai, base_url: "\(mockURL)/v1"}]
            models:
              - {name: bench-model, provider: mock, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6}}
            workflows:
              - name: one
                steps:
                  - {id: answer, llm: {model: bench-model, prompt: "{{input}}"}}
            """
        let configuration = try ConfigurationLoader.parse(yaml, source: "<bench workflow>")
        let inMemory = Gateway(configuration: configuration, requestLog: RequestLog(store: nil), logger: logger)
        let sqlite = Gateway(
            configuration: configuration, requestLog: RequestLog(store: nil), workflowPersistence: try WorkflowRunStore(path: databasePath),
            logger: logger)
        let question = "Why is the sky blue? Answer in one sentence."
        let direct = ChatRequest(model: "bench-model", messages: [.user(question)])
        let workflow = ChatRequest(model: "workflow/one", messages: [.user(question)])

        func directCall() async throws -> Double {
            let started = ContinuousClock.now
            _ = try await inMemory.complete(direct, context: CallContext(logger: logger))
            return (ContinuousClock.now - started).microseconds
        }
        func workflowCall(_ gateway: Gateway) async throws -> Double {
            let started = ContinuousClock.now
            let context = CallContext(logger: logger)
            let prepared = try await gateway.prepareWorkflowCompletion(workflow, context: context)
            let completion = try await gateway.completeWorkflow(prepared, request: workflow, context: context)
            guard completion.response.message?.text.isEmpty == false else {
                throw CommandFailure("the benchmark workflow answered nothing (run \(completion.runID))", .software)
            }
            return (ContinuousClock.now - started).microseconds
        }

        for _ in 0..<min(50, gatewayCalls) {  // warm-up: connections to the mock, first allocations
            _ = try await directCall()
            _ = try await workflowCall(inMemory)
            _ = try await workflowCall(sqlite)
        }
        var samples: [(label: String, times: [Double])] = [("direct chat completion", []), ("workflow/one, in-memory store", []), ("workflow/one, SQLite store", [])]
        var progress = BenchProgress("through the gateway", total: gatewayCalls * 3, unit: "calls")
        for _ in 0..<gatewayCalls {
            samples[0].times.append(try await directCall())
            samples[1].times.append(try await workflowCall(inMemory))
            samples[2].times.append(try await workflowCall(sqlite))
            progress.tick(3)
        }
        progress.finish()
        print("through the gateway (in-process, mock upstream over loopback HTTP): a one-step workflow vs the same chat completion, \(gatewayCalls) each, interleaved")
        print("".padding(36) + "p50 µs".padding(12) + "p99 µs")
        for (label, times) in samples {
            print(label.padding(36) + String(format: "%.1f", times.percentile(50)).padding(12) + String(format: "%.1f", times.percentile(99)))
        }
        let base = samples[0].times.percentile(50)
        print(String(format: "a step's overhead beyond its model call (p50 difference): in-memory %.1f µs, SQLite %.1f µs",
                     samples[1].times.percentile(50) - base, samples[2].times.percentile(50) - base))
    }
}
