import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

/// Relays a started chat stream to the client in the client's own framing. The streaming routes
/// (chat completions, completions, messages, responses) differ only in how they frame the start,
/// each chunk and the end; this does the rest once: accounting of every chunk, settling cost and
/// budgets exactly once whether the stream ends, fails or the client goes away, and never writing
/// to a client that has gone.
enum StreamRelay {
    enum End {
        case finished(usage: Usage, cost: Double)
        case failed(SwitchyardError)
    }

    static func run(
        _ outcome: StreamOutcome, gateway: Gateway, writer: inout any ResponseBodyWriter,
        start: () throws -> ByteBuffer? = { nil },
        chunk: (ChatChunk) throws -> ByteBuffer?,
        end: (End, StreamAccounting) throws -> ByteBuffer?
    ) async throws {
        var accounting = outcome.accounting
        var failure: (any Error)?
        var clientGone = false
        do {
            if let opening = try start(), opening.readableBytes > 0 {
                clientGone = !(await deliver(opening, to: &writer))
                if clientGone { throw CancellationError() }
            }
            for try await piece in outcome.chunks {
                accounting.observe(piece)
                guard let framed = try chunk(piece), framed.readableBytes > 0 else { continue }
                clientGone = !(await deliver(framed, to: &writer))
                if clientGone { throw CancellationError() }
            }
        } catch {
            failure = error
        }
        let (usage, cost) = gateway.finish(accounting, error: failure)
        guard !clientGone else { return }
        let ending: End = failure.map { .failed(ErrorResponses.normalize($0)) } ?? .finished(usage: usage, cost: cost)
        if let closing = try end(ending, accounting), closing.readableBytes > 0 { try await writer.write(closing) }
        try await writer.finish(nil)
    }

    /// False when the client has gone.
    private static func deliver(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter) async -> Bool {
        do {
            try await writer.write(buffer)
            return true
        } catch {
            return false
        }
    }

    /// OpenAI's mid-stream error event (`data: {"error": …}`).
    static func openAIError(_ error: SwitchyardError, encoder: JSONEncoder) throws -> ByteBuffer {
        let payload: JSONValue = [
            "error": [
                "message": .string(error.message), "type": .string(ErrorResponses.openAIType(status: error.status)),
                "param": .null, "code": .string(ErrorResponses.openAICode(error)),
            ]
        ]
        return try SSE.data(payload, encoder: encoder)
    }

    /// An event stream's head: SSE's headers and the `x-switchyard-*` ones known before the first byte.
    static func headers(context: CallContext, outcome: StreamOutcome) -> HTTPFields {
        var headers = SSE.headers
        for field in ChatCompletionsRoute.headers(
            context: context, model: outcome.model, provider: outcome.provider, trace: outcome.trace, cache: outcome.cache,
            similarity: outcome.cacheSimilarity, admission: outcome.admission, guardrail: outcome.guardrail,
                cacheVerify: outcome.cacheVerify)
        {
            headers.append(field)
        }
        return headers
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}
