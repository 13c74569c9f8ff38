/// One framed message of a byte stream: a server-sent event, or one NDJSON line (then `event` is nil).
public struct StreamMessage: Sendable, Hashable {
    public var event: String?
    public var data: String
    public var id: String?

    public init(event: String?, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// An event (or line) bigger than the parser's cap: the stream is broken or hostile, and reading on
/// would only grow memory.
public struct EventTooLargeError: Error, Sendable, Hashable {
    public var limit: Int
}

/// The one incremental parser for `text/event-stream` (WHATWG rules: CR, LF and CRLF line ends split
/// anywhere across reads, comments, multi-line `data:`, `event:` and `id:`) and for newline-delimited
/// JSON. Upstream provider streams and MCP's Streamable HTTP both go through it.
///
/// Memory is bounded: an event whose lines add up to more than `maximumEventBytes` (or an NDJSON
/// line that long) throws `EventTooLargeError` instead of buffering on.
public struct EventStreamParser: Sendable {
    public enum Format: Sendable { case serverSentEvents, newlineDelimitedJSON }

    /// 8 MiB: far above any real event (a chat chunk is a few hundred bytes; a whole Gemini answer
    /// in one event rarely reaches a megabyte), far below what could hurt the process.
    public static let defaultMaximumEventBytes = 8 * 1024 * 1024

    public let format: Format
    public let maximumEventBytes: Int
    private var pending: [UInt8] = []
    private var lastWasCR = false
    private var event: String?
    private var data: [String] = []
    private var dataBytes = 0
    private var id: String?

    public init(format: Format, maximumEventBytes: Int = defaultMaximumEventBytes) {
        self.format = format
        self.maximumEventBytes = max(1, maximumEventBytes)
    }

    /// Feeds bytes as they arrive; returns the messages they complete.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [StreamMessage] {
        var messages: [StreamMessage] = []
        var lineStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            guard byte == 0x0A || byte == 0x0D else {
                index += 1
                continue
            }
            if byte == 0x0A && lastWasCR && index == lineStart && pending.isEmpty {
                // The LF of a CRLF whose CR ended the previous read (or the previous line).
                lastWasCR = false
                index += 1
                lineStart = index
                continue
            }
            lastWasCR = byte == 0x0D
            let line: String
            if pending.isEmpty {
                line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]), as: UTF8.self)
            } else {
                pending.append(contentsOf: bytes[lineStart..<index])
                line = String(decoding: pending, as: UTF8.self)
                pending.removeAll(keepingCapacity: pending.count <= 64 * 1024)
            }
            if let message = try take(line) { messages.append(message) }
            index += 1
            lineStart = index
        }
        if lineStart < count {
            lastWasCR = false
            pending.append(contentsOf: bytes[lineStart..<count])
            if pending.count + dataBytes > maximumEventBytes { throw EventTooLargeError(limit: maximumEventBytes) }
        }
        return messages
    }

    /// Feeds any byte sequence (tests, small reads).
    public mutating func feed(bytes: some Sequence<UInt8>) throws -> [StreamMessage] {
        let array = Array(bytes)
        return try array.withUnsafeBytes { try feed($0) }
    }

    /// The stream ended: a last line without its newline, and (SSE) an event not closed by a blank
    /// line, are delivered — upstreams that end without the final blank line still mean it.
    public mutating func finish() throws -> [StreamMessage] {
        var messages: [StreamMessage] = []
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll()
            if let message = try take(line) { messages.append(message) }
        }
        if format == .serverSentEvents, !data.isEmpty {
            messages.append(StreamMessage(event: event, data: data.joined(separator: "\n"), id: id))
        }
        data.removeAll()
        dataBytes = 0
        event = nil
        lastWasCR = false
        return messages
    }

    private mutating func take(_ line: String) throws -> StreamMessage? {
        switch format {
        case .newlineDelimitedJSON:
            guard line.utf8.count <= maximumEventBytes else { throw EventTooLargeError(limit: maximumEventBytes) }
            let trimmed = line.trimmingWhitespace()
            return trimmed.isEmpty ? nil : StreamMessage(event: nil, data: trimmed)
        case .serverSentEvents:
            if line.isEmpty {
                defer {
                    data.removeAll(keepingCapacity: true)
                    dataBytes = 0
                    event = nil
                }
                guard !data.isEmpty else { return nil }
                return StreamMessage(event: event, data: data.joined(separator: "\n"), id: id)
            }
            if line.utf8.first == UInt8(ascii: ":") { return nil }  // comment
            let (field, value) = Self.split(line)
            switch field {
            case "data":
                dataBytes += value.utf8.count + 1
                guard dataBytes <= maximumEventBytes else { throw EventTooLargeError(limit: maximumEventBytes) }
                data.append(value)
            case "event":
                event = value
            case "id":
                if !value.utf8.contains(0) { id = value }
            default:
                break
            }
            return nil
        }
    }

    private static func split(_ line: String) -> (Substring, String) {
        guard let colon = line.firstIndex(of: ":") else { return (Substring(line), "") }
        var value = line[line.index(after: colon)...]
        if value.hasPrefix(" ") { value = value.dropFirst() }
        return (line[..<colon], String(value))
    }
}

extension String {
    /// The string without leading and trailing whitespace (Foundation-free).
    public func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
