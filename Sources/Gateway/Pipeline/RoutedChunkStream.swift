import Foundation
import Providers
import SwitchyardCore

/// The chunks of the chosen attempt: the first one (already received while choosing) and the rest.
public struct RoutedChunkStream: AsyncSequence, Sendable {
    public typealias Element = ChatChunk
    private let prefix: [ChatChunk]
    private let rest: IteratorBox
    /// The output guard the chunks pass through, if any.
    let outputGuard: GuardStreamFilter?

    /// Holds the upstream iterator between the gateway and the one task that drains it.
    /// `@unchecked Sendable`: the iterator is handed over once and then only touched by that task.
    final class IteratorBox: @unchecked Sendable {
        var iterator: ChatChunkStream.Iterator
        init(_ iterator: ChatChunkStream.Iterator) { self.iterator = iterator }
    }

    init(prefix: [ChatChunk], rest: ChatChunkStream.Iterator) {
        self.prefix = prefix
        self.rest = IteratorBox(rest)
        self.outputGuard = nil
    }

    /// Chunks already in memory (a cache hit).
    init(replay chunks: [ChatChunk]) {
        self.prefix = chunks
        self.rest = IteratorBox(ChatChunkStream(chunks: []).makeAsyncIterator())
        self.outputGuard = nil
    }

    private init(prefix: [ChatChunk], rest: IteratorBox, filter: GuardStreamFilter?) {
        self.prefix = prefix
        self.rest = rest
        self.outputGuard = filter
    }

    /// The same chunks, through an output guard.
    func guarded(by filter: GuardStreamFilter) -> RoutedChunkStream {
        RoutedChunkStream(prefix: prefix, rest: rest, filter: filter.isActive ? filter : nil)
    }

    public func makeAsyncIterator() -> Iterator { Iterator(prefix: prefix, box: rest, filter: outputGuard) }

    public struct Iterator: AsyncIteratorProtocol {
        var prefix: [ChatChunk]
        var index = 0
        let box: IteratorBox
        let filter: GuardStreamFilter?
        /// Chunks the filter released and not yet handed out.
        var released: [ChatChunk] = []
        var ended = false

        init(prefix: [ChatChunk], box: IteratorBox, filter: GuardStreamFilter?) {
            self.prefix = prefix
            self.box = box
            self.filter = filter
        }

        public mutating func next() async throws -> ChatChunk? {
            guard let filter else { return try await nextUnfiltered() }
            while true {
                if !released.isEmpty { return released.removeFirst() }
                if ended { return nil }
                if let chunk = try await nextUnfiltered() {
                    released = try await Self.run(filter) { try $0.process(chunk) }
                } else {
                    ended = true
                    released = try await Self.run(filter) { try $0.finish() }
                }
            }
        }

        /// A filter that scans for personal data runs off the event loop (a window's scan is milliseconds of encoder
        /// work); one that only rehydrates placeholders is cheap and runs here. The iterator calls it one chunk at a
        /// time, so the filter is never used from two threads at once.
        static func run(_ filter: GuardStreamFilter, _ body: @escaping @Sendable (GuardStreamFilter) throws -> [ChatChunk]) async throws -> [ChatChunk] {
            guard filter.scansPII else { return try body(filter) }
            return try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async { continuation.resume(with: Result { try body(filter) }) }
            }
        }

        mutating func nextUnfiltered() async throws -> ChatChunk? {
            if index < prefix.count {
                defer { index += 1 }
                return prefix[index]
            }
            return try await box.iterator.next()
        }
    }
}
