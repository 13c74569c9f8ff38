import Foundation

/// An upstream's `retry-after` / `retry-after-ms`, read safely: upstream headers are hostile input.
public enum RetryAfter {
    /// The longest wait an upstream's `retry-after` is taken at; larger values are clamped to it (and
    /// then to the policy's `maxBackoff`).
    public static let maximum = Duration.seconds(3600)

    /// Parses an upstream's wait hint: `retry-after-ms` (milliseconds, as OpenAI sends) first, else
    /// `retry-after` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3: IMF-fixdate, RFC 850 and
    /// asctime forms). Negative, non-finite and unreadable values are ignored (nil); absurd ones are
    /// clamped to `maximum`; a date in the past is zero.
    public static func parse(_ value: String?, milliseconds: String? = nil, now: Date = Date()) -> Duration? {
        if let milliseconds, let wait = nonNegative(milliseconds) {
            return clamp(wait / 1000)
        }
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty, value.utf8.count <= 64 else { return nil }
        if let seconds = nonNegative(value) { return clamp(seconds) }
        guard let date = httpDate(value) else { return nil }
        return clamp(max(0, date.timeIntervalSince(now)))
    }

    /// A finite, non-negative decimal number (`120`, `1.5`); nil for anything else (`inf`, `nan`, `-5`, `1e400`).
    private static func nonNegative(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 64,
            trimmed.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "+") }),
            let number = Double(trimmed), number.isFinite, number >= 0
        else { return nil }
        return number
    }

    private static func clamp(_ seconds: Double) -> Duration {
        let limit = Double(maximum.components.seconds)
        guard seconds < limit else { return maximum }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    private static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// A wait as `retry-after` delta-seconds for a client (rounded up, at least 1 when non-zero).
    public static func headerValue(_ wait: Duration) -> String {
        let (seconds, attoseconds) = wait.components
        return String(max(0, seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
