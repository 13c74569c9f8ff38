import Logging
import ServiceLifecycle
import SwitchyardCore

/// For replicas sharing a run store (PostgreSQL): every fifth of the lease, renews the leases of the runs this
/// process is executing, then claims runs whose lease expired (their replica died mid-run) and hands them to the
/// `WorkflowService`, which resumes them from their checkpoints like runs left `running` at start-up. A step that
/// was in flight when its replica died runs again, with the same idempotency key.
///
/// On shutdown the leases are left to expire rather than released: a run cancelled here may still be writing its
/// last checkpoint, and another replica takes it over within one lease.
public struct WorkflowLeaseService: Service {
    let gateway: Gateway
    let leases: any WorkflowRunLeasing
    let heartbeat: Duration
    /// Runs executed here at once, at most (what `WorkflowService` runs concurrently): claims stop there.
    let capacity: Int
    let logger: Logger

    public init(
        gateway: Gateway, leases: any WorkflowRunLeasing, heartbeat: Duration? = nil, capacity: Int = 16,
        logger: Logger = Logger(label: "switchyard.workflows")
    ) {
        self.gateway = gateway
        self.leases = leases
        self.heartbeat = heartbeat ?? leases.leaseDuration / 5
        self.capacity = max(1, capacity)
        self.logger = logger
    }

    public func run() async throws {
        await runPeriodically(every: heartbeat, finally: false) { await tick() }
    }

    /// One heartbeat: renew, then claim.
    func tick() async {
        let executing = gateway.activeWorkflowRuns.withLock { $0 }
        if !executing.isEmpty {
            do {
                let held = try await leases.renewLeases(runIDs: Array(executing))
                // A run that finished meanwhile is no longer renewed either; only those still executing were lost.
                let lost = executing.subtracting(held).filter { id in gateway.activeWorkflowRuns.withLock { $0.contains(id) } }
                if !lost.isEmpty {
                    logger.warning(
                        "lost the lease on workflow runs still executing here (another replica may run them too)",
                        metadata: ["switchyard.workflow_runs": "\(lost.sorted().prefix(20))"])
                }
            } catch {
                logger.warning("could not renew workflow run leases", metadata: ["error": "\(error)"])
            }
        }
        let room = capacity - executing.count
        guard room > 0 else { return }
        do {
            let claimed = try await leases.claimExpiredRuns(limit: room)
            guard !claimed.isEmpty else { return }
            logger.info(
                "resuming workflow runs whose replica stopped renewing their lease",
                metadata: ["switchyard.workflow_runs": "\(claimed.map(\.id).prefix(20))"])
            var refused: [String] = []
            for run in claimed where !gateway.workflowQueue.enqueue(run.id) { refused.append(run.id) }
            if !refused.isEmpty { try await leases.releaseLeases(runIDs: refused) }
        } catch {
            logger.warning("could not claim abandoned workflow runs", metadata: ["error": "\(error)"])
        }
    }
}
