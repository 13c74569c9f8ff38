import Foundation
import PropertyBased
import Synchronization
import Testing
import SwitchyardCore

/// A deterministic mutation engine: the same seed and input always give the same output, so a
/// failing seed reproduces exactly. Mutations aim where bugs hide in a gateway: extreme and
/// non-finite numbers, numbers where strings belong and the reverse, the field names the code
/// actually reads, deep nesting, huge and invalid text.
struct Mutator {
    struct Random: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
        mutating func next() -> UInt64 {
            // SplitMix64.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    var random: Random

    init(seed: UInt64) { random = Random(seed: seed) }

    /// Numbers that broke or could break arithmetic and conversions.
    static let extremeNumbers: [JSONValue] = [
        .double(1e300), .double(-1e300), .double(1e19), .double(-1e19), .int(-1), .int(0), .double(-0.0),
        .int(Int64.max), .int(Int64.min), .double(9.223372036854776e18), .int(2_147_483_648), .int(4_294_967_296),
        .double(1.5), .double(0.5), .double(1e-300), .double(5e-324), .double(1.7976931348623157e308), .int(1),
        .int(1_000_000_000), .int(1_000_000_001), .int(65536), .int(100_000),
    ]

    /// Number spellings only JSON text can carry (out of Double's range, or not JSON at all).
    static let extremeLiterals = [
        "1e400", "-1e400", "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1E+300", "-0", "0.0000",
        "NaN", "Infinity", "-Infinity", "1e", "01", "+1", ".5", "1.", "0x10",
    ]

    /// The field names the gateway reads somewhere: mutations that add keys use these, so they reach real code.
    static let fieldNames = [
        "model", "messages", "role", "content", "type", "text", "image_url", "url", "detail", "tools", "function", "name",
        "parameters", "arguments", "tool_choice", "tool_calls", "tool_call_id", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "top_k", "n", "seed", "stop", "stream", "stream_options", "include_usage",
        "response_format", "json_schema", "schema", "switchyard", "route", "retrieval", "collection", "max_context_tokens",
        "weights", "mmr", "ef_search", "filter", "mode", "fusion", "query", "cache", "max_cost_usd", "max_latency_ms",
        "only", "ignore", "require", "privacy", "system", "input", "id", "index", "thinking", "budget_tokens",
        "input_tokens", "output_tokens", "cache_read_input_tokens", "usage", "prompt_tokens", "completion_tokens",
        "choices", "delta", "finish_reason", "candidates", "usageMetadata", "promptTokenCount", "candidatesTokenCount",
        "prompt_eval_count", "eval_count", "done", "dimensions", "encoding_format", "documents", "metadata", "allowed",
        "format", "title", "source", "embedding_model", "jsonrpc", "method", "params", "source", "media_type", "data",
        "tool_use_id", "is_error", "content_block", "partial_json", "stop_reason", "output_config", "output_format",
    ]

    static let hostileStrings = [
        "", " ", "\u{0}", "\u{FFFD}", "\u{1F600}\u{200D}\u{1F4BB}", "\u{202E}abc", "x\r\ny: 1", "\\", "\"", "'; DROP TABLE x; --",
        "${HOME}", "../../etc/passwd", "hologram", "image_url", "text", "tool_use", "user", "assistant", "system", "tool",
        "data:image/png;base64,", "data:;base64,!!!", "http://127.0.0.1:1/", "json_schema", "json_object", "hybrid", "rrf",
    ]

    mutating func int(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(random.next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// A random leaf or small container.
    mutating func value(depth: Int = 0) -> JSONValue {
        switch int(depth > 2 ? 6 : 9) {
        case 0: return pick(Self.extremeNumbers)
        case 1: return .string(pick(Self.hostileStrings))
        case 2: return .string(String(repeating: pick(["a", "é", "\u{1F600}", " "]), count: pick([1, 100, 10_000, 100_000])))
        case 3: return .bool(chance(50))
        case 4: return .null
        case 5: return .int(Int64(int(2000)) - 1000)
        case 6: return .array((0..<int(4)).map { _ in value(depth: depth + 1) })
        case 7:
            var object: [String: JSONValue] = [:]
            for _ in 0..<int(4) { object[pick(Self.fieldNames)] = value(depth: depth + 1) }
            return .object(object)
        default:
            return deep(pick([10, 100, 600]))
        }
    }

    /// Nested arrays or objects `depth` levels deep.
    mutating func deep(_ depth: Int) -> JSONValue {
        var value: JSONValue = .int(1)
        let objects = chance(50)
        for _ in 0..<depth { value = objects ? .object(["a": value]) : .array([value]) }
        return value
    }

    /// One structural change somewhere in `json`.
    mutating func mutate(_ json: JSONValue) -> JSONValue {
        var paths: [[PathStep]] = []
        collectPaths(json, [], into: &paths)
        let path = paths.isEmpty ? [] : pick(paths)
        let replacement = change(Self.node(json, at: path[...]))
        return Self.rewrite(json, at: path[...], with: replacement)
    }

    private mutating func change(_ node: JSONValue) -> JSONValue {
            switch int(10) {
            case 0, 1: return pick(Self.extremeNumbers)
            case 2: return value()
            case 3:
                guard case .object(var object) = node else { return .array([node]) }
                object[pick(Self.fieldNames)] = value()
                return .object(object)
            case 4:
                guard case .object(var object) = node, let key = object.keys.sorted().randomElement(using: &random) else { return .null }
                object[key] = nil
                return .object(object)
            case 5: return .array([node, node])
            case 6:
                if case .string(let text) = node { return .string(text + pick(Self.hostileStrings)) }
                return .string(node.jsonString())
            case 7:
                if case .array(let items) = node { return .array(items + items + items) }
                return node.intValue.map { .double(Double($0) + 0.5) } ?? pick(Self.extremeNumbers)
            case 8: return deep(pick([20, 513, 1000]))
            default:
                if case .number = NodeKind(node) { return pick(Self.extremeNumbers) }
                return value()
            }
    }

    /// Serialised `json`, then perhaps damaged as text: a number swapped for a literal JSON cannot
    /// hold, a cut, or bytes that are not UTF-8.
    mutating func text(_ json: JSONValue) -> [UInt8] {
        var bytes = Array(json.jsonString().utf8)
        guard chance(15), !bytes.isEmpty else { return bytes }
        switch int(5) {
        case 0:
            // Replace the first digit run after a random point with a literal.
            let start = int(bytes.count)
            if let first = bytes[start...].firstIndex(where: { (0x30...0x39).contains($0) }) {
                var end = first
                while end < bytes.count, (0x30...0x39).contains(bytes[end]) || bytes[end] == 0x2E || bytes[end] == 0x65 { end += 1 }
                bytes.replaceSubrange(first..<end, with: Array(pick(Self.extremeLiterals).utf8))
            }
        case 1: bytes = Array(bytes.prefix(int(bytes.count)))
        case 2: bytes.insert(contentsOf: [0xFF, 0xFE, 0xC3], at: int(bytes.count))
        case 3: bytes[int(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
        default: bytes.insert(contentsOf: Array(pick(["\u{0}", "\\ud800", "\"", "}", "]", ",", "\n"]).utf8), at: int(bytes.count))
        }
        return bytes
    }

    /// `count` random mutations of `json`.
    mutating func mutate(_ json: JSONValue, times count: Int) -> JSONValue {
        var result = json
        for _ in 0..<count { result = mutate(result) }
        return result
    }

    // MARK: Paths

    enum PathStep { case key(String), index(Int) }

    private enum NodeKind {
        case number, other
        init(_ value: JSONValue) {
            switch value {
            case .int, .double: self = .number
            default: self = .other
            }
        }
    }

    private func collectPaths(_ json: JSONValue, _ prefix: [PathStep], into paths: inout [[PathStep]]) {
        guard paths.count < 512 else { return }
        paths.append(prefix)
        switch json {
        case .object(let object):
            for key in object.keys.sorted() { collectPaths(object[key]!, prefix + [.key(key)], into: &paths) }
        case .array(let items):
            for (index, item) in items.enumerated().prefix(32) { collectPaths(item, prefix + [.index(index)], into: &paths) }
        default:
            break
        }
    }

    private static func node(_ json: JSONValue, at path: ArraySlice<PathStep>) -> JSONValue {
        guard let step = path.first else { return json }
        switch (step, json) {
        case (.key(let key), .object(let object)): return object[key].map { node($0, at: path.dropFirst()) } ?? json
        case (.index(let index), .array(let items)) where index < items.count: return node(items[index], at: path.dropFirst())
        default: return json
        }
    }

    private static func rewrite(_ json: JSONValue, at path: ArraySlice<PathStep>, with replacement: JSONValue) -> JSONValue {
        guard let step = path.first else { return replacement }
        switch (step, json) {
        case (.key(let key), .object(var object)):
            guard let child = object[key] else { return json }
            object[key] = rewrite(child, at: path.dropFirst(), with: replacement)
            return .object(object)
        case (.index(let index), .array(var items)) where index < items.count:
            items[index] = rewrite(items[index], at: path.dropFirst(), with: replacement)
            return .array(items)
        default:
            return json
        }
    }
}

/// How long each fuzz target runs: `SWITCHYARD_FUZZ_SECONDS` (CI sets it), else a few seconds so a
/// plain `swift test` stays quick.
enum FuzzBudget {
    static var seconds: Double {
        ProcessInfo.processInfo.environment["SWITCHYARD_FUZZ_SECONDS"].flatMap(Double.init).map { max(0.1, $0) } ?? 3
    }

    /// Calls `body` with fresh seeds (from swift-property-based's generator, so a failure prints the
    /// seed that reproduces it: `Mutator(seed:)` is deterministic) until the budget is spent.
    static func check(_ body: (UInt64) async throws -> Void) async {
        // SWITCHYARD_FUZZ_SEED=N replays exactly one input: the one a failure printed.
        if let replay = ProcessInfo.processInfo.environment["SWITCHYARD_FUZZ_SEED"].flatMap(UInt64.init) {
            do { try await body(replay) } catch { Issue.record(error) }
            return
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            await propertyCheck(count: 20, input: Gen.uint64()) { seed in try await body(seed) }
        }
    }
}

/// Outcome counts of a fuzz run, printed at its end: a run whose inputs all bounce off the first
/// check would pass while testing nothing, and this shows it.
final class FuzzStatistics: Sendable {
    static let shared = FuzzStatistics()
    private let counts = Mutex<[String: Int]>([:])

    func count(_ target: String, status: Int) {
        counts.withLock { $0["\(target) \(status / 100)xx", default: 0] += 1 }
    }

    func report(_ name: String) {
        let lines = counts.withLock { counts in
            defer { counts.removeAll() }
            return counts.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }
        }
        print("fuzz \(name) (\(FuzzBudget.seconds) s):\n" + lines.joined(separator: "\n"))
    }
}
