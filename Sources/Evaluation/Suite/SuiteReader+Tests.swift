import Foundation
import SwitchyardCore

extension SuiteReader {
    /// Most tests one array-variable expansion may make.
    static let maximumExpansion = 100_000

    /// The suite's tests: inline, or from `file://` CSV / JSON / JSONL / YAML files, with `defaultTest`
    /// merged in and array vars expanded into one test per combination, as promptfoo does.
    func tests(_ value: JSONValue?, defaults: RawTest) throws -> [EvalTest] {
        var raw: [RawTest] = []
        switch value {
        case nil, .null?: raw = [RawTest()]  // no tests: each prompt once, with the defaults' vars
        case .string(let reference)?: raw = try testsFromFile(reference, path: "tests")
        case .array(let entries)?:
            for (index, entry) in entries.enumerated() {
                if case .string(let reference) = entry {
                    raw += try testsFromFile(reference, path: "tests[\(index)]")
                } else {
                    raw.append(try test(entry, path: "tests[\(index)]"))
                }
            }
        default: throw fail("tests", "must be a list of tests or a `file://` path (CSV, JSON, JSONL or YAML).")
        }
        var tests: [EvalTest] = []
        for (index, test) in raw.enumerated() {
            let merged = test.merged(over: defaults)
            for vars in try expand(merged.vars, path: "tests[\(index)].vars") {
                tests.append(EvalTest(
                    description: merged.description, vars: vars, assertions: merged.assertions, threshold: merged.threshold,
                    judge: merged.judge, rubricPrompt: merged.rubricPrompt, metadata: merged.metadata))
                guard tests.count <= EvalSuite.maximumCells else { throw fail("tests", "expands to more than \(EvalSuite.maximumCells) tests.") }
            }
        }
        return tests
    }

    /// One test object (`description`, `vars`, `assert`, `options`, `threshold`, `metadata`).
    func test(_ value: JSONValue, path: String) throws -> RawTest {
        if case .string(let reference) = value, path == "defaultTest" {
            guard let first = try testsFromFile(reference, path: path).first else { throw fail(path, "\(reference) holds no test.") }
            return first
        }
        guard let object = value.objectValue else { throw fail(path, "must be a mapping (description, vars, assert, options).") }
        var test = RawTest()
        test.description = try object["description"].map { try string($0, "\(path).description") }
        if let vars = object["vars"] {
            switch vars {
            case .object(let map): test.vars = try map.mapValues { try loadVar($0, path: "\(path).vars") }
            case .string(let reference) where reference.hasPrefix("file://"):
                guard let map = try loadVar(vars, path: "\(path).vars").objectValue else {
                    throw fail("\(path).vars", "\(reference) must hold a mapping of variables.")
                }
                test.vars = map
            default: throw fail("\(path).vars", "must be a mapping of variable names to values.")
            }
        }
        if let list = object["assert"] {
            guard let assertions = list.arrayValue else { throw fail("\(path).assert", "must be a list of assertions ({type, value}).") }
            test.assertions = try assertions.enumerated().map { index, assertion in
                do {
                    var parsed = try Assertion.parse(assertion, field: "\(path).assert[\(index)]")
                    parsed.provider = parsed.provider.map { ProviderID.model(for: $0) }  // a judge named the promptfoo way
                    return parsed
                } catch {
                    throw EvalSuiteError("\(document.file): \((error as? EvalSuiteError)?.message ?? "\(error)")")
                }
            }
        }
        if let threshold = object["threshold"] { test.threshold = try number(threshold, "\(path).threshold", in: 0...1) }
        if let metadata = object["metadata"] {
            guard let map = metadata.objectValue else { throw fail("\(path).metadata", "must be a mapping.") }
            test.metadata = map
        }
        if let options = object["options"] {
            guard let map = options.objectValue else { throw fail("\(path).options", "must be a mapping.") }
            for unsupported in ["transform", "postprocess", "transformVars"] where map[unsupported] != nil {
                throw fail("\(path).options.\(unsupported)", "JavaScript transforms are not supported; drop it or do the transform in the prompt.")
            }
            switch map["provider"] {
            case nil, .null?: break
            case .string(let id)?: test.judge = ProviderID.model(for: id)
            case .object(let provider)?:
                guard let id = provider["id"]?.stringValue else { throw fail("\(path).options.provider.id", "is required.") }
                test.judge = ProviderID.model(for: id)
            default: throw fail("\(path).options.provider", "must be a model name or {id}.")
            }
            test.rubricPrompt = map["rubricPrompt"]
        }
        return test
    }

    /// A var given as `file://…`: the file's text, or its parsed content for JSON and YAML.
    private func loadVar(_ value: JSONValue, path: String) throws -> JSONValue {
        guard case .string(let text) = value, text.hasPrefix("file://") else { return value }
        let urls = try files.expand(String(text.dropFirst("file://".count)), path: document.location(path))
        let url = urls[0]
        let content = try SuiteFiles.read(url, what: "the variable's file")
        switch url.pathExtension.lowercased() {
        case "json":
            guard let json = JSONValue.parse(content) else { throw fail(path, "\(url.path) is not valid JSON.") }
            return json
        case "yaml", "yml": return try YAMLDocument(text: content, file: url.path).root
        default: return .string(content)
        }
    }

    /// Array vars expand into one vars set per combination (promptfoo's behaviour); scalars stay.
    private func expand(_ vars: [String: JSONValue], path: String) throws -> [[String: JSONValue]] {
        var combinations: [[String: JSONValue]] = [[:]]
        for name in vars.keys.sorted() {
            let value = vars[name]!
            guard case .array(let options) = value, !options.isEmpty else {
                for index in combinations.indices { combinations[index][name] = value }
                continue
            }
            guard combinations.count * options.count <= Self.maximumExpansion else {
                throw fail(path, "array variables expand to more than \(Self.maximumExpansion) tests.")
            }
            combinations = combinations.flatMap { base in options.map { option in base.merging([name: option]) { $1 } } }
        }
        return combinations
    }

    // MARK: test files

    private func testsFromFile(_ reference: String, path: String) throws -> [RawTest] {
        guard reference.hasPrefix("file://") else {
            throw fail(path, "'\(reference.prefix(80))' is not a test: write a mapping, or a `file://` path to CSV, JSON, JSONL or YAML.")
        }
        var tests: [RawTest] = []
        for url in try files.expand(String(reference.dropFirst("file://".count)), path: document.location(path)) {
            let content = try SuiteFiles.read(url, what: "the test file")
            switch url.pathExtension.lowercased() {
            case "csv": tests += try csvTests(content, file: url.path)
            case "json":
                guard let json = JSONValue.parse(content) else { throw EvalSuiteError("\(url.path): not valid JSON.") }
                tests += try jsonTests(json, file: url.path)
            case "jsonl":
                for (number, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    guard let json = JSONValue.parse(String(line)) else { throw EvalSuiteError("\(url.path):\(number + 1): not valid JSON.") }
                    tests += try jsonTests(.array([json]), file: "\(url.path):\(number + 1)")
                }
            case "yaml", "yml":
                let inner = try YAMLDocument(text: content, file: url.path)
                let reader = SuiteReader(document: inner, files: SuiteFiles(base: url.deletingLastPathComponent()))
                guard let list = inner.root.arrayValue else { throw EvalSuiteError("\(url.path): a test file holds a list of tests.") }
                tests += try list.enumerated().map { try reader.test($1, path: "[\($0)]") }
            default:
                throw fail(path, "\(url.lastPathComponent): tests are read from .csv, .json, .jsonl, .yaml or .yml files.")
            }
        }
        return tests
    }

    private func jsonTests(_ json: JSONValue, file: String) throws -> [RawTest] {
        let list = json.arrayValue ?? [json]
        let reader = SuiteReader(document: (try? YAMLDocument(text: "", file: file)) ?? document, files: files)
        return try list.enumerated().map { try reader.test($1, path: "[\($0)]") }
    }

    /// promptfoo's CSV: one column per var, plus `__expected` (an assertion in shorthand; also
    /// `__expected1`…), `__description`, `__threshold`, `__metric` and `__metadata:NAME` columns.
    private func csvTests(_ content: String, file: String) throws -> [RawTest] {
        let rows = CSVParser.rows(content)
        guard let header = rows.first else { throw EvalSuiteError("\(file): the CSV file is empty.") }
        var tests: [RawTest] = []
        for (offset, row) in rows.dropFirst().enumerated() {
            let line = offset + 2
            var test = RawTest()
            var metric: String?
            for (column, name) in header.enumerated() {
                let cell = column < row.count ? row[column] : ""
                let trimmedName = name.trimmingCharacters(in: .whitespaces)
                if trimmedName.hasPrefix("__expected") {
                    guard !cell.isEmpty else { continue }
                    test.assertions.append(try Assertion.fromExpected(cell, field: "\(file):\(line): column \(trimmedName)"))
                } else if trimmedName == "__description" {
                    test.description = cell.isEmpty ? nil : cell
                } else if trimmedName == "__threshold" {
                    guard !cell.isEmpty else { continue }
                    guard let value = Double(cell), value.isFinite, (0...1).contains(value) else {
                        throw EvalSuiteError("\(file):\(line): column __threshold: '\(cell.prefix(40))' is not a number from 0 to 1.")
                    }
                    test.threshold = value
                } else if trimmedName == "__metric" {
                    metric = cell.isEmpty ? nil : cell
                } else if trimmedName.hasPrefix("__metadata:") {
                    test.metadata[String(trimmedName.dropFirst("__metadata:".count))] = .string(cell)
                } else if !trimmedName.hasPrefix("__") {
                    test.vars[trimmedName] = .string(cell)
                }
            }
            if let metric { for index in test.assertions.indices where test.assertions[index].metric == nil { test.assertions[index].metric = metric } }
            tests.append(test)
        }
        return tests
    }
}
