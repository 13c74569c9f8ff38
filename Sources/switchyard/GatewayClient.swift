import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// A running gateway's HTTP API, for the commands that read from it (fresh: the gateway writes its
/// queued request-log lines before it answers) rather than from its files.
struct GatewayClient {
    var url: String
    var key: String?

    init(url: String, key: String? = nil) {
        self.url = url.trimmingCharacters(in: ["/"])
        let fallback = ProcessInfo.processInfo.environment["SWITCHYARD_KEY"]
        self.key = (key ?? fallback).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sends a request; a non-2xx answer is a `CommandFailure` carrying the gateway's message.
    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, headers: [(String, String)] = []) async throws -> JSONValue {
        try await call(method, path, json: body.map { Data($0.jsonString().utf8) }, headers: headers)
    }

    /// Sends `json` as it is (a file's bytes, not decoded and encoded again).
    func call(_ method: HTTPMethod, _ path: String, json body: Data?, headers: [(String, String)] = []) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let key { request.headers.add(name: "authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { client.shutdown { _ in } }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(120))
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw CommandFailure("Cannot reach the gateway at \(url): \(error). Is `switchyard serve` running?", .unavailable)
        }
        let json = JSONValue.parse(Data(bytes.readableBytesView)) ?? .null
        guard response.status.code < 300 else {
            let message = json["error"]?["message"]?.stringValue ?? String(buffer: bytes).prefix(300).description
            var failure = CommandFailure.http(Int(response.status.code), message)
            if response.status.code == 401 { failure.message += " (give --key or set SWITCHYARD_KEY)" }
            throw failure
        }
        return json
    }
}

/// `--url` and `--key` for commands that talk to a running gateway; by default the one `serve` started.
struct GatewayConnection: ParsableArguments {
    @Option(help: "Gateway base URL (default: $SWITCHYARD_URL, else the running gateway `switchyard serve` started).")
    var url: String?

    @Option(help: "API key (default: $SWITCHYARD_KEY).")
    var key: String?

    var client: GatewayClient { GatewayClient(url: RunningGateways.url(url), key: key) }
}
