import Foundation
import Gateway
import HTTPTypes
import NIOCore
import SwitchyardCore
import Testing

/// Every input that once crashed, wedged or answered 5xx, replayed with the fuzzers' checks and the
/// exact status it must get now. New finds go in `Corpus/crashers.json`.
@Suite("Fuzz: regression corpus", .serialized)
struct RegressionCorpusTests {
    static let corpus: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/crashers.json")
        return (try? Data(contentsOf: url)).flatMap(JSONValue.parse) ?? .null
    }()

    @Test func corpusIsReadable() {
        #expect((Self.corpus["client"]?.arrayValue?.count ?? 0) > 0 && (Self.corpus["upstream"]?.arrayValue?.count ?? 0) > 0)
    }

    @Test func clientCrashers() async throws {
        let cases = Self.corpus["client"]?.arrayValue ?? []
        try await ClientEndpointFuzzTests.withRouter { client, mock in
            await mock.clearRecordedRequests()  // the setup's own embedding calls
            for item in cases {
                let path = item["path"]?.stringValue ?? ""
                let body = item["body"]?.stringValue ?? ""
                let endpoint = try #require(ClientEndpointFuzzTests.endpoints.first { $0.path == path })
                var headers: HTTPFields = [.contentType: "application/json"]
                for field in endpoint.headers { headers.append(field) }
                let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
                ClientEndpointFuzzTests.check(response, endpoint: endpoint, upstreamCalled: false, input: body)
                #expect(Int(response.status.code) == item["status"]?.intValue, "\(body): \(response.status) \(String(buffer: response.body).prefix(300))")
                if path == "/mcp" {
                    // A bad tool argument is the tool's error (or a JSON-RPC invalid-params), not a crash.
                    let reply = JSONValue.parse(Data(response.body.readableBytesView))
                    #expect(reply?["error"] != nil || reply?["result"]?["isError"] == true, "\(String(buffer: response.body).prefix(300))")
                }
            }
            #expect(await mock.recordedRequests().isEmpty, "a bad input reached the upstream")
        }
    }

    @Test func upstreamCrashers() async throws {
        let cases = Self.corpus["upstream"]?.arrayValue ?? []
        try await UpstreamAnswerFuzzTests.withGateway { client, upstream in
            for (index, item) in cases.enumerated() {
                var script = UpstreamAnswerFuzzTests.Script()
                script.status = item["status"]?.intValue ?? 200
                script.headers = (item["headers"]?.arrayValue ?? []).compactMap { pair in
                    guard let name = pair.arrayValue?.first?.stringValue, let value = pair.arrayValue?.last?.stringValue else { return nil }
                    return (name, value)
                }
                script.pieces = (item["pieces"]?.arrayValue ?? []).compactMap(\.stringValue).map { Array($0.utf8) }
                let model = item["model"]?.stringValue ?? item["kind"]?.stringValue ?? ""
                let started = ContinuousClock.now
                let response = try await UpstreamAnswerFuzzTests.exchange(
                    client, upstream, script: script, model: model, stream: item["stream"]?.boolValue ?? false, nonce: UInt64(index))
                // Absurd retry-after values are clamped to the group's max_backoff_ms (20 ms), never waited out.
                #expect(ContinuousClock.now - started < .seconds(30), "case \(index) took \(ContinuousClock.now - started)")
                if script.status == 200, item["stream"]?.boolValue == false {
                    let json = JSONValue.parse(Data(response.body.readableBytesView))
                    #expect(json?["switchyard"]?["usage_estimated"] == true, "case \(index): implausible usage not estimated: \(String(buffer: response.body).prefix(300))")
                }
            }
        }
    }

    @Test func configCrashers() {
        for snippet in (Self.corpus["config"]?.arrayValue ?? []).compactMap(\.stringValue) {
            let yaml = "providers: [{name: p, kind: openai, base_url: \"http://127.0.0.1:9/v1\"}]\nmodels: [{name: a, provider: p, price: {input: 1, output: 1}}]\n" + snippet
            #expect(throws: SwitchyardError.self, "\(snippet)") { try ConfigurationLoader.parse(yaml, source: "corpus.yaml") }
        }
    }
}
