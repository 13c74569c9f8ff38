import ArgumentParser
import Evaluation
import Foundation
import Logging
import SwitchyardCore

/// `switchyard eval calibrate-judge LABELS.jsonl --judge MODEL`: grades human-labelled outputs with
/// the `llm-rubric` judge and reports how often it agrees with the people (Cohen's κ), so a judge
/// is trusted only where it does.
struct EvalCalibrateJudgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-judge",
        abstract: "Compare a judge model's verdicts with human labels (agreement, Cohen's kappa, confusion matrix).",
        discussion: """
            LABELS is JSON Lines: {"output": "...", "rubric": "...", "prompt"?: "...", "label": true|false|"pass"|"fail"|1|0, "id"?: ...}.
            Judge answers are cached like eval answers (--no-cache to ask again).
            """)

    @Argument(help: "The human labels (JSON Lines).")
    var labels: String

    @Option(help: "The judge: a Switchyard model, group or route (promptfoo's openai:chat:NAME works too).")
    var judge: String

    @Option(name: .shortAndLong, help: "Gateway configuration, as for `serve` (default: ./switchyard.yaml, else the running gateway's).")
    var config: String?

    @Option(help: "Ask this running gateway instead of running one in process.")
    var url: String?

    @Option(help: "API key for --url (default: $SWITCHYARD_KEY).")
    var key: String?

    @Option(name: [.customShort("j"), .customLong("max-concurrency")], help: "Judge calls at once.")
    var maxConcurrency = 4

    @Option(help: "Write the per-example verdicts and the statistics here (JSON).")
    var output: String?

    @Flag(help: "Ask the judge again instead of reusing cached verdicts.")
    var noCache = false

    func validate() throws {
        guard (1...256).contains(maxConcurrency) else { throw ValidationError("--max-concurrency must be from 1 to 256.") }
    }

    func run() async throws {
        let examples: [JudgeCalibration.Example]
        do {
            examples = try JudgeCalibration.load(path: labels)
        } catch {
            throw CommandFailure(error.message, .dataError)
        }
        var logger = Logger(label: "switchyard.eval")
        logger.logLevel = .error
        let target = try await EvalTarget.open(config: config, url: url, key: key, logger: logger)
        let model = ProviderID.model(for: judge, known: target.knownModels)
        guard target.knownModels.isEmpty || target.knownModels.contains(model) else {
            await target.close()
            throw CommandFailure("--judge \(judge): '\(model)' is not served by this gateway; it serves: \(target.knownModels.sorted().joined(separator: ", ")).", .dataError)
        }
        var completer = target.completer
        if let cache = try? EvalResultCache(directory: EvalResultCache.defaultDirectory()) {
            completer = CachingCompleter(base: completer, cache: cache, refresh: noCache)
        }
        let report = await JudgeCalibration.run(examples: examples, judge: completer, model: model, concurrency: maxConcurrency)
        await target.close()
        for line in report.text { print(line) }
        if let output {
            do {
                try Data(report.json.jsonString().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw CommandFailure("cannot write \(output): \(error.localizedDescription)")
            }
            print("wrote \(output)")
        }
        if report.calibration.confusion.total == 0 { throw CommandFailure("the judge gave no verdict on any example", .unavailable) }
    }
}
