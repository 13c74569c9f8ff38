import Foundation
import Gateway
import Hummingbird
import NIOCore
import NIOFoundationCompat
import SwitchyardCore

/// `POST /v1/switchyard/feedback` (feedback on a logged request or an episode) and
/// `GET /v1/switchyard/experiments[/{name}]` (experiment reports), in OpenAI's error envelope.
struct FeedbackRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        router.post("/v1/switchyard/feedback") { request, context in
            await handle(request, caller: context.caller, created: true) { try await create($0) }
        }
        router.get("/v1/switchyard/experiments") { request, context in
            await handle(request, caller: context.caller) { _ in list() }
        }
        router.get("/v1/switchyard/experiments/{name}") { request, context in
            await handle(request, caller: context.caller) { call in
                try await gateway.experimentReport(name: context.parameters.get("name") ?? "", caller: call.caller)
            }
        }
    }

    typealias Call = CollectionsRoutes.Call

    private func handle(
        _ request: Request, caller: Caller, created: Bool = false, _ body: (Call) async throws -> JSONValue
    ) async -> Response {
        await JSONRoute.respond(request, caller: caller, maxBodyBytes: maxBodyBytes, status: created ? .created : .ok, body)
    }

    private func create(_ call: Call) async throws -> JSONValue {
        let input = try Self.parse(try Self.object(try await call.request.collectBody(limit: maxBodyBytes)))
        let feedback = try await gateway.recordFeedback(input, caller: call.caller)
        return try JSONValue.parse(Data(JSONBody.encode(feedback).readableBytesView)) ?? .null
    }

    private func list() -> JSONValue {
        [
            "object": "list",
            "data": .array(gateway.configuration.experiments.map { experiment in
                [
                    "name": .string(experiment.name), "object": "experiment",
                    "variants": .array(experiment.variants.map { variant in
                        ["name": .string(variant.name), "target": .string(variant.target), "weight": .double(variant.weight)]
                    }),
                ]
            }),
        ]
    }

    /// The body as a JSON object. Decoded field by field, so that a value Foundation cannot hold
    /// (1e309, nesting past its depth limit) is a 400 naming the field it is in, not the whole body.
    static func object(_ buffer: ByteBuffer) throws -> JSONValue {
        guard buffer.readableBytes > 0 else { throw SwitchyardError.invalidRequest("The request body is empty; send a JSON object.") }
        do {
            return .object(try JSONDecoder().decode([String: JSONValue].self, from: buffer))
        } catch let error as DecodingError {
            let failure = SwitchyardError.decoding(error)
            guard let field = failure.param?.split(separator: ".").first.map(String.init), !field.isEmpty, !field.hasPrefix("[") else {
                throw SwitchyardError.invalidRequest("The request body must be a JSON object.")
            }
            if field == "value" {
                throw SwitchyardError.invalidRequest("value must be true, false or a finite number.", param: "value")
            }
            throw SwitchyardError.invalidRequest(failure.message, param: field)
        } catch {
            throw SwitchyardError.invalidRequest("The request body must be a JSON object.")
        }
    }

    /// The body, checked field by field; unknown fields are ignored (clients add their own).
    static func parse(_ body: JSONValue) throws -> Gateway.FeedbackInput {
        func identifier(_ field: String) throws -> String? {
            guard let value = body[field], value != .null else { return nil }
            guard let text = value.stringValue, !text.isEmpty else {
                throw SwitchyardError.invalidRequest("\(field) must be a non-empty string.", param: field)
            }
            return text
        }
        let requestID = try identifier("request_id")
        let episodeID = try identifier("episode_id")
        switch (requestID, episodeID) {
        case (nil, nil):
            throw SwitchyardError.invalidRequest(
                "Give request_id (the x-switchyard-request-id of an answer) or episode_id (an x-switchyard-episode-id).", param: "request_id")
        case (.some, .some):
            throw SwitchyardError.invalidRequest("Give request_id or episode_id, not both.", param: "episode_id")
        default: break
        }
        if let episodeID, !Feedback.isValidEpisodeID(episodeID) {
            throw SwitchyardError.invalidRequest(
                "episode_id must be 1 to \(Feedback.maximumEpisodeIDLength) printable ASCII characters.", param: "episode_id")
        }
        guard let metric = body["metric"]?.stringValue, Feedback.isValidMetric(metric) else {
            throw SwitchyardError.invalidRequest(
                "metric is required: 1 to 64 letters, digits, '_', '.', ':' or '-' (e.g. \"helpful\").", param: "metric")
        }
        let value: FeedbackValue
        switch body["value"] {
        case .bool(let flag)?: value = .bool(flag)
        case .int(let number)?: value = .number(Double(number))
        case .double(let number)? where number.isFinite: value = .number(number)
        default:
            throw SwitchyardError.invalidRequest("value must be true, false or a finite number.", param: "value")
        }
        var comment: String?
        if let given = body["comment"], given != .null {
            guard let text = given.stringValue, text.utf8.count <= Feedback.maximumCommentBytes else {
                throw SwitchyardError.invalidRequest(
                    "comment must be a string of at most \(Feedback.maximumCommentBytes) bytes.", param: "comment")
            }
            comment = text
        }
        return Gateway.FeedbackInput(requestID: requestID, episodeID: episodeID, metric: metric, value: value, comment: comment)
    }
}
