import Foundation
import SwitchyardCore
import Synchronization

/// Runs a suite: every test under every prompt, asked of every provider (`repeat` times), graded by
/// the test's assertions, at most `maxConcurrency` calls at once.
public struct EvalRunner: Sendable {
    public var completer: any EvalCompleter
    /// Answers judge calls; defaults to `completer` (judges go through the same gateway).
    public var judge: (any EvalCompleter)?
    /// The local model for `similar`.
    public var embedder: (any TextEmbedder)?
    /// Nil: every cell calls its provider.
    public var cache: EvalResultCache?
    /// Ask every provider again, replacing cached answers (`--no-cache`).
    public var refreshCache: Bool
    /// The judge when neither the assertion nor the test names one (`--judge`).
    public var defaultJudgeModel: String?
    /// Overrides for `evaluateOptions`.
    public var maxConcurrency: Int?
    public var repeatCount: Int?
    /// Called as each cell finishes (from any task).
    public var cellFinished: (@Sendable (EvalResultRow) -> Void)?

    public init(
        completer: any EvalCompleter, judge: (any EvalCompleter)? = nil, embedder: (any TextEmbedder)? = nil, cache: EvalResultCache? = nil,
        refreshCache: Bool = false, defaultJudgeModel: String? = nil, maxConcurrency: Int? = nil, repeatCount: Int? = nil,
        cellFinished: (@Sendable (EvalResultRow) -> Void)? = nil
    ) {
        self.completer = completer
        self.judge = judge
        self.embedder = embedder
        self.cache = cache
        self.refreshCache = refreshCache
        self.defaultJudgeModel = defaultJudgeModel
        self.maxConcurrency = maxConcurrency
        self.repeatCount = repeatCount
        self.cellFinished = cellFinished
    }

    struct Cell: Sendable {
        var index: Int
        var testIndex: Int
        var promptIndex: Int
        var providerIndex: Int
        var repeatIndex: Int
    }

    /// The cells of `suite`, in test → prompt → provider → repeat order (the order of the results).
    static func cells(of suite: EvalSuite, repeats: Int) -> [Cell] {
        var cells: [Cell] = []
        cells.reserveCapacity(suite.tests.count * suite.prompts.count * suite.providers.count * repeats)
        for test in suite.tests.indices {
            for prompt in suite.prompts.indices {
                for provider in suite.providers.indices {
                    for sample in 0..<repeats {
                        cells.append(Cell(index: cells.count, testIndex: test, promptIndex: prompt, providerIndex: provider, repeatIndex: sample))
                    }
                }
            }
        }
        return cells
    }

    public func run(_ suite: EvalSuite) async -> EvalRun {
        let started = Date()
        let clock = ContinuousClock()
        let start = clock.now
        let repeats = max(1, repeatCount ?? suite.repeatCount)
        let cells = Self.cells(of: suite, repeats: repeats)
        let workers = max(1, min(maxConcurrency ?? suite.maxConcurrency, cells.count))
        let useCache = suite.cache ? cache : nil
        let next = NextIndex()
        var rows = [EvalResultRow?](repeating: nil, count: cells.count)
        await withTaskGroup(of: [(Int, EvalResultRow)].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var done: [(Int, EvalResultRow)] = []
                    while let index = next.take(below: cells.count) {
                        if Task.isCancelled { break }
                        if suite.delayMs > 0, !done.isEmpty { try? await Task.sleep(for: .milliseconds(suite.delayMs)) }
                        let row = await runCell(cells[index], suite: suite, cache: useCache)
                        cellFinished?(row)
                        done.append((index, row))
                    }
                    return done
                }
            }
            for await finished in group {
                for (index, row) in finished { rows[index] = row }
            }
        }
        let elapsed = clock.now - start
        return EvalRun(
            description: suite.description, providers: suite.providers, prompts: suite.prompts, testCount: suite.tests.count,
            results: rows.compactMap { $0 }, startedAt: started,
            durationMs: Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15)
    }

    func runCell(_ cell: Cell, suite: EvalSuite, cache: EvalResultCache?) async -> EvalResultRow {
        let test = suite.tests[cell.testIndex]
        let prompt = suite.prompts[cell.promptIndex]
        let provider = suite.providers[cell.providerIndex]
        let (messages, rendered) = PromptRenderer.render(prompt, vars: test.vars)
        let call = EvalCall(model: provider.model, messages: messages, parameters: provider.parameters)
        var row = EvalResultRow(
            testIndex: cell.testIndex, promptIndex: cell.promptIndex, repeatIndex: cell.repeatIndex, provider: provider, prompt: prompt,
            renderedPrompt: rendered, vars: test.vars, description: test.description, metadata: test.metadata, response: nil, grading: nil,
            assertions: test.assertions.map(\.raw))
        let answerer: any EvalCompleter = cache.map { CachingCompleter(base: completer, cache: $0, sample: cell.repeatIndex, refresh: refreshCache) } ?? completer
        let response: EvalResponse
        do {
            response = try await answerer.complete(call)
        } catch {
            row.error = String(describing: error)
            return row
        }
        row.response = response
        let judgeBase = judge ?? completer
        let judgeCompleter: any EvalCompleter = cache.map { CachingCompleter(base: judgeBase, cache: $0, refresh: refreshCache) } ?? judgeBase
        let context = AssertionContext(
            output: response.output, response: response, vars: test.vars, prompt: call.lastUserText.isEmpty ? rendered : call.lastUserText,
            tools: provider.parameters["tools"], judge: judgeCompleter, judgeModel: test.judge ?? defaultJudgeModel,
            rubricPrompt: test.rubricPrompt, embedder: embedder)
        row.grading = await AssertionGrader.gradeTest(test.assertions, threshold: test.threshold, context: context)
        return row
    }
}

/// Hands out cell indices to the workers.
final class NextIndex: Sendable {
    private let counter = Mutex(0)

    func take(below limit: Int) -> Int? {
        counter.withLock { value in
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
