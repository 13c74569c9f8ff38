import Foundation
import Guardrails
import SwitchyardCore
import Yams

/// `is-json`, `contains-json` and `is-valid-openai-tools-call`.
enum JSONAssertions {
    /// How much of an answer `contains-json` searches.
    static let maximumScannedBytes = 1 << 20
    /// Bytes walked and parsed, over all candidates, before `contains-json` stops looking: an answer of 100k `[`
    /// would otherwise cost a walk to the end from each of them.
    static let maximumSearchWork = 8 << 20

    static func isJSON(_ output: String, schema value: JSONValue?) -> CheckOutcome {
        let validator: JSONSchemaValidator?
        switch schema(from: value) {
        case .success(let schema): validator = schema.map(JSONSchemaValidator.init(schema:))
        case .failure(let problem): return .unable("'is-json' schema: \(problem)")
        }
        let expectation = validator == nil ? "be valid JSON" : "be JSON matching the schema"
        guard let parsed = JSONValue.parse(output) else {
            let depth = nestingDepth(output)
            // The JSON reader refuses nesting past its limit (512): say so rather than call deep, valid JSON broken.
            let finding = depth > 512
                ? "it nests \(depth) levels deep, more than the 512 the JSON reader accepts: \(OutputText.quoted(output, limit: 60))"
                : "it does not parse as JSON: \(OutputText.quoted(output))"
            return .binary(false, expectation: expectation, finding: finding)
        }
        if let validator, let problem = validator.firstError(parsed) {
            return .binary(false, expectation: expectation, finding: "it parses, but \(problem)")
        }
        return .binary(true, expectation: expectation, finding: validator == nil ? "it parses" : "it parses and matches")
    }

    static func containsJSON(_ output: String, schema value: JSONValue?) -> CheckOutcome {
        let validator: JSONSchemaValidator?
        switch schema(from: value) {
        case .success(let schema): validator = schema.map(JSONSchemaValidator.init(schema:))
        case .failure(let problem): return .unable("'contains-json' schema: \(problem)")
        }
        let expectation = validator == nil ? "contain a JSON object or list" : "contain JSON matching the schema"
        let candidates = jsonCandidates(in: output)
        guard !candidates.isEmpty else {
            return .binary(false, expectation: expectation, finding: "no JSON object or list parses in \(OutputText.quoted(output))")
        }
        guard let validator else { return .binary(true, expectation: expectation, finding: "found \(OutputText.quoted(candidates[0].jsonString()))") }
        var firstProblem: String?
        for candidate in candidates {
            guard let problem = validator.firstError(candidate) else {
                return .binary(true, expectation: expectation, finding: "found \(OutputText.quoted(candidate.jsonString()))")
            }
            firstProblem = firstProblem ?? problem
        }
        return .binary(
            false, expectation: expectation,
            finding: "\(candidates.count) JSON value(s) found, none matches: \(firstProblem ?? "")")
    }

    /// A schema as written: an object (or boolean) as is; a string parsed as JSON, else as YAML. Nil for none.
    static func schema(from value: JSONValue?) -> Result<JSONValue?, TextAssertions.ListError> {
        guard let value else { return .success(nil) }
        switch value {
        case .object, .bool:
            return .success(value)
        case .string(let text):
            if text.hasPrefix("file://") {
                return .failure(.init("the schema file \(OutputText.quoted(text, limit: 80)) was not loaded; the suite loader reads file:// values"))
            }
            if let parsed = JSONValue.parse(text) ?? yaml(text), parsed.objectValue != nil || parsed.boolValue != nil {
                return .success(parsed)
            }
            return .failure(.init("write a JSON schema (an object, or JSON or YAML text of one), not \(Assertion.describe(value))"))
        default:
            return .failure(.init("write a JSON schema (an object), not \(Assertion.describe(value))"))
        }
    }

    /// JSON objects and lists inside text, in order: ```json fences first, then the whole text, then each `{` or `[`
    /// whose bracket closes (strings respected) and whose span parses. Bounded by `maximumScannedBytes` and
    /// `maximumSearchWork`.
    static func jsonCandidates(in text: String, limit: Int = 20) -> [JSONValue] {
        let bytes = Array(text.utf8.prefix(maximumScannedBytes))
        var found: [JSONValue] = []
        var work = 0
        func attempt(_ slice: ArraySlice<UInt8>) -> Bool {
            work += slice.count
            guard let value = JSONValue.parse(Data(slice)), value.objectValue != nil || value.arrayValue != nil else { return false }
            found.append(value)
            return true
        }
        for fence in fencedBlocks(bytes) where found.count < limit { _ = attempt(fence) }
        if !found.isEmpty { return found }
        // The common case: the whole answer is the JSON.
        if attempt(bytes[...]) { return found }
        var start = 0
        while start < bytes.count, found.count < limit, work < maximumSearchWork {
            guard bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[") else {
                start += 1
                continue
            }
            let (end, walked) = matchingClose(bytes, from: start, budget: maximumSearchWork - work)
            work += walked
            if let end, attempt(bytes[start...end]) {
                start = end + 1
            } else {
                start += 1
            }
        }
        return found
    }

    /// The deepest bracket nesting in `text` (brackets inside strings not counted).
    static func nestingDepth(_ text: String) -> Int {
        var brackets = BracketDepth()
        var deepest = 0
        for byte in text.utf8 {
            brackets.advance(byte)
            deepest = max(deepest, brackets.depth)
        }
        return deepest
    }

    /// The index of the bracket closing the one at `start` (ignoring brackets inside strings), and the bytes walked.
    private static func matchingClose(_ bytes: [UInt8], from start: Int, budget: Int) -> (Int?, Int) {
        var brackets = BracketDepth()
        var index = start
        while index < bytes.count, index - start < budget {
            let before = brackets.depth
            brackets.advance(bytes[index])
            if brackets.depth == 0, before == 1 { return (index, index - start + 1) }
            index += 1
        }
        return (nil, index - start)
    }

    /// The insides of ```json (or bare ```) fences.
    private static func fencedBlocks(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        let fence: [UInt8] = Array("```".utf8)
        var blocks: [ArraySlice<UInt8>] = []
        var index = 0
        func find(_ from: Int) -> Int? {
            var at = from
            while at + fence.count <= bytes.count {
                if bytes[at] == fence[0], bytes[at..<(at + fence.count)].elementsEqual(fence) { return at }
                at += 1
            }
            return nil
        }
        while let open = find(index) {
            // The info string (`json`) runs to the end of the line.
            var bodyStart = open + fence.count
            while bodyStart < bytes.count, bytes[bodyStart] != UInt8(ascii: "\n") { bodyStart += 1 }
            guard let close = find(bodyStart) else { break }
            blocks.append(bytes[min(bodyStart + 1, close)..<close])
            index = close + fence.count
        }
        return blocks
    }

    /// YAML text as JSON: scalars typed as YAML types them; nil when it does not parse.
    static func yaml(_ text: String) -> JSONValue? {
        guard let node = try? Yams.compose(yaml: text) else { return nil }
        return json(from: node, depth: 0)
    }

    private static func json(from node: Node, depth: Int) -> JSONValue {
        guard depth < 64 else { return .null }
        switch node {
        case .scalar(let scalar):
            if node.null != nil { return .null }
            if let int = node.int { return .int(Int64(int)) }
            if let double = node.float, double.isFinite { return .double(double) }
            if let bool = node.bool { return .bool(bool) }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .array(sequence.map { json(from: $0, depth: depth + 1) })
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = json(from: value, depth: depth + 1) }
            return .object(object)
        case .alias:
            return .null
        }
    }
}

/// Bracket depth through JSON text, one byte at a time; brackets inside strings do not count.
struct BracketDepth {
    private(set) var depth = 0
    private var inString = false
    private var escaped = false

    mutating func advance(_ byte: UInt8) {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
        } else if byte == UInt8(ascii: "\"") {
            inString = true
        } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
            depth += 1
        } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
            depth -= 1
        }
    }
}
