import Foundation
import SwitchyardCore

extension EvalSuite {
    /// Reads a promptfoo configuration file. `file://` paths are relative to the file's folder.
    /// `knownModels` (when given) lets a provider id that is itself a Switchyard name stay as written.
    public static func load(path: String, knownModels: Set<String> = []) throws -> EvalSuite {
        let url = URL(fileURLWithPath: path)
        let text = try SuiteFiles.read(url, what: "the suite")
        return try parse(text, file: path, baseDirectory: url.deletingLastPathComponent(), knownModels: knownModels)
    }

    public static func parse(_ text: String, file: String, baseDirectory: URL, knownModels: Set<String> = []) throws -> EvalSuite {
        let document = try YAMLDocument(text: text, file: file)
        guard let root = document.root.objectValue else {
            throw EvalSuiteError("\(file): a suite is a mapping with `prompts`, `providers` and `tests`.")
        }
        let reader = SuiteReader(document: document, files: SuiteFiles(base: baseDirectory))
        var ignored: [String] = []
        let used: Set<String> = [
            "description", "prompts", "providers", "targets", "tests", "defaultTest", "evaluateOptions", "outputPath", "scenarios",
        ]
        ignored += root.keys.filter { !used.contains($0) }.sorted()
        if root["scenarios"] != nil { throw reader.fail("scenarios", "scenarios are not supported; list the tests under `tests`.") }

        let description = try root["description"].map { try reader.string($0, "description") }
        let prompts = try reader.prompts(root["prompts"])
        guard let providerList = root["providers"] ?? root["targets"] else {
            throw reader.fail("", "needs `providers`: the Switchyard models, groups or routes to ask (e.g. `providers: [cheap-model, openai:chat:gpt-4o-mini]`).")
        }
        let providers = try reader.providers(providerList, knownModels: knownModels, ignored: &ignored)
        let defaults = try root["defaultTest"].map { try reader.test($0, path: "defaultTest") } ?? RawTest()
        let tests = try reader.tests(root["tests"], defaults: defaults)

        var suite = EvalSuite(description: description, prompts: prompts, providers: providers, tests: tests, ignoredKeys: ignored)
        if let options = root["evaluateOptions"] {
            guard let object = options.objectValue else { throw reader.fail("evaluateOptions", "must be a mapping.") }
            if let value = object["maxConcurrency"] { suite.maxConcurrency = try reader.integer(value, "evaluateOptions.maxConcurrency", in: 1...256) }
            if let value = object["repeat"] { suite.repeatCount = try reader.integer(value, "evaluateOptions.repeat", in: 1...1_000) }
            if let value = object["delay"] { suite.delayMs = try reader.integer(value, "evaluateOptions.delay", in: 0...600_000) }
            if let value = object["cache"] {
                guard let flag = value.boolValue else { throw reader.fail("evaluateOptions.cache", "must be true or false.") }
                suite.cache = flag
            }
            suite.ignoredKeys += object.keys.filter { !["maxConcurrency", "repeat", "delay", "cache"].contains($0) }.sorted().map { "evaluateOptions.\($0)" }
        }
        switch root["outputPath"] {
        case nil, .null?: break
        case .string(let path)?: suite.outputPaths = [path]
        case .array(let paths)?: suite.outputPaths = try paths.enumerated().map { try reader.string($1, "outputPath[\($0)]") }
        default: throw reader.fail("outputPath", "must be a file name or a list of them.")
        }
        guard suite.cellCount <= maximumCells else {
            throw EvalSuiteError(
                "\(file): \(suite.tests.count) tests × \(prompts.count) prompts × \(providers.count) providers × \(suite.repeatCount) repeats is more than \(maximumCells) cells; split the suite.")
        }
        return suite
    }
}

/// A test as read, before `defaultTest` is merged in.
struct RawTest {
    var description: String?
    var vars: [String: JSONValue] = [:]
    var assertions: [Assertion] = []
    var threshold: Double?
    var judge: String?
    var rubricPrompt: JSONValue?
    var metadata: [String: JSONValue] = [:]

    /// `self` on top of `defaults`, as promptfoo merges `defaultTest`: the test's vars win, assertions add up.
    func merged(over defaults: RawTest) -> RawTest {
        var merged = self
        merged.vars = defaults.vars.merging(vars) { _, own in own }
        merged.assertions = defaults.assertions + assertions
        merged.threshold = threshold ?? defaults.threshold
        merged.judge = judge ?? defaults.judge
        merged.rubricPrompt = rubricPrompt ?? defaults.rubricPrompt
        merged.metadata = defaults.metadata.merging(metadata) { _, own in own }
        return merged
    }
}
