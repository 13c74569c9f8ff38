import NIOCore
import SwitchyardCore

/// Splits an upstream body into messages as its buffers arrive (SSE or NDJSON), with
/// `EventStreamParser`'s rules and its cap on one event's size.
public struct StreamFramer: Sendable {
    public typealias Format = EventStreamParser.Format

    private var parser: EventStreamParser

    public init(format: Format, maximumEventBytes: Int = EventStreamParser.defaultMaximumEventBytes) {
        parser = EventStreamParser(format: format, maximumEventBytes: maximumEventBytes)
    }

    public mutating func feed(_ buffer: ByteBuffer) throws -> [StreamMessage] {
        try buffer.withUnsafeReadableBytes { try parser.feed($0) }
    }

    /// Whatever is left when the stream ends (a last line without a newline).
    public mutating func finish() throws -> [StreamMessage] {
        try parser.finish()
    }
}
