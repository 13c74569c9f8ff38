import Foundation

/// An incremental `text/event-stream` parser (WHATWG rules): bytes in, complete events out.
/// Handles CR, LF and CRLF line ends split across reads, comments, multi-line `data:` and `id:`.
public struct ServerSentEventParser: Sendable {
    public struct Event: Sendable, Hashable {
        public var event: String
        public var data: String
        public var id: String?
    }

    private var line: [UInt8] = []
    private var lastWasCR = false
    private var eventName = ""
    private var data: [String] = []
    private var hasData = false
    private var id: String?

    public init() {}

    /// Feeds bytes; returns the events they complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if lastWasCR {
                    lastWasCR = false
                    continue
                }
                if let event = endLine() { events.append(event) }
            } else if byte == UInt8(ascii: "\r") {
                lastWasCR = true
                if let event = endLine() { events.append(event) }
            } else {
                lastWasCR = false
                line.append(byte)
            }
        }
        return events
    }

    /// The stream ended: an event not yet closed by a blank line is dropped, as the standard says.
    public mutating func finish() {
        line.removeAll()
        data.removeAll()
        hasData = false
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                eventName = ""
                data.removeAll()
                hasData = false
            }
            guard hasData else { return nil }
            return Event(event: eventName.isEmpty ? "message" : eventName, data: data.joined(separator: "\n"), id: id)
        }
        if line.first == UInt8(ascii: ":") { return nil }  // comment
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "event": eventName = String(value)
        case "data":
            data.append(String(value))
            hasData = true
        case "id": if !value.contains("\0") { id = String(value) }
        default: break
        }
        return nil
    }
}
