import Foundation
import SwitchyardCore

/// Spend against budgets, exact under concurrency: a request reserves its worst-case cost before
/// the upstream call, and the reservation is settled to the real cost after. A hard budget admits a
/// reservation only if `spent + reserved + reservation <= budget`, so however many requests run at
/// once, what they can spend together never passes the budget (as long as no answer costs more than
/// its worst case — see `Governance.worstCase`). A pure value; the caller holds the lock.
public struct BudgetBook: Sendable {
    /// One budget's running state for its current period.
    public struct Account: Sendable, Hashable {
        public var budget: Budget
        public var periodStart: Date
        /// When the next period starts (checked on every reservation instead of the calendar).
        public var periodEnd: Date
        public var spent: Double
        public var reserved: Double
    }

    public private(set) var accounts: [String: Account] = [:]

    public init() {}

    /// Sets (or replaces) a subject's budget, with what it has spent in the current period so far.
    public mutating func open(_ subject: String, budget: Budget, spent: Double, now: Date) {
        let reserved = accounts[subject]?.reserved ?? 0
        let period = budget.period.interval(containing: now)
        accounts[subject] = Account(budget: budget, periodStart: period.start, periodEnd: period.end, spent: spent, reserved: reserved)
    }

    public mutating func close(_ subject: String) { accounts[subject] = nil }

    /// A new period starts from nothing spent (what is reserved stays reserved).
    private mutating func roll(_ subject: String, now: Date) {
        guard var account = accounts[subject], now >= account.periodEnd else { return }
        let period = account.budget.period.interval(containing: now)
        if period.start > account.periodStart {
            account.periodStart = period.start
            account.spent = 0
        }
        account.periodEnd = period.end
        accounts[subject] = account
    }

    public enum Verdict: Sendable, Hashable {
        case reserved
        /// A soft budget passed: let through, flagged.
        case overSoft(subject: String, budget: Budget)
        /// A hard budget would be passed: refused.
        case refused(subject: String, budget: Budget, available: Double)
    }

    /// Reserves `usd` on every subject that has a budget, all or none.
    public mutating func reserve(_ usd: Double, on subjects: [String], now: Date) -> [Verdict] {
        var verdicts: [Verdict] = []
        for subject in subjects { roll(subject, now: now) }
        for subject in subjects {
            guard let account = accounts[subject] else { continue }
            let after = account.spent + account.reserved + usd
            if after > account.budget.usd + 1e-12 {
                switch account.budget.mode {
                case .hard:
                    return [.refused(subject: subject, budget: account.budget, available: max(0, account.budget.usd - account.spent - account.reserved))]
                case .soft:
                    verdicts.append(.overSoft(subject: subject, budget: account.budget))
                }
            }
        }
        for subject in subjects where accounts[subject] != nil { accounts[subject]!.reserved += usd }
        return verdicts.isEmpty ? [.reserved] : verdicts
    }

    /// Turns a reservation into the real cost.
    public mutating func settle(reserved: Double, actual: Double, on subjects: [String], now: Date) {
        for subject in subjects where accounts[subject] != nil {
            roll(subject, now: now)
            accounts[subject]!.reserved = max(0, accounts[subject]!.reserved - reserved)
            accounts[subject]!.spent += max(0, actual)
        }
    }

    public func account(_ subject: String) -> Account? { accounts[subject] }

    /// What the shared database said a budget stands at (replicas): shown by the metrics and reads.
    public mutating func observe(_ subject: String, spent: Double, reserved: Double, now: Date) {
        guard var account = accounts[subject] else { return }
        let period = account.budget.period.interval(containing: now)
        account.periodStart = period.start
        account.periodEnd = period.end
        account.spent = spent.isFinite ? max(0, spent) : account.spent
        account.reserved = reserved.isFinite ? max(0, reserved) : account.reserved
        accounts[subject] = account
    }
}
