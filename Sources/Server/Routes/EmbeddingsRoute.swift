import Foundation
import Gateway
import Hummingbird
import Logging
import SwitchyardCore

/// `POST /v1/embeddings`, OpenAI shape, over remote embedding models and the native local model.
struct EmbeddingsRoute: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let logger: Logger

    func handle(_ request: Request, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        do {
            let body = try await request.collectBody(limit: maxBodyBytes)
            let embedding = try JSONBody.decode(EmbeddingRequest.self, from: body)
            if let format = embedding.encodingFormat, format != "float", format != "base64" {
                throw SwitchyardError.invalidRequest(
                    "encoding_format must be \"float\" or \"base64\".", param: "encoding_format")
            }
            let context = try await gateway.admitOrLog(
                embedding, context: CallContext(requestID: requestID, caller: caller, clientProtocol: .openai, logger: logger))
            let response = try await gateway.embed(embedding, context: context)
            let payload = Self.payload(response, base64: embedding.encodingFormat == "base64")
            var headers: HTTPFields = [
                .switchyardRequestID: requestID, .switchyardModel: response.model,
                .switchyardProvider: gateway.providerName(of: embedding.model) ?? "",
                .switchyardCost: CostFormat.string(gateway.cost(of: response.usage, model: embedding.model)),
            ]
            headers.append(contentsOf: RateLimitFields.fields(context.admission))
            return try JSONBody.response(payload, headers: headers)
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    /// The OpenAI answer body for an embeddings response (also a batch line's body).
    static func payload(_ response: EmbeddingResponse, base64: Bool) -> JSONValue {
        let data: [JSONValue] = response.vectors.enumerated().map { index, vector in
            [
                "object": "embedding", "index": .int(Int64(index)),
                "embedding": base64 ? .string(Self.base64(vector)) : .array(vector.map { .double(Double($0)) }),
            ]
        }
        return [
            "object": "list", "data": .array(data), "model": .string(response.model),
            "usage": [
                "prompt_tokens": .int(Int64(response.usage.promptTokens)),
                "total_tokens": .int(Int64(response.usage.promptTokens)),
            ],
        ]
    }

    /// Little-endian float32 bytes, base64: what OpenAI returns for `encoding_format: base64`.
    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
