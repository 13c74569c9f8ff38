import Foundation
import Gateway
import Hummingbird
import NIOCore
import SwitchyardCore

/// `GET /v1/switchyard/workflows`, `POST /v1/switchyard/workflows/{name}/runs` (`202 {"id", "status"}`, the run in
/// the background), `GET …/{name}/runs` (newest first), `GET …/{name}/runs/{id}`, `POST …/runs/{id}/resume`,
/// `GET …/runs/{id}/events` (SSE) and `GET /v1/switchyard/workflow-runs/{id}`, in OpenAI's error envelope.
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
        router.get("/v1/switchyard/workflows/{name}/runs") { request, context in
            await handle(request, caller: context.caller) { call in
                let limit = try QueryValues.limit(request.uri.queryParameters["limit"].map(String.init), range: 1...1_000, default: 20)
                let runs = try await gateway.workflowRuns(context.parameters.get("name") ?? "", caller: call.caller, limit: limit)
                return ["object": "list", "data": .array(runs.map { Self.json(WorkflowRunView(run: $0), steps: false) })]
            }
        }
        router.get("/v1/switchyard/workflows/{name}/runs/{id}") { request, context in
            await handle(request, caller: context.caller) { call in
                Self.json(
                    try await gateway.workflowRun(
                        context.parameters.get("name") ?? "", id: context.parameters.get("id") ?? "", caller: call.caller))
            }
        }
        router.get("/v1/switchyard/workflow-runs/{id}") { request, context in
            await handle(request, caller: context.caller) { call in
                Self.json(try await gateway.workflowRun(id: context.parameters.get("id") ?? "", caller: call.caller))
            }
        }
        router.post("/v1/switchyard/workflows/{name}/runs/{id}/resume") { request, context in
            await handle(request, caller: context.caller, status: .accepted) { call in
                let bytes = try await call.request.collectBody(limit: maxBodyBytes)
                // No body (or `{}`) resumes an interrupted or failed run; `{"input": …}` answers a waiting one.
                let body: JSONValue = bytes.readableBytes == 0 ? [:] : try FeedbackRoutes.object(bytes)
                if let unknown = body.objectValue?.keys.sorted().first(where: { $0 != "input" }) {
                    throw SwitchyardError.invalidRequest("Unknown field '\(unknown.quotedPrefix(64))'; resume takes {\"input\": …}.", param: unknown)
                }
                let run = try await gateway.resumeWorkflowRun(
                    context.parameters.get("name") ?? "", id: context.parameters.get("id") ?? "", input: body.objectValue?["input"],
                    caller: call.caller)
                return ["id": .string(run.id), "object": "workflow.run", "status": .string(run.status.rawValue)]
            }
        }
        router.get("/v1/switchyard/workflows/{name}/runs/{id}/events") { request, context in
            await WorkflowEventsStream(gateway: gateway).response(
                name: context.parameters.get("name") ?? "", id: context.parameters.get("id") ?? "", caller: context.caller)
        }
    }

    /// A run as the API shows it (without `steps` in lists).
    static func json(_ view: WorkflowRunView, steps withSteps: Bool = true) -> JSONValue {
        view.run.apiJSON(steps: withSteps ? view.steps : nil)
    }

    /// A step as the API and the events stream show it.
    static func json(_ step: WorkflowStepRecord) -> JSONValue { step.apiJSON }

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
