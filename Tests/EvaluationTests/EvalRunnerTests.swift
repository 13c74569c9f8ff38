import Foundation
import SwitchyardCore
import Synchronization
import Testing

@testable import Evaluation

/// A provider double: answers from a closure and counts its calls and the most it saw at once.
final class CountingCompleter: EvalCompleter {
    let answer: @Sendable (EvalCall) throws -> EvalResponse
    private let state = Mutex((calls: 0, inFlight: 0, peak: 0))
    let delay: Duration

    init(delay: Duration = .zero, answer: @escaping @Sendable (EvalCall) throws -> EvalResponse) {
        self.answer = answer
        self.delay = delay
    }

    var calls: Int { state.withLock { $0.calls } }
    var peak: Int { state.withLock { $0.peak } }

    func complete(_ call: EvalCall) async throws -> EvalResponse {
        state.withLock {
            $0.calls += 1
            $0.inFlight += 1
            $0.peak = max($0.peak, $0.inFlight)
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        if delay > .zero { try? await Task.sleep(for: delay) }
        return try answer(call)
    }
}

@Suite struct EvalRunnerTests {
    static func suite(tests: Int = 3, providers: [String] = ["small", "big"], repeatCount: Int = 1, concurrency: Int = 4) -> EvalSuite {
        EvalSuite(
            prompts: [EvalPrompt(raw: "Q{{n}}")], providers: providers.map { EvalProvider(id: "openai:chat:\($0)", model: $0) },
            tests: (0..<tests).map { EvalTest(vars: ["n": .int(Int64($0))], assertions: [Assertion(type: "contains", value: "big")]) },
            maxConcurrency: concurrency, repeatCount: repeatCount)
    }

    static let echo = CountingCompleter { call in
        EvalResponse(output: "\(call.model) answers \(call.lastUserText)", costUSD: call.model == "big" ? 0.01 : 0.001, latencyMs: 5)
    }

    func cacheFolder() throws -> EvalResultCache {
        try EvalResultCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("eval-cache-\(UUID().uuidString)"))
    }

    @Test func cellsComeBackInTestPromptProviderRepeatOrder() async {
        let completer = CountingCompleter(delay: .milliseconds(2)) { call in EvalResponse(output: call.model + call.lastUserText) }
        let run = await EvalRunner(completer: completer).run(Self.suite(tests: 5, repeatCount: 2))
        #expect(run.results.count == 20)
        #expect(run.results.map(\.testIndex) == (0..<5).flatMap { Array(repeating: $0, count: 4) })
        #expect(run.results.prefix(4).map(\.provider.model) == ["small", "small", "big", "big"])
        #expect(run.results.prefix(4).map(\.repeatIndex) == [0, 1, 0, 1])
        #expect(run.results[5].response?.output == "smallQ1")
    }

    @Test func concurrencyIsBounded() async {
        let completer = CountingCompleter(delay: .milliseconds(20)) { _ in EvalResponse(output: "x") }
        _ = await EvalRunner(completer: completer).run(Self.suite(tests: 12, concurrency: 3))
        #expect(completer.calls == 24)
        #expect(completer.peak <= 3 && completer.peak >= 2)
        let wider = CountingCompleter(delay: .milliseconds(20)) { _ in EvalResponse(output: "x") }
        _ = await EvalRunner(completer: wider, maxConcurrency: 8).run(Self.suite(tests: 12, concurrency: 3))
        #expect(wider.peak > 3)  // the command line's -j overrides evaluateOptions
    }

    @Test func aSecondRunOfTheSameSuiteCallsNoProvider() async throws {
        let cache = try cacheFolder()
        let first = CountingCompleter { call in EvalResponse(output: call.model, costUSD: 0.5, latencyMs: 12) }
        let run1 = await EvalRunner(completer: first, cache: cache).run(Self.suite(repeatCount: 2))
        #expect(first.calls == 12 && run1.providerCalls == 12)
        let second = CountingCompleter { _ in Issue.record("called"); return EvalResponse(output: "") }
        let run2 = await EvalRunner(completer: second, cache: cache).run(Self.suite(repeatCount: 2))
        #expect(second.calls == 0 && run2.providerCalls == 0)
        #expect(run2.results.allSatisfy { $0.response?.cached == true })
        // The cached answer keeps what the call cost and how long it took, so cost and latency verdicts hold.
        #expect(run2.results.map(\.response?.output) == run1.results.map(\.response?.output))
        #expect(run2.results.allSatisfy { $0.response?.costUSD == 0.5 && $0.response?.latencyMs == 12 })
        // A changed suite asks only for what changed; --no-cache asks everything again.
        let third = CountingCompleter { call in EvalResponse(output: call.model) }
        _ = await EvalRunner(completer: third, cache: cache).run(Self.suite(tests: 4, repeatCount: 2))
        #expect(third.calls == 4)
        let fresh = CountingCompleter { call in EvalResponse(output: call.model) }
        _ = await EvalRunner(completer: fresh, cache: cache, refreshCache: true).run(Self.suite(repeatCount: 2))
        #expect(fresh.calls == 12)
    }

    @Test func cacheKeysCoverModelParametersAndMessages() {
        let call = EvalCall(model: "m", messages: [["role": "user", "content": "hi"]], parameters: ["temperature": .double(0)])
        var other = call
        other.parameters["temperature"] = .double(1)
        var renamed = call
        renamed.model = "n"
        let keys = [call, other, renamed].map { EvalResultCache.key($0) } + [EvalResultCache.key(call, sample: 1)]
        #expect(Set(keys).count == 4)
        #expect(EvalResultCache.key(call) == EvalResultCache.key(call))
    }

    @Test func failedCallsAreErrorsAndAreNotCached() async throws {
        let cache = try cacheFolder()
        let failing = CountingCompleter { call in
            if call.model == "big" { throw EvalCallError("HTTP 503: upstream down") }
            return EvalResponse(output: "big")
        }
        let run = await EvalRunner(completer: failing, cache: cache).run(Self.suite(tests: 2))
        #expect(run.errors == 2 && run.successes == 2 && run.failures == 0)
        #expect(run.results.filter { $0.error != nil }.allSatisfy { $0.error!.contains("503") && $0.failureReason == .error })
        let retry = CountingCompleter { _ in EvalResponse(output: "big") }
        _ = await EvalRunner(completer: retry, cache: cache).run(Self.suite(tests: 2))
        #expect(retry.calls == 2)  // only the failed cells are asked again
    }

    @Test func summariesPerProviderSideBySide() async {
        let run = await EvalRunner(completer: Self.echo).run(Self.suite(tests: 4))
        let summaries = run.providerSummaries
        #expect(summaries.map(\.provider.model) == ["small", "big"])
        #expect(summaries[0].passes == 0 && summaries[1].passes == 4)
        #expect(abs(summaries[1].costUSD - 0.04) < 1e-12)
        #expect(summaries[1].latencyP50Ms == 5 && summaries[1].passRate == 1)
    }
}
