import ArgumentParser
import Embeddings
import Foundation
import Guardrails
import SwitchyardCore

/// `switchyard guard …`: the guardrails' detectors from the command line.
struct GuardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard", abstract: "Scan texts for prompt injections and personal data.",
        subcommands: [GuardScanCommand.self, GuardFeaturesCommand.self])
}

/// Reads `{"id", "text", "channel"?}` rows from a JSON Lines file; a bad line is an error naming its number.
enum GuardInput {
    /// A row's id as its JSON value.
    enum RowID: Encodable, Equatable {
        case string(String)
        case integer(Int64)
        case number(Double)

        /// The id as text (the feature files' index).
        var text: String {
            switch self {
            case .string(let value): return value
            case .integer(let value): return String(value)
            case .number(let value): return String(value)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            }
        }
    }

    struct Row {
        var id: RowID
        var text: String
        var channel: GuardChannel
    }

    static func read(_ path: String) throws -> [Row] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CommandFailure("cannot read \(path): \(error.localizedDescription)")
        }
        var rows: [Row] = []
        for (number, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw CommandFailure("\(path):\(number + 1): not a JSON object")
            }
            guard let text = object["text"] as? String else { throw CommandFailure("\(path):\(number + 1): 'text' must be a string") }
            // The id goes back as it came (a number stays a number), so the output joins to the input by value.
            let id: RowID
            switch object["id"] {
            case let value as String: id = .string(value)
            // JSON booleans arrive as NSNumbers of type "c"; integers are "q", other numbers "d".
            case let value as NSNumber where String(cString: value.objCType) != "c":
                if let integer = Int64(exactly: value.doubleValue), value.stringValue == String(integer) {
                    id = .integer(integer)
                } else if value.doubleValue.isFinite {
                    id = .number(value.doubleValue)
                } else {
                    throw CommandFailure("\(path):\(number + 1): 'id' must be a finite number")
                }
            default: throw CommandFailure("\(path):\(number + 1): 'id' must be a string or a number")
            }
            var channel = GuardChannel.user
            if let raw = object["channel"] {
                guard let name = raw as? String, let parsed = GuardChannel(rawValue: name) else {
                    throw CommandFailure("\(path):\(number + 1): 'channel' must be one of user, tool_output, memory")
                }
                channel = parsed
            }
            rows.append(Row(id: id, text: text, channel: channel))
        }
        return rows
    }
}

/// `switchyard guard features FILE.jsonl --output PREFIX`: the heads' training features (see scripts/guard/train.py).
struct GuardFeaturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features", abstract: "Write the encoder features the guard heads are trained on (for scripts/guard/train.py).")

    @Argument(help: "JSON Lines file with {\"id\", \"text\"} rows.")
    var file: String

    @Option(help: "Output prefix: PREFIX.windows.f32/.jsonl and PREFIX.words.f32/.jsonl are written.")
    var output: String

    @Option(name: .customLong("model-dir"), help: "Model folder (default: $SWITCHYARD_MODEL_DIR or the model cache).")
    var modelDirectory: String?

    @Option(name: .customLong("injection-layer"), help: "Encoder layer (1-6) the window vectors are pooled from (default: the shipped head's).")
    var injectionLayer: Int?

    @Option(name: .customLong("pii-layer"), help: "Encoder layer (1-6) the word rows are read from (default: the shipped head's).")
    var piiLayer: Int?

    func run() async throws {
        let rows = try GuardInput.read(file)
        let embedder = try MiniLMEmbedder.load(modelDirectory: modelDirectory)
        let layers = (injectionLayer ?? NativeGuardDetector.injectionLayer, piiLayer ?? NativeGuardDetector.piiLayer)
        guard (1...embedder.layerCount).contains(layers.0), (1...embedder.layerCount).contains(layers.1) else {
            throw CommandFailure("--injection-layer and --pii-layer must be from 1 to \(embedder.layerCount)", .dataError)
        }
        try GuardFeatureExport(embedder: embedder, injectionLayer: layers.0, piiLayer: layers.1)
            .write(rows: rows.map { ($0.id.text, $0.text) }, prefix: output)
        print("wrote \(output).windows.* and \(output).words.* for \(rows.count) rows")
    }
}

/// `switchyard guard scan FILE.jsonl [--output OUT.jsonl]`: one verdict line per row.
struct GuardScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan {\"id\", \"text\", \"channel\"?} rows for prompt injections and personal data.",
        discussion: """
            Writes one JSON line per row: {"id", "injection": {"score", "flagged"}, "pii": [{"start", "end", "type"}], \
            "redacted"}. Offsets count Unicode scalars (code points); types are Presidio's names; "flagged" uses the \
            shipped default threshold unless --threshold is given.
            """)

    @Argument(help: "JSON Lines file with {\"id\", \"text\", \"channel\"?} rows (channel: user, tool_output or memory).")
    var file: String

    @Option(help: "Write the verdicts here instead of standard output.")
    var output: String?

    @Option(help: "Injection threshold (0...1; default: the shipped one).")
    var threshold: Double?

    @Option(name: .customLong("model-dir"), help: "Model folder (default: $SWITCHYARD_MODEL_DIR or the model cache).")
    var modelDirectory: String?

    @Flag(help: "Only the pattern tier (checksums, formats, keywords; no model): PII spans and the keyword score.")
    var patternsOnly = false

    func run() async throws {
        if patternsOnly { return try runPatterns() }
        if let threshold, !(threshold.isFinite && (0...1).contains(threshold)) {
            throw CommandFailure("--threshold must be a number from 0 to 1", .dataError)
        }
        let rows = try GuardInput.read(file)
        let embedder = try MiniLMEmbedder.load(modelDirectory: modelDirectory)
        let detector = try NativeGuardDetector(embedder: embedder, injectionThreshold: threshold)
        var out = Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for row in rows {
            let result: GuardScanLine
            do {
                let (injection, pii) = try detector.scan(row.text, channel: row.channel)
                result = GuardScanLine(
                    id: row.id, injection: .init(score: injection.score, flagged: injection.flagged),
                    pii: pii.map { .init(start: $0.start, end: $0.end, type: $0.type.rawValue) },
                    redacted: Redactor.redact(row.text, spans: pii), error: nil)
            } catch {
                result = GuardScanLine(id: row.id, injection: nil, pii: nil, redacted: nil, error: "\(error)")
            }
            out.append(try encoder.encode(result))
            out.append(0x0A)
        }
        if let output {
            try out.write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(out)
        }
    }
}

extension GuardScanCommand {
    private func runPatterns() throws {
        var out = Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for row in try GuardInput.read(file) {
            let spans = PIIPatterns.find(in: row.text)
            let score = ([InjectionHeuristics.keywordScore(row.text)]
                + InjectionHeuristics.decodedPayloads(in: row.text).map { InjectionHeuristics.keywordScore($0.text) }).max() ?? 0
            let line = GuardScanLine(
                id: row.id, injection: .init(score: score, flagged: score >= (threshold ?? 0.5)),
                pii: spans.map { .init(start: $0.start, end: $0.end, type: $0.type.rawValue) }, redacted: Redactor.redact(row.text, spans: spans),
                error: nil)
            out.append(try encoder.encode(line))
            out.append(0x0A)
        }
        if let output { try out.write(to: URL(fileURLWithPath: output)) } else { FileHandle.standardOutput.write(out) }
    }
}

/// One line of `guard scan`'s output.
struct GuardScanLine: Encodable {
    struct Injection: Encodable {
        var score: Double
        var flagged: Bool
    }

    struct Span: Encodable {
        var start: Int
        var end: Int
        var type: String
    }

    var id: GuardInput.RowID
    var injection: Injection?
    var pii: [Span]?
    var redacted: String?
    var error: String?

    private enum CodingKeys: String, CodingKey { case id, injection, pii, redacted, error, score, flagged, spans }

    /// The contract's fields, plus `score`, `flagged` and `spans` at the top level: the names
    /// `../shared/data/guardrails/score.py` reads, so a scan's output can be scored as it is.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(injection, forKey: .injection)
        try container.encodeIfPresent(pii, forKey: .pii)
        try container.encodeIfPresent(redacted, forKey: .redacted)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(injection?.score, forKey: .score)
        try container.encodeIfPresent(injection?.flagged, forKey: .flagged)
        try container.encodeIfPresent(pii, forKey: .spans)
    }
}
