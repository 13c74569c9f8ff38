/// Checked numbers from outside: every number a client, an upstream or an MCP peer sends goes
/// through one of these, never through `Int(someDouble)` (which traps on 1e300, NaN or infinity).
extension JSONValue {
    /// The value as an `Int` when it is a whole number that `Int` holds exactly; nil for fractions,
    /// numbers out of range (1e300), strings and everything else.
    public var intValue: Int? {
        switch self {
        case .int(let value): return Int(exactly: value)
        case .double(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The value as a finite `Double`; nil for anything else.
    public var finiteDoubleValue: Double? {
        guard let value = doubleValue, value.isFinite else { return nil }
        return value
    }

    /// A whole number in `range`, or a 400 naming `field` and the range.
    public func integer(_ field: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = intValue, range.contains(value) else {
            throw SwitchyardError.invalidRequest(
                "\(field) must be a whole number from \(range.lowerBound) to \(range.upperBound).", param: field)
        }
        return value
    }

    /// A finite number in `range`, or a 400 naming `field` and the range.
    public func number(_ field: String, in range: ClosedRange<Double>) throws -> Double {
        guard let value = finiteDoubleValue, range.contains(value) else {
            throw SwitchyardError.invalidRequest(
                "\(field) must be a number from \(NumberText.plain(range.lowerBound)) to \(NumberText.plain(range.upperBound)).",
                param: field)
        }
        return value
    }

    /// A token count an upstream reported: a whole number from 0 to `TokenCount.maximum`; nil when
    /// it is anything else, so the caller treats it as missing (and estimates) instead of trusting it.
    public var tokenCount: Int? {
        guard let value = intValue, TokenCount.plausible.contains(value) else { return nil }
        return value
    }
}

/// Token counts as the gateway accepts them from upstreams.
public enum TokenCount {
    /// No request or answer has a billion tokens; a larger count is a broken or hostile upstream.
    public static let maximum = 1_000_000_000
    public static let plausible = 0...maximum
}

extension KeyedDecodingContainer {
    /// Decodes an optional whole number, with a 400 naming `field` and `range` for anything else
    /// (1e300, 1.5, "12", a number outside the range) instead of a generic decoding error.
    public func decodeInteger(_ key: Key, field: String, in range: ClosedRange<Int>) throws -> Int? {
        guard contains(key) else { return nil }
        let value = try decode(JSONValue.self, forKey: key)
        if value == .null { return nil }
        return try value.integer(field, in: range)
    }

    /// Decodes an optional finite number with a 400 naming `field` and `range` for anything else.
    public func decodeNumber(_ key: Key, field: String, in range: ClosedRange<Double>) throws -> Double? {
        guard contains(key) else { return nil }
        let value = try decode(JSONValue.self, forKey: key)
        if value == .null { return nil }
        return try value.number(field, in: range)
    }

    /// Decodes a token count an upstream reported: nil when missing or implausible (see `JSONValue.tokenCount`).
    public func decodeTokenCount(_ key: Key) -> Int? {
        guard let value = try? decodeIfPresent(JSONValue.self, forKey: key) else { return nil }
        return value.tokenCount
    }

    /// A Unix timestamp an upstream sent (`created`): 0 when missing or not a whole number.
    public func decodeTimestamp(_ key: Key) -> Int {
        (try? decodeIfPresent(JSONValue.self, forKey: key))??.intValue ?? 0
    }

    /// True when `key` holds something that is not a plausible token count (present but broken).
    public func hasImplausibleTokenCount(_ key: Key) -> Bool {
        guard contains(key) else { return false }
        guard let value = try? decode(JSONValue.self, forKey: key) else { return true }
        return value != .null && value.tokenCount == nil
    }
}

/// Numbers written into messages: plain decimals for whole values, no exponent noise.
public enum NumberText {
    public static func plain(_ value: Double) -> String {
        if let whole = Int(exactly: value) { return String(whole) }
        return String(value)
    }
}

extension String {
    /// At most `limit` characters of client or upstream text for an error message, marked when cut,
    /// so that a 1 MB name never makes a 1 MB error.
    public func quotedPrefix(_ limit: Int = 120) -> String {
        guard count > limit else { return self }
        return String(prefix(limit)) + "… (\(utf8.count) bytes)"
    }
}
