import ArgumentParser
import AsyncHTTPClient
import Embeddings
import Evaluation
import Foundation
import Gateway
import Logging
import SwitchyardCore

/// `switchyard eval run SUITE.yaml`: a promptfoo-format suite across models, routes and groups,
/// through the gateway (in process, or a running one with `--url`), graded, summarised side by side,
/// and written as promptfoo's results JSON, CSV or a self-contained HTML report.
struct EvalRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a promptfoo-format eval suite through the gateway (exit 100 when a test fails).",
        discussion: """
            In process (the default) the suite runs through the gateway the config describes, as its operator; \
            with --url it goes to a running gateway with --key's permissions. Answers are cached by \
            (model, parameters, messages): re-running an unchanged suite calls no provider (--no-cache to ask again).
            Exit status: 0 when every test passed, 100 when any failed or errored, other codes for errors.
            """)

    @Argument(help: "The suite (promptfoo's configuration format, YAML or JSON).")
    var suite: String

    @Option(name: .shortAndLong, help: "Gateway configuration, as for `serve` (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Run against this running gateway instead of in process (e.g. http://127.0.0.1:4000).")
    var url: String?

    @Option(help: "API key for --url (default: $SWITCHYARD_KEY); in process, run as this key instead of as the operator.")
    var key: String?

    @Option(name: .shortAndLong, help: "Write results here: .json (promptfoo's shape), .jsonl, .csv or .html. Repeatable.")
    var output: [String] = []

    @Option(name: [.customShort("j"), .customLong("max-concurrency")], help: "Calls at once (default: evaluateOptions.maxConcurrency, else 4).")
    var maxConcurrency: Int?

    @Option(help: "Ask each cell this many times (default: evaluateOptions.repeat, else 1).")
    var `repeat`: Int?

    @Option(help: "Judge model for llm-rubric and model-graded-closedqa when the suite names none.")
    var judge: String?

    @Flag(help: "Ask every provider again instead of reusing cached answers (fresh answers are still cached).")
    var noCache = false

    @Option(name: .customLong("cache-dir"), help: "Where answers are cached (default: $SWITCHYARD_EVAL_CACHE or ~/.cache/switchyard/eval-results).")
    var cacheDirectory: String?

    @Option(name: .customLong("model-dir"), help: "Local embedding model folder, for `similar` (default: $SWITCHYARD_MODEL_DIR or the cache).")
    var modelDirectory: String?

    @Flag(help: "No progress bar.")
    var noProgress = false

    @Flag(help: "Upload the report to the gateway after the run (--url, else $SWITCHYARD_URL or the running gateway; needs an admin key).")
    var publish = false

    func validate() throws {
        if let maxConcurrency, !(1...256).contains(maxConcurrency) { throw ValidationError("--max-concurrency must be from 1 to 256.") }
        if let count = `repeat`, !(1...1_000).contains(count) { throw ValidationError("--repeat must be from 1 to 1000.") }
        for path in output where EvalOutputFormat(path: path) == nil {
            throw ValidationError("--output \(path): the file name must end in .json, .jsonl, .csv or .html.")
        }
    }

    func run() async throws {
        // The suite first: a broken one fails before a gateway (and its MCP servers) starts.
        var loaded: EvalSuite
        do {
            loaded = try EvalSuite.load(path: suite)
        } catch let error as EvalSuiteError {
            throw CommandFailure(error.message, .dataError)
        }
        var logger = Logger(label: "switchyard.eval")
        logger.logLevel = .error
        let target = try await EvalTarget.open(config: config, url: url, key: key, logger: logger)
        // A provider id that is itself a name the gateway serves (`vendor:thing`) keeps it whole.
        for index in loaded.providers.indices where target.knownModels.contains(loaded.providers[index].id) {
            loaded.providers[index].model = loaded.providers[index].id
        }
        do {
            try await run(loaded, on: target)
        } catch {
            await target.close()
            throw error
        }
        await target.close()
    }

    private func run(_ loaded: EvalSuite, on target: EvalTarget) async throws {
        if !loaded.ignoredKeys.isEmpty {
            FileHandle.standardError.write(Data("note: not used by switchyard: \(loaded.ignoredKeys.joined(separator: ", "))\n".utf8))
        }
        try target.check(loaded, file: suite)
        let outputs = output.isEmpty ? loaded.outputPaths : output
        for path in outputs where EvalOutputFormat(path: path) == nil {
            throw CommandFailure("outputPath \(path): the file name must end in .json, .jsonl, .csv or .html.", .dataError)
        }
        let cache: EvalResultCache?
        do {
            cache = try EvalResultCache(directory: cacheDirectory.map { URL(fileURLWithPath: $0) } ?? EvalResultCache.defaultDirectory())
        } catch let error as EvalSuiteError {
            throw CommandFailure(error.message, .configuration)
        }
        let embedder = loaded.tests.contains { $0.assertions.contains { $0.type == "similar" } }
            ? try? MiniLMEmbedder.load(modelDirectory: modelDirectory) : nil
        let cells = loaded.tests.count * loaded.prompts.count * loaded.providers.count * (`repeat` ?? loaded.repeatCount)
        let progress = noProgress ? nil : EvalProgress(total: cells)
        var runner = EvalRunner(completer: target.completer, embedder: embedder, cache: cache, refreshCache: noCache)
        runner.defaultJudgeModel = judge.map { ProviderID.model(for: $0, known: target.knownModels) }
        runner.maxConcurrency = maxConcurrency
        runner.repeatCount = `repeat`
        if let progress {
            runner.cellFinished = { row in progress.cellFinished(row) }
        }
        let result = await runner.run(loaded)
        progress?.finish()
        print(EvalReport.terminalSummary(result, color: isatty(STDOUT_FILENO) != 0))
        for path in outputs {
            try EvalOutputFormat(path: path)!.write(result, to: path)
            print("wrote \(path)")
        }
        if publish {
            let report = Data(EvalReport.json(result).jsonString().utf8)
            try await EvalPublisher(client: GatewayClient(url: RunningGateways.url(url), key: key)).publish(report)
        }
        if result.successes < result.results.count { throw ExitCode(100) }
    }
}

/// The files `--output` writes, by extension.
enum EvalOutputFormat {
    case json, jsonLines, csv, html

    init?(path: String) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "json": self = .json
        case "jsonl": self = .jsonLines
        case "csv": self = .csv
        case "html", "htm": self = .html
        default: return nil
        }
    }

    func write(_ run: EvalRun, to path: String) throws {
        let text: String
        switch self {
        case .json: text = EvalReport.json(run).jsonString()
        case .jsonLines:
            text = (EvalReport.json(run)["results"]?["results"]?.arrayValue ?? []).map { $0.jsonString() + "\n" }.joined()
        case .csv: text = EvalReport.csv(run)
        case .html: text = EvalReport.html(run)
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)", .failure)
        }
    }
}
