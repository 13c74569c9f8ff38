import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardTesting
import Testing

/// An HTTP answer from the mock, fully read.
struct MockReply {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    /// The body as text, with CRLF line ends made LF (Gemini frames SSE with CRLF; Swift keeps "\r\n" as one Character).
    var text: String { String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n") }
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var array: [Any] { (try? JSONSerialization.jsonObject(with: body)) as? [Any] ?? [] }

    /// SSE `data:` payloads, in order (`[DONE]` included as the raw string).
    var dataLines: [String] {
        text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }
            .map { String($0.dropFirst(6)).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// SSE `data:` payloads parsed as JSON objects (the ones that parse).
    var dataObjects: [[String: Any]] { dataLines.compactMap { Self.parse($0) } }

    /// SSE events as (name, payload) pairs.
    var events: [(name: String, data: [String: Any])] {
        text.components(separatedBy: "\n\n").compactMap { frame in
            let lines = frame.components(separatedBy: "\n")
            guard let name = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7),
                let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6)
            else { return nil }
            return (String(name), Self.parse(String(data)) ?? [:])
        }
    }

    /// NDJSON lines parsed as objects.
    var lines: [[String: Any]] { text.split(separator: "\n").compactMap { Self.parse(String($0)) } }

    static func parse(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}

let quietLogger: Logger = {
    var logger = Logger(label: "switchyard.mock.test")
    logger.logLevel = .warning
    return logger
}()

/// Runs `body` against a fresh mock on port 0 and always stops it.
func withMock(
    _ configuration: MockUpstreamConfiguration = .init(), _ body: (MockUpstream) async throws -> Void
) async throws {
    let mock = try await MockUpstream.start(configuration, logger: quietLogger)
    do {
        try await body(mock)
    } catch {
        await mock.stop()
        throw error
    }
    await mock.stop()
}

extension MockUpstream {
    func send(
        _ method: HTTPMethod = .POST, _ path: String, json: Any? = nil, headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> MockReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        return MockReply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    func openAI(_ json: [String: Any], headers: [(String, String)] = []) async throws -> MockReply {
        try await send(.POST, "/v1/chat/completions", json: json, headers: headers)
    }

    func anthropic(_ json: [String: Any], headers: [(String, String)] = [("anthropic-version", "2023-06-01")]) async throws -> MockReply {
        try await send(.POST, "/v1/messages", json: json, headers: headers)
    }

    func gemini(_ model: String, _ action: String, _ json: [String: Any], query: String = "", headers: [(String, String)] = [])
        async throws -> MockReply
    {
        try await send(.POST, "/v1beta/models/\(model):\(action)\(query)", json: json, headers: headers)
    }

    func ollama(_ json: [String: Any]) async throws -> MockReply {
        try await send(.POST, "/api/chat", json: json)
    }
}

/// `[[String: Any]]` helpers that keep the tests readable.
extension Dictionary where Key == String, Value == Any {
    subscript(object key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
    subscript(array key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    subscript(string key: String) -> String? { self[key] as? String }
    subscript(int key: String) -> Int? { self[key] as? Int }
}

func user(_ text: String) -> [String: Any] { ["role": "user", "content": text] }
