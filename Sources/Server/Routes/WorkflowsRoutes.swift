import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

/// `GET /v1/switchyard/workflows`, `POST /v1/switchyard/workflows/{name}/runs` (`202 {"id", "status"}`, the run in
/// the background) and `GET /v1/switchyard/workflows/{name}/runs/{id}`, in OpenAI's error envelope.
struct WorkflowsRoutes: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int

    func register(on router: Router<SwitchyardRequestContext>) {
        router.get("/v1/switchyard/workflows") { request, context in
            await handle(request, caller: context.caller) { call in list(caller: call.caller) }
        }
        router.post("/v1/switchyard/workflows/{name}/runs") { request, context in
            await handle(request, caller: context.caller, status: .accepted) { call in
                let body = try FeedbackRoutes.object(try await call.request.collectBody(limit: maxBodyBytes))
                if let unknown = body.objectValue?.keys.sorted().first(where: { $0 != "input" }) {
                    throw SwitchyardError.invalidRequest("Unknown field '\(unknown.quotedPrefix(64))'; a run takes {\"input\": …}.", param: unknown)
                }
                let run = try await gateway.startWorkflowRun(
                    context.parameters.get("name") ?? "", input: body.objectValue?["input"] ?? .null, caller: call.caller)
                return ["id": .string(run.id), "object": "workflow.run", "status": .string(run.status.rawValue)]
            }
        }
        router.get("/v1/switchyard/workflows/{name}/runs/{id}") { request, context in
            await handle(request, caller: context.caller) { call in
                Self.json(
                    try await gateway.workflowRun(
                        context.parameters.get("name") ?? "", id: context.parameters.get("id") ?? "", caller: call.caller))
            }
        }
    }

    /// A run as the API shows it.
    static func json(_ view: WorkflowRunView) -> JSONValue {
        let run = view.run
        var object: [String: JSONValue] = [
            "id": .string(run.id), "object": "workflow.run", "workflow": .string(run.workflow), "status": .string(run.status.rawValue),
            "input": run.input, "output": run.output ?? .null, "cost_usd": .double(run.costUSD), "steps_done": .int(Int64(run.stepsDone)),
            "created_at": .int(Int64(run.createdAt.timeIntervalSince1970.rounded(.down))),
            "usage": ["prompt_tokens": .int(Int64(view.usage.promptTokens)), "completion_tokens": .int(Int64(view.usage.completionTokens))],
            "steps": .array(view.steps.map { step in
                var item: [String: JSONValue] = [
                    "id": .string(step.stepID), "status": .string(step.status.rawValue), "output": step.output ?? .null,
                    "cost_usd": .double(step.costUSD), "ms": .double((step.ms * 1000).rounded() / 1000), "attempts": .int(Int64(step.attempts)),
                ]
                if let error = step.error { item["error"] = .string(error) }
                return .object(item)
            }),
        ]
        if let error = run.error { object["error"] = .string(error) }
        return .object(object)
    }

    private func list(caller: Caller) -> JSONValue {
        [
            "object": "list",
            "data": .array(gateway.availableWorkflows(for: caller).map { spec in
                var item: [String: JSONValue] = [
                    "name": .string(spec.name), "object": "workflow", "model": .string(ConfigurationLoader.workflowModelPrefix + spec.name),
                    "steps": .array(spec.steps.map { .string($0.id) }),
                ]
                if let description = spec.description { item["description"] = .string(description) }
                return .object(item)
            }),
        ]
    }

    private func handle(
        _ request: Request, caller: Caller, status: HTTPResponse.Status = .ok, _ body: (CollectionsRoutes.Call) async throws -> JSONValue
    ) async -> Response {
        await JSONRoute.respond(request, caller: caller, maxBodyBytes: maxBodyBytes, status: status, body)
    }
}
