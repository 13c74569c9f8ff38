import Foundation
import SwitchyardCore

/// Conditions on chunk metadata, all of which must hold:
/// `{"source": "a.md", "year": {"gte": 2020}, "lang": {"in": ["en", "de"]}}`.
/// A field missing from a document fails every condition on it except `ne` and `exists: false`.
public struct MetadataFilter: Sendable, Hashable {
    public enum Condition: Sendable, Hashable {
        case equals(JSONValue)
        case notEquals(JSONValue)
        case oneOf([JSONValue])
        case range(lower: JSONValue?, lowerInclusive: Bool, upper: JSONValue?, upperInclusive: Bool)
        case exists(Bool)
    }

    public var conditions: [(field: String, condition: Condition)] { storage }
    private var storage: [(field: String, condition: Condition)]

    public static func == (lhs: MetadataFilter, rhs: MetadataFilter) -> Bool {
        lhs.storage.count == rhs.storage.count && zip(lhs.storage, rhs.storage).allSatisfy { $0.field == $1.field && $0.condition == $1.condition }
    }

    public func hash(into hasher: inout Hasher) {
        for (field, condition) in storage {
            hasher.combine(field)
            hasher.combine(condition)
        }
    }

    public var isEmpty: Bool { storage.isEmpty }

    /// Parses a filter object; errors name the offending field (`filter.year.gte`).
    public static func parse(_ value: JSONValue, param: String = "filter") throws -> MetadataFilter {
        guard let object = value.objectValue else {
            throw SwitchyardError.invalidRequest("\(param) must be an object of field conditions.", param: param)
        }
        var conditions: [(String, Condition)] = []
        for (field, spec) in object.sorted(by: { $0.key < $1.key }) {
            let path = "\(param).\(field)"
            guard let operators = spec.objectValue else {
                if case .array = spec {
                    throw SwitchyardError.invalidRequest("\(path): use {\"in\": [...]} to match any of several values.", param: path)
                }
                conditions.append((field, .equals(spec)))
                continue
            }
            var lower: JSONValue?
            var upper: JSONValue?
            var lowerInclusive = true
            var upperInclusive = true
            for (name, operand) in operators.sorted(by: { $0.key < $1.key }) {
                let operatorPath = "\(path).\(name)"
                switch name.hasPrefix("$") ? String(name.dropFirst()) : name {
                case "eq": conditions.append((field, .equals(operand)))
                case "ne": conditions.append((field, .notEquals(operand)))
                case "in":
                    guard let values = operand.arrayValue else {
                        throw SwitchyardError.invalidRequest("\(operatorPath) must be a list of values.", param: operatorPath)
                    }
                    conditions.append((field, .oneOf(values)))
                case "exists":
                    guard let flag = operand.boolValue else {
                        throw SwitchyardError.invalidRequest("\(operatorPath) must be true or false.", param: operatorPath)
                    }
                    conditions.append((field, .exists(flag)))
                case "gt", "gte", "lt", "lte":
                    guard operand.doubleValue != nil || operand.stringValue != nil else {
                        throw SwitchyardError.invalidRequest("\(operatorPath) must be a number or a string.", param: operatorPath)
                    }
                    if name.hasSuffix("gt") || name.hasSuffix("gte") {
                        lower = operand
                        lowerInclusive = name.hasSuffix("gte")
                    } else {
                        upper = operand
                        upperInclusive = name.hasSuffix("lte")
                    }
                default:
                    throw SwitchyardError.invalidRequest(
                        "\(operatorPath): unknown operator '\(name)'; use eq, ne, in, gt, gte, lt, lte or exists.", param: operatorPath)
                }
            }
            if lower != nil || upper != nil {
                conditions.append((field, .range(lower: lower, lowerInclusive: lowerInclusive, upper: upper, upperInclusive: upperInclusive)))
            }
        }
        return MetadataFilter(storage: conditions)
    }

    public init() { storage = [] }
    private init(storage: [(field: String, condition: Condition)]) { self.storage = storage }

    /// True when every condition holds; `value` looks a field up.
    public func matches(_ value: (String) -> JSONValue?) -> Bool {
        for (field, condition) in storage where !Self.holds(condition, value(field)) { return false }
        return true
    }

    static func holds(_ condition: Condition, _ actual: JSONValue?) -> Bool {
        switch condition {
        case .exists(let flag): return (actual != nil && actual != .null) == flag
        case .equals(let expected):
            guard let actual else { return false }
            return same(actual, expected)
        case .notEquals(let expected):
            guard let actual else { return true }
            return !same(actual, expected)
        case .oneOf(let values):
            guard let actual else { return false }
            return values.contains { same(actual, $0) }
        case .range(let lower, let lowerInclusive, let upper, let upperInclusive):
            guard let actual else { return false }
            if let lower {
                guard let order = compare(actual, lower) else { return false }
                if order < 0 || (order == 0 && !lowerInclusive) { return false }
            }
            if let upper {
                guard let order = compare(actual, upper) else { return false }
                if order > 0 || (order == 0 && !upperInclusive) { return false }
            }
            return true
        }
    }

    /// Equality that treats 2020 and 2020.0 alike, and a list field as matching any of its items.
    static func same(_ actual: JSONValue, _ expected: JSONValue) -> Bool {
        if case .array(let items) = actual, expected.arrayValue == nil { return items.contains { same($0, expected) } }
        if let a = number(actual), let b = number(expected) { return a == b }
        return actual == expected
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let int): return Double(int)
        case .double(let double): return double
        default: return nil
        }
    }

    /// Numbers compare as numbers, strings as strings (ISO dates sort correctly); mixed = no order.
    static func compare(_ actual: JSONValue, _ bound: JSONValue) -> Int? {
        if let a = number(actual), let b = number(bound) { return a < b ? -1 : (a > b ? 1 : 0) }
        if let a = actual.stringValue, let b = bound.stringValue { return a < b ? -1 : (a > b ? 1 : 0) }
        return nil
    }
}
