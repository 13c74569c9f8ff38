import Foundation
import SwitchyardCore

/// Budgets and rate limits kept in a database that every replica shares, so N replicas admit and
/// spend exactly what one would. The Governor asks it instead of its in-memory book when one is set
/// (PostgreSQL scale-out); without one (SQLite, one process) nothing changes.
///
/// `admit` and `reserve` are the only database round trips on the request path, and only for keys
/// that have limits or budgets; `settle` is queued and written off the request path (until it is
/// written, the reservation keeps counting, so a late settlement can only make a budget stricter).
public protocol SharedLimits: Sendable {
    /// Admits one request under every limit in `cells`, all or none, at the database's clock.
    func admit(_ cells: [SharedRateCell]) async throws -> SharedAdmission
    /// Reserves `usd` on every budget in `accounts`, all or none for hard budgets.
    func reserve(_ usd: Double, on accounts: [SharedBudgetAccount]) async throws -> SharedReservation
    /// Turns the holds into `actualUSD` of spend on each account (queued; never throws).
    func settle(holds: [Int64], actualUSD: Double, on accounts: [SharedBudgetAccount])
}

/// One rate limit to count against: `subject` (`key:ID`, `team:NAME`), `kind` (`requests`, `tokens`).
public struct SharedRateCell: Sendable, Hashable {
    public var subject: String
    public var kind: String
    public var limit: Int
    public var weight: Int
    public init(subject: String, kind: String, limit: Int, weight: Int) {
        self.subject = subject
        self.kind = kind
        self.limit = limit
        self.weight = weight
    }
}

public struct SharedAdmission: Sendable {
    /// Each cell's status after the admission (or, refused, the status of the cell that refused).
    public var statuses: [RateCell.Status]
    /// The index in `cells` of the limit that refused, or nil when admitted.
    public var refusedIndex: Int?
    public init(statuses: [RateCell.Status], refusedIndex: Int?) {
        self.statuses = statuses
        self.refusedIndex = refusedIndex
    }
}

/// One budget to reserve on, in its current period.
public struct SharedBudgetAccount: Sendable, Hashable {
    public var subject: String
    public var budget: Budget
    public var periodStart: Date
    public init(subject: String, budget: Budget, periodStart: Date) {
        self.subject = subject
        self.budget = budget
        self.periodStart = periodStart
    }
}

public struct SharedReservation: Sendable {
    /// One hold per account, to settle; empty when refused.
    public var holds: [Int64]
    /// Spent and held on each account after the reservation (for the metrics and `x-switchyard-budget-*`).
    public var spent: [Double]
    public var held: [Double]
    /// The index of the hard budget that refused, with what it had left.
    public var refused: (index: Int, available: Double)?
    /// Indexes of soft budgets this request passes.
    public var softOverruns: [Int]
    public init(holds: [Int64], spent: [Double], held: [Double], refused: (index: Int, available: Double)?, softOverruns: [Int]) {
        self.holds = holds
        self.spent = spent
        self.held = held
        self.refused = refused
        self.softOverruns = softOverruns
    }
}

/// The shared database cannot be reached: budgets fail closed (the request is refused, 503), rate
/// limits fall back to this replica's share.
public struct SharedLimitsUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
