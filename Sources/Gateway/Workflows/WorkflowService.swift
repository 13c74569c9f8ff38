import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore

/// Executes workflow runs in the background: at start-up every run left `running` (by a crash or a restart) is
/// resumed from its last finished step; then runs started through the runs API, at most `concurrency` at once.
/// On graceful shutdown the runs in progress are cancelled between model calls' answers and stay `running`, so the
/// next start resumes them.
public struct WorkflowService: Service {
    let gateway: Gateway
    let concurrency: Int
    let logger: Logger

    public init(gateway: Gateway, concurrency: Int = 16, logger: Logger = Logger(label: "switchyard.workflows")) {
        self.gateway = gateway
        self.concurrency = max(1, min(concurrency, 256))
        self.logger = logger
    }

    public func run() async throws {
        let gateway = self.gateway
        // One service per gateway (the queue has one reader): a second application over it leaves runs to the first.
        guard gateway.workflowServiceActive.withLock({ active in
            defer { active = true }
            return !active
        }) else {
            try? await gracefulShutdown()
            return
        }
        defer { gateway.workflowServiceActive.withLock { $0 = false } }
        let limit = concurrency
        let leftRunning: [WorkflowRunRecord]
        do {
            // Sub-workflow runs (`PARENT.STEP`) resume with their parents, not on their own.
            leftRunning = try await gateway.workflowRuns.runs(status: .running, limit: 10_000).filter { !$0.id.contains(".") }
        } catch {
            logger.error("could not read unfinished workflow runs", metadata: ["error": "\(error)"])
            leftRunning = []
        }
        if !leftRunning.isEmpty {
            logger.info("resuming unfinished workflow runs", metadata: ["switchyard.workflow_runs": "\(leftRunning.count)"])
        }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var inFlight = 0
                func add(_ id: String) async {
                    if inFlight >= limit {
                        await group.next()
                        inFlight -= 1
                    }
                    inFlight += 1
                    group.addTask { await gateway.executeStoredRun(id) }
                }
                for run in leftRunning { await add(run.id) }
                for await id in gateway.workflowQueue.runs {
                    await add(id)
                }
            }
        }
    }
}
