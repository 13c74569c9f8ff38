import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import Testing

@testable import Gateway

/// `POST /v1/switchyard/feedback` through the live server: stored, shown on the request, refused
/// with a 400 naming the field, a 404 naming the id, and scoped like the request log.
@Suite("Feedback, live")
struct FeedbackLiveTests {
    static let episodeHeader = HTTPField.Name("x-switchyard-episode-id")!

    @Test func feedbackOnARequestAndItsEpisodeIsStoredAndShown() async throws {
        try await LiveHarness.run { client, _, gateway in
            let answer = try await client.post(
                "/v1/chat/completions", json: Body.chat("m-openai", "hello"), headers: [Self.episodeHeader: "ep-42"])
            #expect(answer.status == .ok)
            let id = try #require(answer.header("x-switchyard-request-id"))
            // At once: the line may still be in the log's queue, and must be found anyway.
            let given = try await client.post(
                "/v1/switchyard/feedback", json: #"{"request_id": "\#(id)", "metric": "helpful", "value": true, "comment": "spot on", "extra": 1}"#)
            #expect(given.status == .created, "\(given.text)")
            let stored = try #require(given.json)
            #expect(stored["request_id"] == .string(id) && stored["episode_id"] == .null && stored["metric"] == "helpful")
            #expect(stored["value"] == true && stored["comment"] == "spot on" && stored["object"] == "feedback")
            #expect(stored["id"]?.stringValue?.hasPrefix("fb_") == true && stored["created_at"]?.doubleValue != nil)

            let episode = try await client.post("/v1/switchyard/feedback", json: #"{"episode_id": "ep-42", "metric": "rating", "value": 4.5}"#)
            #expect(episode.status == .created, "\(episode.text)")
            #expect(episode.json?["episode_id"] == "ep-42" && episode.json?["request_id"] == .null && episode.json?["value"] == 4.5)
            let again = try await client.post("/v1/switchyard/feedback", json: #"{"request_id": "\#(id)", "metric": "helpful", "value": false}"#)
            #expect(again.status == .created)

            let record = try await client.get("/v1/switchyard/requests/\(id)")
            #expect(record.json?["episode_id"] == "ep-42")
            let feedback = record.json?["feedback"]?.arrayValue ?? []
            #expect(feedback.map { $0["metric"]?.stringValue } == ["helpful", "rating", "helpful"])
            #expect(feedback.map { $0["value"] } == [true, 4.5, false])
            // The listing carries it too.
            let list = try await client.get("/v1/switchyard/requests?limit=5")
            let listed = (list.json?["data"]?.arrayValue ?? []).first { $0["id"] == .string(id) }
            #expect(listed?["feedback"]?.arrayValue?.count == 3)
            // A request without feedback shows an empty list, not a missing field.
            let other = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "again"))
            let plain = try await client.get("/v1/switchyard/requests/\(other.header("x-switchyard-request-id") ?? "")")
            #expect(plain.json?["feedback"] == .array([]))
            _ = gateway
        }
    }

    @Test func unknownTargetsAre404sNamingThem() async throws {
        try await LiveHarness.run { client, _, _ in
            let request = try await client.post("/v1/switchyard/feedback", json: #"{"request_id": "req_nope", "metric": "helpful", "value": true}"#)
            #expect(request.status == .notFound)
            #expect(request.json?["error"]?["param"] == "request_id")
            #expect(request.json?["error"]?["message"]?.stringValue?.contains("req_nope") == true)
            #expect(request.json?["error"]?["type"] != nil)
            let episode = try await client.post("/v1/switchyard/feedback", json: #"{"episode_id": "never-seen", "metric": "helpful", "value": 1}"#)
            #expect(episode.status == .notFound && episode.json?["error"]?["param"] == "episode_id")
            #expect(episode.json?["error"]?["message"]?.stringValue?.contains("never-seen") == true)
            let long = try await client.post(
                "/v1/switchyard/feedback", json: #"{"request_id": "\#(String(repeating: "r", count: 5000))", "metric": "m", "value": 1}"#)
            #expect(long.status == .notFound && long.text.utf8.count < 1000)
        }
    }

    @Test(arguments: [
        (#"{"metric": "helpful", "value": true}"#, "request_id"),
        (#"{"request_id": "req_1", "episode_id": "ep", "metric": "helpful", "value": true}"#, "episode_id"),
        (#"{"request_id": 12, "metric": "helpful", "value": true}"#, "request_id"),
        (#"{"request_id": "", "metric": "helpful", "value": true}"#, "request_id"),
        (#"{"episode_id": "tab\there", "metric": "helpful", "value": true}"#, "episode_id"),
        (#"{"request_id": "req_1", "value": true}"#, "metric"),
        (#"{"request_id": "req_1", "metric": "", "value": true}"#, "metric"),
        (#"{"request_id": "req_1", "metric": "has space", "value": true}"#, "metric"),
        (#"{"request_id": "req_1", "metric": "\#(String(repeating: "m", count: 65))", "value": true}"#, "metric"),
        (#"{"request_id": "req_1", "metric": 7, "value": true}"#, "metric"),
        (#"{"request_id": "req_1", "metric": "helpful"}"#, "value"),
        (#"{"request_id": "req_1", "metric": "helpful", "value": "yes"}"#, "value"),
        (#"{"request_id": "req_1", "metric": "helpful", "value": null}"#, "value"),
        (#"{"request_id": "req_1", "metric": "helpful", "value": {"score": 1}}"#, "value"),
        (#"{"request_id": "req_1", "metric": "helpful", "value": [1]}"#, "value"),
        (#"{"request_id": "req_1", "metric": "helpful", "value": 1, "comment": 5}"#, "comment"),
        (#"{"request_id": "req_1", "metric": "helpful", "value": 1, "comment": "\#(String(repeating: "c", count: 4097))"}"#, "comment"),
    ])
    func badBodiesAre400sNamingTheField(body: String, field: String) async throws {
        try await LiveHarness.run { client, _, _ in
            let response = try await client.post("/v1/switchyard/feedback", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.json?["error"]?["param"] == .string(field), "\(response.text)")
            #expect(response.json?["error"]?["type"] == "invalid_request_error")
        }
    }

    @Test func nonFiniteAndMalformedBodiesAre400s() async throws {
        try await LiveHarness.run { client, _, _ in
            // Numbers no Double holds: 400s that still name the field.
            for value in ["1e309", "-1e400"] {
                let response = try await client.post("/v1/switchyard/feedback", json: #"{"request_id": "req_1", "metric": "m", "value": \#(value)}"#)
                #expect(response.status == .badRequest && response.json?["error"]?["param"] == "value", "\(value.prefix(20)): \(response.text)")
            }
            // Not an object, not JSON, or nested past the decoder's depth limit (found while parsing, before any field).
            let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            for body in ["[1]", "nope", "", "{\"request_id\": \"req_1\", \"metric\": \"m\"", #"{"request_id": "req_1", "metric": "m", "value": \#(deep)}"#] {
                let response = try await client.post("/v1/switchyard/feedback", json: body)
                #expect(response.status == .badRequest && response.json?["error"]?["param"] == .null, "\(body): \(response.text)")
            }
            // A comment of exactly 4 KB is fine (the target is then what fails: a 404).
            let edge = try await client.post(
                "/v1/switchyard/feedback", json: #"{"request_id": "req_1", "metric": "m", "value": 0, "comment": "\#(String(repeating: "c", count: 4096))"}"#)
            #expect(edge.status == .notFound)
        }
    }

    @Test func theEpisodeHeaderIsCheckedAndRecorded() async throws {
        try await LiveHarness.run { client, _, _ in
            for bad in [String(repeating: "e", count: 129), "   "] {
                let response = try await client.post("/v1/chat/completions", json: Body.chat("m-openai", "hi"), headers: [Self.episodeHeader: bad])
                #expect(response.status == .badRequest)
                #expect(response.json?["error"]?["param"] == "x-switchyard-episode-id")
            }
            let anthropic = try await client.post(
                "/v1/messages", json: Body.messages("m-openai", "hi"),
                headers: [HTTPField.Name("anthropic-version")!: "2023-06-01", Self.episodeHeader: String(repeating: "e", count: 200)])
            #expect(anthropic.status == .badRequest && anthropic.json?["type"] == "error")
            var ids: [String] = []
            for (path, body) in [
                ("/v1/chat/completions", Body.chat("m-openai", "one")), ("/v1/messages", Body.messages("m-anthropic", "two")),
                ("/v1/responses", #"{"model": "m-openai", "input": "three"}"#),
            ] {
                var headers: HTTPFields = [Self.episodeHeader: "run 7"]
                if path == "/v1/messages" { headers[HTTPField.Name("anthropic-version")!] = "2023-06-01" }
                let response = try await client.post(path, json: body, headers: headers)
                #expect(response.status == .ok, "\(path): \(response.text)")
                ids.append(response.header("x-switchyard-request-id") ?? "")
            }
            for id in ids {
                let record = try await client.get("/v1/switchyard/requests/\(id)")
                #expect(record.json?["episode_id"] == "run 7", "\(id)")
            }
            let given = try await client.post("/v1/switchyard/feedback", json: #"{"episode_id": "run 7", "metric": "done", "value": true}"#)
            #expect(given.status == .created)
            for id in ids {
                let record = try await client.get("/v1/switchyard/requests/\(id)")
                #expect(record.json?["feedback"]?.arrayValue?.first?["id"] == given.json?["id"])
            }
        }
    }

    /// With auth on, feedback follows the request log's scope; what a key may not see is a 404, as
    /// if it did not exist.
    @Test func feedbackIsScopedLikeTheRequestLog() async throws {
        try await GovernanceLiveTests.run { setup in
            let keys = try await GovernanceLiveTests.makeKeys(setup)
            let client = setup.client
            var ids: [String: String] = [:]
            for (who, key) in [("admin", GovernanceLiveTests.adminKey), ("member", keys.member.secret), ("outsider", keys.outsider.secret)] {
                let answer = try await client.send(.post, "/v1/chat/completions", json: Body.chat("m-openai", "hello from \(who)"), key: key)
                #expect(answer.status == .ok)
                ids[who] = answer.header("x-switchyard-request-id")
            }
            func give(_ target: String, as key: String, field: String = "request_id") async throws -> TestResponse {
                try await client.send(.post, "/v1/switchyard/feedback", json: #"{"\#(field)": "\#(target)", "metric": "helpful", "value": true}"#, key: key)
            }
            #expect(try await give(ids["member"]!, as: keys.member.secret).status == .created)
            let foreign = try await give(ids["admin"]!, as: keys.member.secret)
            #expect(foreign.status == .notFound && foreign.json?["error"]?["param"] == "request_id")
            #expect(try await give(ids["outsider"]!, as: keys.teamAdmin.secret).status == .notFound)  // another team
            #expect(try await give(ids["member"]!, as: keys.teamAdmin.secret).status == .created)  // its team
            #expect(try await give(ids["outsider"]!, as: GovernanceLiveTests.adminKey).status == .created)
            #expect(try await give(ids["member"]!, as: keys.revoked).status == .unauthorized)
            #expect(try await client.send(.post, "/v1/switchyard/feedback", json: "{}", key: nil).status == .unauthorized)

            // Spend reports carry quality; a member's only its own.
            let spend = try await client.send(.get, "/v1/switchyard/spend?group_by=key", key: GovernanceLiveTests.adminKey)
            let memberRow = (spend.json?["data"]?.arrayValue ?? []).first { $0["key"] == .string(keys.member.id) }
            // Given twice on the same request (by the member and its team admin): the newest counts, once.
            #expect(memberRow?["feedback"]?["helpful"]?["count"] == 1 && memberRow?["feedback"]?["helpful"]?["mean"]?.doubleValue == 1)
            let own = try await client.send(.get, "/v1/switchyard/spend?group_by=key", key: keys.member.secret)
            #expect((own.json?["data"]?.arrayValue ?? []).count == 1)
            // Experiment reports are for admins.
            let report = try await client.send(.get, "/v1/switchyard/experiments", key: keys.member.secret)
            #expect(report.status == .forbidden)
            #expect(try await client.send(.get, "/v1/switchyard/experiments", key: GovernanceLiveTests.adminKey).status == .ok)
        }
    }
}
