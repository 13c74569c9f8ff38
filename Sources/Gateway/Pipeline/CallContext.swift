import Foundation
import Governance
import Logging
import SwitchyardCore

/// The protocol a client spoke, which decides the shape of answers and errors.
public enum ClientProtocol: String, Sendable {
    case openai, anthropic
}

/// Who is calling, after authentication.
public struct Caller: Sendable, Hashable {
    /// A stable identity of the key (a hash of its secret, never its place in the config): what
    /// cache namespaces, the request log and the spend ledger are keyed by.
    public var id: String
    public var name: String
    public var role: Role
    /// The key's team, for team budgets, limits and a team admin's view.
    public var team: String?
    /// Models this caller may use (glob patterns); `nil` = all.
    public var allowedModels: [String]?
    /// Tools this caller may see and call (glob patterns); `nil` = all.
    public var allowedTools: [String]?
    /// Groups for document access control; `nil` = everything (no auth).
    public var groups: [String]?
    /// May create, delete and change collections.
    public var collectionWrite: Bool
    /// Labels the spend ledger records with each request.
    public var tags: [String: String]
    /// The key behind the caller (nil without auth): its limits and budget.
    public var key: StoredKey?

    public init(
        id: String? = nil, name: String, role: Role = .admin, team: String? = nil, allowedModels: [String]? = nil,
        allowedTools: [String]? = nil, groups: [String]? = nil, collectionWrite: Bool? = nil, tags: [String: String] = [:],
        key: StoredKey? = nil
    ) {
        self.id = id ?? name
        self.name = name
        self.role = role
        self.team = team
        self.allowedModels = allowedModels
        self.allowedTools = allowedTools
        self.groups = groups
        self.collectionWrite = collectionWrite ?? (role == .admin)
        self.tags = tags
        self.key = key
    }

    /// A key's caller.
    public init(_ key: StoredKey) {
        self.init(
            id: key.id, name: key.name, role: key.role, team: key.team, allowedModels: key.models, allowedTools: key.tools,
            groups: key.groups, collectionWrite: key.collectionWrite, tags: key.tags, key: key)
    }

    /// Without auth: everything is allowed (as on a gateway with one administrator).
    public static let anonymous = Caller(name: "anonymous", role: .admin)

    /// The request-log rows and spend this caller may read: an admin all, a team admin its team's,
    /// a member its own.
    public var ledgerScope: LedgerScope {
        switch role {
        case .admin: return .all
        case .teamAdmin: return team.map { .team($0) } ?? .key(id)
        case .member: return .key(id)
        }
    }
}

/// What the pipeline knows about one request besides its body.
public struct CallContext: Sendable {
    public var requestID: String
    public var caller: Caller
    public var clientProtocol: ClientProtocol
    public var startedAt: ContinuousClock.Instant
    public var receivedAt: Date
    public var logger: Logger
    /// Route constraints sent in the `x-switchyard-route` header (JSON).
    public var routeHeader: String?
    /// Cache directive sent in the `x-switchyard-cache` header.
    public var cacheHeader: String?
    /// The rate-limit admission, once made (`Gateway.admit`): a request is admitted once, however
    /// many upstream calls (tool-loop turns) it makes.
    public var admission: RateLimitAdmission?
    /// True for a request of a batch (`/v1/batches`, `/v1/messages/batches`): it is priced with the
    /// model's `batch_discount`.
    public var batch = false
    /// The client's `x-switchyard-episode-id` (checked at the edge): recorded with the request, and
    /// what feedback on the episode and sticky experiment assignment refer to.
    public var episodeID: String?
    /// The experiment variant this request was assigned (`Gateway.assignVariant`), once assigned.
    public var experiment: ExperimentAssignment?
    /// Why the fast path gave this request to the full pipeline (a route note, for `explain`).
    public var fullPathReason: String?
    /// The fast path's failed attempt at this request: the full path continues from it.
    public var fastAttempt: FastAttempt?

    /// This context with the fast path's reason for declining the request, when it gave one; `admitted`
    /// when the fast path already counted it under the key's rate limits (it is not counted again).
    public func declined(_ reason: String?, admitted: Bool = false, attempt: FastAttempt? = nil) -> CallContext {
        var context = self
        context.fullPathReason = reason
        if admitted, reason != nil { context.admission = RateLimitAdmission() }
        context.fastAttempt = attempt
        return context
    }

    public init(
        requestID: String = CallContext.newRequestID(), caller: Caller = .anonymous,
        clientProtocol: ClientProtocol = .openai, routeHeader: String? = nil, cacheHeader: String? = nil, logger: Logger = Logger(label: "switchyard"),
        tagsLogger: Bool = true
    ) {
        self.routeHeader = routeHeader
        self.cacheHeader = cacheHeader
        self.requestID = requestID
        self.caller = caller
        self.clientProtocol = clientProtocol
        self.startedAt = .now
        self.receivedAt = Date()
        var logger = logger
        // Setting metadata makes the stream log handler render all of it again: the fast path, which logs
        // only on a hand-off and names the request there, skips it (`tagsLogger: false`).
        if tagsLogger { logger[metadataKey: "switchyard.request_id"] = .string(requestID) }
        self.logger = logger
    }

    /// `req_`, 12 hex digits of milliseconds since 1970, 12 random hex digits: ids sort by time.
    ///
    /// The request log's primary key is this id, so time-ordered ids append at the right edge of
    /// its index instead of landing at random pages of it: on a 1.6-million-row log, 5-7 µs an insert
    /// against 16-360 µs for random ids (Python's sqlite3, same schema, batches of 500).
    public static func newRequestID(now: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, (now.timeIntervalSince1970 * 1000).rounded())) & 0xFFFF_FFFF_FFFF
        let random = (generator.next() as UInt64) & 0xFFFF_FFFF_FFFF
        return String(unsafeUninitializedCapacity: 28) { buffer in
            let digits = Array("0123456789abcdef".utf8)
            for (index, byte) in "req_".utf8.enumerated() { buffer[index] = byte }
            for index in 0..<12 {
                buffer[4 + index] = digits[Int((milliseconds >> UInt64(4 * (11 - index))) & 0xF)]
                buffer[16 + index] = digits[Int((random >> UInt64(4 * (11 - index))) & 0xF)]
            }
            return 28
        }
    }

    var elapsedMilliseconds: Double {
        let elapsed = ContinuousClock.now - startedAt
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}

/// A request's place in an experiment: which variant, and the target it stands for.
public struct ExperimentAssignment: Sendable, Hashable {
    public var experiment: String
    public var variant: String
    /// The model, group or route the request goes to instead of the experiment's name.
    public var target: String
    /// What stickiness was keyed by: `user`, `episode` or `request`.
    public var unit: String

    /// `EXPERIMENT/VARIANT`: the request log's `variant` and the `x-switchyard-variant` header.
    public var label: String { experiment + "/" + variant }
}
