import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

/// `GET /v1/switchyard/workflows/{name}/runs/{id}/events`: the run's steps as server-sent events. The steps already
/// recorded come first (`event: step`), then each step as it is checkpointed, and `event: run` (the whole run, as
/// `GET …/runs/{id}` shows it) whenever its status changes. The stream ends after the run completes or fails; while
/// it waits for a person it stays open. A comment line every 15 s keeps proxies from closing an idle stream.
struct WorkflowEventsStream {
    let gateway: Gateway
    static let heartbeat: Duration = .seconds(15)

    func response(name: String, id: String, caller: Caller) async -> Response {
        let requestID = CallContext.newRequestID()
        let gateway = self.gateway
        do {
            _ = try await gateway.workflowRun(name, id: id, caller: caller)
            guard let events = gateway.workflowEvents.subscribe(runID: id) else {
                throw SwitchyardError(code: .rateLimited, message: "Too many event streams are open on this gateway; try again later.", status: 503)
            }
            // Read after subscribing: a step checkpointed in between arrives twice at worst, and is sent once.
            let view = try await gateway.workflowRun(name, id: id, caller: caller)
            var headers = SSE.headers
            headers[.switchyardRequestID] = requestID
            let body = ResponseBody { writer in
                var sent: Set<String> = []
                for step in view.steps {
                    sent.insert(Self.key(step))
                    try await writer.write(Self.event("step", WorkflowsRoutes.json(step)))
                }
                try await writer.write(Self.event("run", WorkflowsRoutes.json(view)))
                guard !view.run.status.isTerminal else {
                    try await writer.finish(nil)
                    return
                }
                let (merged, continuation) = AsyncStream<WorkflowEvent?>.makeStream(bufferingPolicy: .bufferingNewest(1_024))
                let forward = Task {
                    for await event in events { continuation.yield(event) }
                    continuation.finish()
                }
                let beat = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.heartbeat)
                        continuation.yield(nil)
                    }
                }
                defer {
                    forward.cancel()
                    beat.cancel()
                }
                loop: for await event in merged {
                    switch event {
                    case nil:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .step(let step):
                        if sent.insert(Self.key(step)).inserted { try await writer.write(Self.event("step", WorkflowsRoutes.json(step))) }
                    case .status(let status):
                        let current = try await gateway.workflowRun(name, id: id, caller: caller)
                        try await writer.write(Self.event("run", WorkflowsRoutes.json(current)))
                        if status.isTerminal && current.run.status.isTerminal { break loop }
                    }
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        } catch {
            return ErrorResponses.response(error, protocol: .openai, requestID: requestID)
        }
    }

    static func key(_ step: WorkflowStepRecord) -> String {
        "\(step.stepID)|\(step.status.rawValue)|\(step.finishedAt.timeIntervalSince1970)"
    }

    static func event(_ name: String, _ data: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(data.jsonString())\n\n")
    }
}
