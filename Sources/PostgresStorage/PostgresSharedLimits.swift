import Foundation
import Governance
import Logging
import PostgresNIO
import ServiceLifecycle
import SwitchyardCore
import Synchronization

/// Budgets and rate limits exact across replicas, kept in PostgreSQL.
///
/// - **Rate limits**: the same GCRA as one process (`RateCell`), its theoretical arrival time in a
///   `rate_cell` row, admitted by one function call that locks the rows (key first, then team: one
///   order, so no deadlock), at the database's clock — never a replica's.
/// - **Budgets**: a reservation is a `budget_hold` row, inserted by one function call that locks
///   the account row and admits only if spent + every live hold + this one fits the budget. A hold
///   counts while its replica's heartbeat is fresh (`staleAfter`), so the worst case of a replica
///   killed mid-request is released 15 s after its death, not never. Settling deletes the hold and
///   adds the real cost, queued off the request path (the hold keeps counting until then).
///
/// Bound: a replica that loses the database while requests are in flight settles them when it is
/// back; if it dies first, those requests' costs (each at most its reserved worst case) are missing
/// from the shared spend. The request log still has them.
public final class PostgresSharedLimits: SharedLimits, Service {
    let database: PostgresDatabase
    public let replicaID: String
    let staleAfterSeconds: Double
    let heartbeat: Duration
    private let settlements = Mutex<[Settlement]>([])
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let alive = Atomic<Int>(1)

    struct Settlement: Sendable {
        var holds: [Int64]
        var subjects: [String]
        var periods: [Double]
        var actual: Double
    }

    /// Registers this replica (a first heartbeat) so its holds count from the first request.
    public init(database: PostgresDatabase, replicaID: String, heartbeat: Duration = .seconds(2), staleAfterSeconds: Double = 15) throws {
        self.database = database
        self.replicaID = replicaID
        self.heartbeat = heartbeat
        self.staleAfterSeconds = staleAfterSeconds
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try database.blocking { client in
            try await client.query("INSERT INTO replicas (id) VALUES (\(replicaID)) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()")
        }
    }

    /// Replicas whose heartbeat is fresh (at least 1): a rate limit's share when the database is gone.
    public var replicasAlive: Int { max(1, alive.load(ordering: .relaxed)) }

    // MARK: SharedLimits

    /// How long the request path waits for the database before it decides without it.
    static let requestDeadline: Duration = .seconds(2)

    /// Fails at once while the database is known to be down (the heartbeat finds out when it is back),
    /// so a request never queues for a connection that will not come.
    private func ensureReachable() throws {
        guard database.currentHealth.reachable else { throw SharedLimitsUnavailable("the shared database cannot be reached") }
    }

    public func admit(_ cells: [SharedRateCell]) async throws -> SharedAdmission {
        try ensureReachable()
        let subjects = cells.map(\.subject)
        let kinds = cells.map(\.kind)
        let limits = cells.map { Int32(clamping: $0.limit) }
        let weights = cells.map { Int32(clamping: $0.weight) }
        let row = try await database.run { client in
            try await withDeadline(Self.requestDeadline) {
                try await client.query(
                    "SELECT refused, tats, now_s, retry_s FROM switchyard_admit(\(subjects), \(kinds), \(limits), \(weights))"
                ).decode((Int32, [Double], Double, Double).self).all()
            }
        }
        guard let (refused, tats, now, retry) = row.first, tats.count == cells.count || refused > 0 else {
            throw StorageFailure(message: "PostgreSQL: switchyard_admit answered an unexpected row")
        }
        var statuses: [RateCell.Status] = []
        for (index, cell) in cells.enumerated() where index < tats.count {
            let isRefused = Int(refused) == index + 1
            statuses.append(RateCell(theoreticalArrival: tats[index]).status(limit: max(cell.limit, 1), now: now, retryAfter: isRefused ? retry : 0))
        }
        let refusedIndex = refused > 0 ? Int(refused) - 1 : nil
        if let refusedIndex, refusedIndex >= statuses.count { throw StorageFailure(message: "PostgreSQL: switchyard_admit answered an unexpected row") }
        return SharedAdmission(statuses: statuses, refusedIndex: refusedIndex)
    }

    public func reserve(_ usd: Double, on accounts: [SharedBudgetAccount]) async throws -> SharedReservation {
        try ensureReachable()
        let subjects = accounts.map(\.subject)
        let periods = accounts.map(\.periodStart.timeIntervalSince1970)
        let budgets = accounts.map(\.budget.usd)
        let hard = accounts.map { $0.budget.mode == .hard }
        let usd = usd.isFinite ? max(0, usd) : Double.greatestFiniteMagnitude
        let rows = try await database.run { [replicaID, staleAfterSeconds] client in
            try await withDeadline(Self.requestDeadline) {
                try await client.query(
                    """
                    SELECT refused, available, holds, spent, held, soft
                    FROM switchyard_reserve(\(subjects), \(periods), \(budgets), \(hard), \(usd), \(replicaID), \(staleAfterSeconds))
                    """
                ).decode((Int32, Double, [Int64], [Double], [Double], [Int32]).self).all()
            }
        }
        guard let (refused, available, holds, spent, held, soft) = rows.first else {
            throw StorageFailure(message: "PostgreSQL: switchyard_reserve answered no row")
        }
        return SharedReservation(
            holds: holds, spent: spent, held: held, refused: refused > 0 ? (Int(refused) - 1, available) : nil,
            softOverruns: soft.map { Int($0) - 1 })
    }

    public func settle(holds: [Int64], actualUSD: Double, on accounts: [SharedBudgetAccount]) {
        let now = Date()
        let settlement = Settlement(
            holds: holds, subjects: accounts.map(\.subject), periods: accounts.map { $0.budget.period.start(containing: now).timeIntervalSince1970 },
            actual: actualUSD.isFinite ? max(0, actualUSD) : 0)
        settlements.withLock { $0.append(settlement) }
        wake.yield()
    }

    /// Opens accounts that do not exist yet with what the request log says they spent (a deployment
    /// moved from SQLite); an account another replica already keeps is left as it is.
    public func seed(_ accounts: [(subject: String, periodStart: Date, spent: Double)]) throws {
        guard !accounts.isEmpty else { return }
        let subjects = accounts.map(\.subject)
        let periods = accounts.map(\.periodStart.timeIntervalSince1970)
        let spent = accounts.map { $0.spent.isFinite ? max(0, $0.spent) : 0 }
        try database.blocking { client in
            try await client.query(
                """
                INSERT INTO budget_account (subject, period_start, spent)
                SELECT * FROM unnest(\(subjects)::text[], \(periods)::float8[], \(spent)::float8[]) ON CONFLICT DO NOTHING
                """)
        }
    }

    /// What an account stands at now (spent, live holds), for reads and tests.
    public func account(subject: String, periodStart: Date) async throws -> (spent: Double, held: Double) {
        let period = periodStart.timeIntervalSince1970
        let rows = try await database.run { [staleAfterSeconds] client in
            try await client.query(
                """
                SELECT coalesce((SELECT spent FROM budget_account WHERE subject = \(subject) AND period_start = \(period)), 0),
                       coalesce((SELECT sum(h.usd) FROM budget_hold h JOIN replicas r ON r.id = h.replica
                                 WHERE h.subject = \(subject) AND h.period_start = \(period)
                                   AND r.heartbeat_at > clock_timestamp() - make_interval(secs => \(staleAfterSeconds))), 0)::float8
                """
            ).decode((Double, Double).self).all()
        }
        return rows.first.map { (spent: $0.0, held: $0.1) } ?? (0, 0)
    }

    // MARK: Service

    /// Heartbeats, settles queued reservations, and clears holds of replicas dead for an hour.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.beat() }
            group.addTask { await self.settleQueued() }
            await group.next()
            group.cancelAll()
        }
        // What is still queued is written even when the service was cancelled rather than stopped.
        let unstructured = Task { await self.flushSettlements() }
        await unstructured.value
    }

    private func beat() async {
        var rounds = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let count = try await database.run { [replicaID, staleAfterSeconds] client in
                    try await withDeadline(.seconds(5)) {
                        try await client.query("INSERT INTO replicas (id) VALUES (\(replicaID)) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()")
                        return try await client.query(
                            "SELECT count(*)::int FROM replicas WHERE heartbeat_at > clock_timestamp() - make_interval(secs => \(staleAfterSeconds))"
                        ).decode(Int.self).all().first ?? 1
                    }
                }
                alive.store(max(1, count), ordering: .relaxed)
                rounds += 1
                if rounds % 150 == 1 {
                    try await database.run { client in
                        try await client.query(
                            "DELETE FROM budget_hold WHERE replica IN (SELECT id FROM replicas WHERE heartbeat_at < now() - interval '1 hour')")
                        try await client.query("DELETE FROM replicas WHERE heartbeat_at < now() - interval '1 day'")
                    }
                }
            } catch {
                database.logger.warning("replica heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: heartbeat)
        }
    }

    private func settleQueued() async {
        for await _ in wakes.cancelOnGracefulShutdown() {
            await flushSettlements()
        }
    }

    /// Writes every queued settlement; what fails stays queued and is tried again in a second.
    func flushSettlements() async {
        while true {
            let batch = settlements.withLock { queue -> [Settlement] in defer { queue.removeAll() }; return queue }
            guard !batch.isEmpty else { return }
            var failed: [Settlement] = []
            for (index, item) in batch.enumerated() {
                do {
                    try await database.run { client in
                        try await client.query(
                            "SELECT switchyard_settle(\(item.holds), \(item.subjects), \(item.periods), \(item.actual))")
                    }
                } catch {
                    failed = Array(batch[index...])
                    database.logger.warning("budget settlement failed; kept to retry", metadata: ["error": "\(error)", "queued": "\(failed.count)"])
                    break
                }
            }
            guard failed.isEmpty else {
                settlements.withLock { $0.insert(contentsOf: failed, at: 0) }
                if Task.isCancelled { return }
                try? await Task.sleep(for: .seconds(1))
                continue
            }
        }
    }

    /// The functions: one statement per admission or reservation (their row locks are held only for it).
    static let functions = #"""
        CREATE OR REPLACE FUNCTION switchyard_admit(p_subjects TEXT[], p_kinds TEXT[], p_limits INT[], p_weights INT[])
        RETURNS TABLE (refused INT, tats DOUBLE PRECISION[], now_s DOUBLE PRECISION, retry_s DOUBLE PRECISION)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_now DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
            v_n INT := coalesce(array_length(p_subjects, 1), 0);
            v_tats DOUBLE PRECISION[] := '{}';
            v_tat DOUBLE PRECISION;
            v_next DOUBLE PRECISION;
            i INT;
        BEGIN
            FOR i IN 1..v_n LOOP
                INSERT INTO rate_cell (subject, kind, tat) VALUES (p_subjects[i], p_kinds[i], 0) ON CONFLICT DO NOTHING;
                SELECT c.tat INTO v_tat FROM rate_cell c WHERE c.subject = p_subjects[i] AND c.kind = p_kinds[i] FOR UPDATE;
                v_next := greatest(v_tat, v_now) + greatest(p_weights[i], 0) * (60.0 / greatest(p_limits[i], 1));
                IF v_next - v_now > 60.0 + 1e-9 THEN
                    v_tats := v_tats || v_tat;
                    RETURN QUERY SELECT i, v_tats, v_now, greatest(0, v_next - v_now - 60.0);
                    RETURN;
                END IF;
                v_tats := v_tats || v_next;
            END LOOP;
            FOR i IN 1..v_n LOOP
                UPDATE rate_cell SET tat = v_tats[i] WHERE subject = p_subjects[i] AND kind = p_kinds[i];
            END LOOP;
            RETURN QUERY SELECT 0, v_tats, v_now, 0::float8;
        END $$;

        CREATE OR REPLACE FUNCTION switchyard_reserve(
            p_subjects TEXT[], p_periods DOUBLE PRECISION[], p_budgets DOUBLE PRECISION[], p_hard BOOLEAN[],
            p_usd DOUBLE PRECISION, p_replica TEXT, p_stale DOUBLE PRECISION)
        RETURNS TABLE (refused INT, available DOUBLE PRECISION, holds BIGINT[], spent DOUBLE PRECISION[], held DOUBLE PRECISION[], soft INT[])
        LANGUAGE plpgsql AS $$
        DECLARE
            v_n INT := coalesce(array_length(p_subjects, 1), 0);
            v_spent DOUBLE PRECISION;
            v_held DOUBLE PRECISION;
            v_spents DOUBLE PRECISION[] := '{}';
            v_helds DOUBLE PRECISION[] := '{}';
            v_soft INT[] := '{}';
            v_holds BIGINT[] := '{}';
            v_id BIGINT;
            i INT;
        BEGIN
            FOR i IN 1..v_n LOOP
                INSERT INTO budget_account (subject, period_start, spent) VALUES (p_subjects[i], p_periods[i], 0) ON CONFLICT DO NOTHING;
                SELECT a.spent INTO v_spent FROM budget_account a
                    WHERE a.subject = p_subjects[i] AND a.period_start = p_periods[i] FOR UPDATE;
                SELECT coalesce(sum(h.usd), 0) INTO v_held FROM budget_hold h JOIN replicas r ON r.id = h.replica
                    WHERE h.subject = p_subjects[i] AND h.period_start = p_periods[i]
                      AND r.heartbeat_at > clock_timestamp() - make_interval(secs => p_stale);
                v_spents := v_spents || v_spent;
                v_helds := v_helds || v_held;
                IF v_spent + v_held + p_usd > p_budgets[i] + 1e-12 THEN
                    IF p_hard[i] THEN
                        RETURN QUERY SELECT i, greatest(0, p_budgets[i] - v_spent - v_held), '{}'::BIGINT[], v_spents, v_helds, v_soft;
                        RETURN;
                    END IF;
                    v_soft := v_soft || i;
                END IF;
            END LOOP;
            FOR i IN 1..v_n LOOP
                INSERT INTO budget_hold (subject, period_start, usd, replica) VALUES (p_subjects[i], p_periods[i], p_usd, p_replica)
                    RETURNING id INTO v_id;
                v_holds := v_holds || v_id;
                v_helds[i] := v_helds[i] + p_usd;
            END LOOP;
            RETURN QUERY SELECT 0, 0::float8, v_holds, v_spents, v_helds, v_soft;
        END $$;

        CREATE OR REPLACE FUNCTION switchyard_settle(p_holds BIGINT[], p_subjects TEXT[], p_periods DOUBLE PRECISION[], p_actual DOUBLE PRECISION)
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE i INT;
        BEGIN
            DELETE FROM budget_hold WHERE id = ANY(p_holds);
            FOR i IN 1..coalesce(array_length(p_subjects, 1), 0) LOOP
                INSERT INTO budget_account (subject, period_start, spent) VALUES (p_subjects[i], p_periods[i], p_actual)
                    ON CONFLICT (subject, period_start) DO UPDATE SET spent = budget_account.spent + excluded.spent;
            END LOOP;
        END $$;
        """#
}
