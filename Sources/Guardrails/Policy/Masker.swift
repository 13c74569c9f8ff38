import Foundation

/// Replaces personal data with stable placeholders (`[PERSON_1]`, `[EMAIL_ADDRESS_2]`) and remembers
/// the originals, so the answer can be given back with them (`Rehydrator`).
///
/// One masker serves one request: the same value gets the same placeholder in every message it is
/// used on, and numbers count per kind in order of first appearance. A request with different values
/// in the same places masks to the same text, which is what lets the cache serve it.
public struct Masker: Sendable {
    private var placeholderByValue: [String: String] = [:]
    private var originalByPlaceholder: [String: String] = [:]
    private var counters: [PIIType: Int] = [:]

    public init() {}

    /// Placeholders made so far, each with the value it stands for.
    public var originals: [String: String] { originalByPlaceholder }

    /// True when nothing was masked.
    public var isEmpty: Bool { originalByPlaceholder.isEmpty }

    /// `text` with each span replaced by its value's placeholder.
    public mutating func mask(_ text: String, spans: [PIISpan]) -> String {
        SpanText.replacing(text, spans: spans) { span, value in
            placeholder(for: value, type: span.type, avoiding: text)
        }
    }

    /// The placeholder of `value`, made on first sight. A placeholder that the text already spells out
    /// literally is skipped, so restoring never turns the client's own `[PERSON_1]` into a name.
    public mutating func placeholder(for value: String, type: PIIType, avoiding text: String = "") -> String {
        let key = type.rawValue + "\u{0}" + value
        if let existing = placeholderByValue[key] { return existing }
        var number = counters[type, default: 0]
        var candidate: String
        repeat {
            number += 1
            candidate = "[\(type.rawValue)_\(number)]"
        } while text.contains(candidate) && number < 1_000_000
        counters[type] = number
        placeholderByValue[key] = candidate
        originalByPlaceholder[candidate] = value
        return candidate
    }

    /// The rehydrator that gives back what this masker took.
    public var rehydrator: Rehydrator { Rehydrator(originals: originalByPlaceholder) }
}
