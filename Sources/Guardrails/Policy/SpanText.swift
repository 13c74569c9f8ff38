import Foundation

/// Cuts a text at spans given in Unicode scalar offsets (what detectors report), never at UTF-16 or
/// `Character` positions: an emoji outside the BMP is one scalar, two UTF-16 units, and a flag is
/// two scalars but one `Character`.
enum SpanText {
    /// The spans that fit `scalarCount` scalars, sorted by start, without overlaps (a later span that
    /// overlaps a kept one is dropped). Detector output is treated as untrusted: a bad span is skipped,
    /// never a trap.
    static func normalized(_ spans: [PIISpan], scalarCount: Int) -> [PIISpan] {
        let valid = spans.filter { $0.start >= 0 && $0.start < $0.end && $0.end <= scalarCount }
            .sorted { $0.start != $1.start ? $0.start < $1.start : $0.end > $1.end }
        var kept: [PIISpan] = []
        for span in valid where kept.last.map({ span.start >= $0.end }) ?? true {
            kept.append(span)
        }
        return kept
    }

    /// `text` with each span replaced by `replacement(span, value)`, where `value` is the text the span covers.
    static func replacing(_ text: String, spans: [PIISpan], _ replacement: (PIISpan, String) -> String) -> String {
        let scalars = text.unicodeScalars
        let spans = normalized(spans, scalarCount: scalars.count)
        guard !spans.isEmpty else { return text }
        var output = String.UnicodeScalarView()
        var cursor = scalars.startIndex
        var position = 0
        for span in spans {
            let start = scalars.index(cursor, offsetBy: span.start - position)
            let end = scalars.index(start, offsetBy: span.end - span.start)
            output.append(contentsOf: scalars[cursor..<start])
            output.append(contentsOf: replacement(span, String(scalars[start..<end])).unicodeScalars)
            cursor = end
            position = span.end
        }
        output.append(contentsOf: scalars[cursor...])
        return String(output)
    }

    /// The text a span covers (nil when the span does not fit the text).
    static func value(of span: PIISpan, in text: String) -> String? {
        let scalars = text.unicodeScalars
        guard span.start >= 0, span.start < span.end,
            let start = scalars.index(scalars.startIndex, offsetBy: span.start, limitedBy: scalars.endIndex),
            let end = scalars.index(start, offsetBy: span.end - span.start, limitedBy: scalars.endIndex)
        else { return nil }
        return String(scalars[start..<end])
    }
}
