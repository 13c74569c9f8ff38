import Foundation

/// Replaces personal data with the name of its kind: `mail bob@example.com` → `mail [EMAIL_ADDRESS]`.
/// Nothing of the value survives, so nothing can be restored (see `Masker` for that).
public enum Redactor {
    /// The label a value of `type` becomes: `[EMAIL_ADDRESS]`.
    public static func label(_ type: PIIType) -> String { "[\(type.rawValue)]" }

    /// `text` with every span replaced by its label. Spans are in Unicode scalars, end exclusive;
    /// spans that do not fit the text or overlap an earlier one are ignored.
    public static func redact(_ text: String, spans: [PIISpan]) -> String {
        SpanText.replacing(text, spans: spans) { span, _ in label(span.type) }
    }
}
