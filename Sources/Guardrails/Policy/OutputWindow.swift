import Foundation

/// Checks streamed text for personal data as it passes, in windows: it holds back a tail of
/// `window` scalars so a value split across deltas (`bob@exa` + `mple.com`) is seen whole, and lets
/// everything before that tail go. It never holds more than `2 × window` scalars plus one delta.
public struct OutputWindow: Sendable {
    /// How the found values leave the window.
    public enum Treatment: Sendable, Hashable {
        /// Unchanged (flag, block: the caller decides what a finding means).
        case keep
        /// Replaced by `[TYPE]` labels.
        case redact
    }

    public let window: Int
    public let treatment: Treatment
    /// Only these kinds count; nil = all.
    public let types: Set<PIIType>?
    private var pending: [Unicode.Scalar] = []

    public init(window: Int = 64, treatment: Treatment, types: Set<PIIType>? = nil) {
        self.window = max(1, window)
        self.treatment = treatment
        self.types = types
    }

    /// Adds a delta; returns the text that may go now and the values found in it.
    public mutating func feed(_ delta: String, scan: (String) throws -> [PIISpan]) rethrows -> (text: String, found: [PIISpan]) {
        pending.append(contentsOf: delta.unicodeScalars)
        // Scan once a whole window has gathered beyond the tail, not on every delta: a detector pass per token would
        // cost more than the model's own answer takes to arrive; this way each scalar is scanned about twice.
        guard pending.count >= 2 * window else { return ("", []) }
        let buffer = Self.string(pending[...])
        let spans = SpanText.normalized(try scan(buffer).filter { Self.counts($0, types: types) }, scalarCount: pending.count)
        var cut = pending.count - window
        // Never cut through a value: let it wait in the tail, whole.
        for span in spans where span.start < cut && span.end > cut { cut = span.start }
        guard cut > 0 else { return ("", []) }
        let released = spans.filter { $0.end <= cut }
        let text = Self.string(pending[..<cut])
        pending.removeFirst(cut)
        return (treated(text, released), released)
    }

    /// The tail, scanned and released at the end of the stream.
    public mutating func finish(scan: (String) throws -> [PIISpan]) rethrows -> (text: String, found: [PIISpan]) {
        guard !pending.isEmpty else { return ("", []) }
        let text = Self.string(pending[...])
        pending = []
        let spans = SpanText.normalized(try scan(text).filter { Self.counts($0, types: types) }, scalarCount: text.unicodeScalars.count)
        return (treated(text, spans), spans)
    }

    /// Scalars held back right now.
    public var heldBack: Int { pending.count }

    private static func counts(_ span: PIISpan, types: Set<PIIType>?) -> Bool { types.map { $0.contains(span.type) } ?? true }

    private func treated(_ text: String, _ spans: [PIISpan]) -> String {
        switch treatment {
        case .keep: return text
        case .redact: return Redactor.redact(text, spans: spans)
        }
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
