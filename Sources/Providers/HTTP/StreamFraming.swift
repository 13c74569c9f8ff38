import NIOCore

/// One framed message of an upstream stream: an SSE event, or one NDJSON line (then `event` is nil).
public struct StreamMessage: Sendable, Hashable {
    public var event: String?
    public var data: String
}

/// Splits a byte stream into messages. Bytes arrive in arbitrary pieces; partial lines are kept.
public struct StreamFramer: Sendable {
    public enum Format: Sendable { case serverSentEvents, newlineDelimitedJSON }

    private let format: Format
    private var pending: [UInt8] = []
    private var event: String?
    private var data: [String] = []

    public init(format: Format) {
        self.format = format
    }

    public mutating func feed(_ buffer: ByteBuffer) -> [StreamMessage] {
        var messages: [StreamMessage] = []
        buffer.withUnsafeReadableBytes { bytes in
            var lineStart = 0
            for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "\n") {
                var line: String
                if pending.isEmpty {
                    line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]), as: UTF8.self)
                } else {
                    pending.append(contentsOf: bytes[lineStart..<index])
                    line = String(decoding: pending, as: UTF8.self)
                    pending.removeAll(keepingCapacity: true)
                }
                if line.hasSuffix("\r") { line.removeLast() }
                if let message = take(line) { messages.append(message) }
                lineStart = index + 1
            }
            if lineStart < bytes.count { pending.append(contentsOf: bytes[lineStart...]) }
        }
        return messages
    }

    /// Whatever is left when the stream ends (a last line without a newline).
    public mutating func finish() -> [StreamMessage] {
        var messages: [StreamMessage] = []
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll()
            if let message = take(line) { messages.append(message) }
        }
        if format == .serverSentEvents, !data.isEmpty {
            messages.append(StreamMessage(event: event, data: data.joined(separator: "\n")))
            data.removeAll()
            event = nil
        }
        return messages
    }

    private mutating func take(_ line: String) -> StreamMessage? {
        switch format {
        case .newlineDelimitedJSON:
            let trimmed = line.trimmingWhitespace()
            return trimmed.isEmpty ? nil : StreamMessage(event: nil, data: trimmed)
        case .serverSentEvents:
            if line.isEmpty {
                guard !data.isEmpty else {
                    event = nil
                    return nil
                }
                let message = StreamMessage(event: event, data: data.joined(separator: "\n"))
                data.removeAll(keepingCapacity: true)
                event = nil
                return message
            }
            if line.hasPrefix(":") { return nil }
            let (field, value) = Self.split(line)
            switch field {
            case "data": data.append(value)
            case "event": event = value
            default: break
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
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
