import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import SwitchyardCore

extension Request {
    /// The key a client presented: `Authorization: Bearer`, `x-api-key` (Anthropic SDKs) or `api-key` (Azure SDKs).
    var presentedKey: String? { Self.presentedKey(headers) }

    /// The bearer token, else `x-api-key` or Azure's `api-key`.
    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization] {
            // Byte-wise (this runs for every request): optional whitespace (space, tab) trimmed, the scheme
            // matched without regard to case.
            var bytes = Substring(authorization).utf8
            bytes = Self.trimmingWhitespace(bytes)
            let scheme = "bearer ".utf8
            if bytes.count >= scheme.count, zip(bytes.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) {
                bytes = Self.trimmingWhitespace(bytes.dropFirst(scheme.count))
            }
            return String(Substring(bytes))
        }
        return headers[.apiKey] ?? headers[.azureAPIKey]
    }

    private static func trimmingWhitespace(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.endIndex...]
        }
        return bytes[first...last]
    }

    /// The context of a model-serving request: its route and cache headers as sent, and its
    /// `x-switchyard-episode-id`, checked (1 to 128 printable ASCII characters, else a 400 naming it).
    func servingContext(requestID: String, caller: Caller, protocol clientProtocol: ClientProtocol, logger: Logger) throws -> CallContext {
        var context = CallContext(
            requestID: requestID, caller: caller, clientProtocol: clientProtocol, routeHeader: headers[.switchyardRoute],
            cacheHeader: headers[.switchyardCache], logger: logger)
        if let episode = headers[.switchyardEpisodeID] {
            guard Feedback.isValidEpisodeID(episode) else {
                throw SwitchyardError.invalidRequest(
                    "The x-switchyard-episode-id header must be 1 to \(Feedback.maximumEpisodeIDLength) printable ASCII characters "
                        + "(\(episode.utf8.count) bytes were sent).",
                    param: "x-switchyard-episode-id")
            }
            context.episodeID = episode
        }
        return context
    }

    /// Reads the body up to `limit` bytes; a larger body is a 413, not a crash or a hang.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw SwitchyardError.payloadTooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw SwitchyardError.payloadTooLarge(limit: limit)
        }
    }
}

enum JSONBody {
    /// Decodes a request body; malformed JSON and wrong fields become 400s naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        guard buffer.readableBytes > 0 else { throw SwitchyardError.invalidRequest("The request body is empty; send a JSON object.") }
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch let error as DecodingError {
            throw SwitchyardError.decoding(error)
        } catch let error as SwitchyardError {
            throw error
        } catch {
            throw SwitchyardError.invalidRequest("The request body is not valid JSON.")
        }
    }

    static func encode(_ value: some Encodable) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return ByteBuffer(bytes: try encoder.encode(value))
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: try encode(value)))
    }
}

/// Server-sent event framing.
enum SSE {
    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    static func data(_ value: some Encodable, encoder: JSONEncoder) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(try encoder.encode(value))
        buffer.writeString("\n\n")
        return buffer
    }

    static func event(_ event: Anthropic.StreamEvent, encoder: JSONEncoder) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(event.name)\ndata: ")
        buffer.writeBytes(try encoder.encode(event.payload))
        buffer.writeString("\n\n")
        return buffer
    }

    static var headers: HTTPFields {
        [.contentType: "text/event-stream", .cacheControl: "no-cache", .accelBuffering: "no"]
    }
}
