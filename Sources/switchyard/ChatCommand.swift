import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import SwitchyardCore

/// `switchyard chat -m MODEL "prompt"`: one chat turn through a running gateway, streamed to the terminal.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Send one prompt through a running gateway and stream the answer.")

    @Option(name: .shortAndLong, help: "Model (or route) name.")
    var model: String

    @Argument(help: "The prompt.")
    var prompt: String

    @Option(name: .shortAndLong, help: "A system prompt.")
    var system: String?

    @Option(help: "Gateway base URL (default: $SWITCHYARD_URL, else the running gateway `switchyard serve` started).")
    var url: String?

    @Option(help: "API key (default: $SWITCHYARD_KEY).")
    var key: String?

    @Flag(help: "Wait for the whole answer instead of streaming.")
    var noStream = false

    func run() async throws {
        var messages: [ChatMessage] = []
        if let system { messages.append(.system(system)) }
        messages.append(.user(prompt))
        var body = ChatRequest(model: model, messages: messages)
        body.stream = !noStream
        body.includeUsage = !noStream

        let url = RunningGateways.url(self.url)
        var request = HTTPClientRequest(url: url.trimmingCharacters(in: ["/"]) + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let key = key ?? ProcessInfo.processInfo.environment["SWITCHYARD_KEY"], !key.isEmpty {
            request.headers.add(name: "authorization", value: "Bearer \(key)")
        }
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await exchange(request, client: client, url: url)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
    }

    private func exchange(_ request: HTTPClientRequest, client: HTTPClient, url: String) async throws {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(600))
        } catch {
            throw CommandFailure("Cannot reach the gateway at \(url): \(error). Is `switchyard serve` running?", .unavailable)
        }
        let headers = response.headers
        guard response.status == .ok else {
            let text = try await response.body.collect(upTo: 1 << 20)
            let message = JSONValue.parse(Data(text.readableBytesView))?["error"]?["message"]?.stringValue
            throw CommandFailure.http(Int(response.status.code), message ?? String(buffer: text))
        }
        var usage: Usage?
        var cost: String? = headers.first(name: "x-switchyard-cost-usd")
        if noStream {
            let data = try await response.body.collect(upTo: 64 << 20)
            let completion = try JSONDecoder().decode(ChatResponse.self, from: data)
            print(completion.message?.text ?? "")
            for call in completion.message?.toolCalls ?? [] { print("[tool call] \(call.function.name)(\(call.function.arguments))") }
            usage = completion.usage
        } else {
            var pending = ""
            for try await buffer in response.body {
                pending += String(buffer: buffer)
                while let range = pending.range(of: "\n\n") {
                    let event = String(pending[..<range.lowerBound])
                    pending = String(pending[range.upperBound...])
                    for line in event.split(separator: "\n") where line.hasPrefix("data: ") {
                        let data = line.dropFirst(6)
                        if data == "[DONE]" { continue }
                        guard let json = JSONValue.parse(String(data)) else { continue }
                        if let error = json["error"] {
                            print("\n[stream error] \(error["message"]?.stringValue ?? "unknown")")
                            continue
                        }
                        if let text = json["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue {
                            print(text, terminator: "")
                            fflush(nil)
                        }
                        if let value = json["usage"], let prompt = value["prompt_tokens"]?.intValue,
                            let completion = value["completion_tokens"]?.intValue
                        {
                            usage = Usage(promptTokens: prompt, completionTokens: completion)
                        }
                        if let value = json["switchyard"]?["cost_usd"]?.doubleValue { cost = String(format: "%.10f", value) }
                    }
                }
            }
            print()
        }
        var summary = "[model \(headers.first(name: "x-switchyard-model") ?? model) via \(headers.first(name: "x-switchyard-provider") ?? "?")"
        if let usage { summary += ", \(usage.promptTokens) in / \(usage.completionTokens) out tokens" }
        if let cost { summary += ", $\(cost)" }
        summary += ", request \(headers.first(name: "x-switchyard-request-id") ?? "?")]"
        FileHandle.standardError.write(Data((summary + "\n").utf8))
    }
}
