/// How a group orders its deployments for one request.
public enum RoutingStrategy: String, Sendable, Hashable, CaseIterable, Codable {
    case priority
    case weighted
    case leastBusy = "least-busy"
    case leastLatency = "least-latency"
    case lowestCost = "lowest-cost"
    case usageHeadroom = "usage-headroom"
}

/// What the planner knows about one deployment at decision time.
public struct DeploymentSnapshot: Sendable, Hashable {
    public var name: String
    /// Position in the configuration (ties break by it).
    public var index: Int
    public var weight: Double
    public var inFlight: Int
    /// EWMA of whole-request latency, milliseconds; nil before the first sample.
    public var latencyMs: Double?
    /// EWMA of time to first token, milliseconds.
    public var ttftMs: Double?
    /// Estimated cost of this request on this deployment, USD.
    public var estimatedCost: Double
    public var requestsLastMinute: Int
    public var tokensLastMinute: Int
    public var rpmLimit: Int?
    public var tpmLimit: Int?
    /// False while the circuit breaker is open.
    public var available: Bool

    public init(
        name: String, index: Int, weight: Double = 1, inFlight: Int = 0, latencyMs: Double? = nil, ttftMs: Double? = nil,
        estimatedCost: Double = 0, requestsLastMinute: Int = 0, tokensLastMinute: Int = 0, rpmLimit: Int? = nil,
        tpmLimit: Int? = nil, available: Bool = true
    ) {
        self.name = name
        self.index = index
        self.weight = weight
        self.inFlight = inFlight
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.estimatedCost = estimatedCost
        self.requestsLastMinute = requestsLastMinute
        self.tokensLastMinute = tokensLastMinute
        self.rpmLimit = rpmLimit
        self.tpmLimit = tpmLimit
        self.available = available
    }

    /// Smallest remaining share of the RPM and TPM limits if this request were added (1 = untouched).
    func headroom(adding tokens: Int) -> Double {
        var share = 1.0
        if let rpm = rpmLimit, rpm > 0 { share = min(share, 1 - Double(requestsLastMinute + 1) / Double(rpm)) }
        if let tpm = tpmLimit, tpm > 0 { share = min(share, 1 - Double(tokensLastMinute + tokens) / Double(tpm)) }
        return share
    }
}

/// A deployment left out of a plan, and why.
public struct Exclusion: Sendable, Hashable, Codable {
    public var deployment: String
    public var reason: String

    public init(deployment: String, reason: String) {
        self.deployment = deployment
        self.reason = reason
    }
}

/// Orders deployments by a strategy. Pure: randomness comes from the caller's generator.
public enum StrategyOrdering {
    /// The exclusion reason of a deployment whose breaker is open.
    public static let breakerOpen = "circuit breaker open"

    public static func order(
        _ candidates: [DeploymentSnapshot], by strategy: RoutingStrategy, stream: Bool, estimatedTokens: Int,
        using random: inout some RandomNumberGenerator
    ) -> (ordered: [DeploymentSnapshot], excluded: [Exclusion]) {
        var excluded: [Exclusion] = []
        var pool: [DeploymentSnapshot] = []
        for candidate in candidates {
            if !candidate.available {
                excluded.append(.init(deployment: candidate.name, reason: breakerOpen))
            } else if strategy == .usageHeadroom, candidate.headroom(adding: estimatedTokens) < 0 {
                excluded.append(.init(deployment: candidate.name, reason: "would exceed its RPM/TPM limit"))
            } else {
                pool.append(candidate)
            }
        }
        let byIndex: (DeploymentSnapshot, DeploymentSnapshot) -> Bool = { $0.index < $1.index }
        switch strategy {
        case .priority:
            pool.sort(by: byIndex)
        case .weighted:
            pool = weightedShuffle(pool, using: &random)
        case .leastBusy:
            pool.sort { ($0.inFlight, $0.index) < ($1.inFlight, $1.index) }
        case .lowestCost:
            pool.sort { ($0.estimatedCost, $0.index) < ($1.estimatedCost, $1.index) }
        case .usageHeadroom:
            pool.sort {
                let (a, b) = ($0.headroom(adding: estimatedTokens), $1.headroom(adding: estimatedTokens))
                return a != b ? a > b : $0.index < $1.index
            }
        case .leastLatency:
            // Power of two choices: of two random deployments the faster goes first, so a fast
            // deployment gets most traffic without all replicas stampeding onto it. Unmeasured
            // deployments count as fastest so they get measured.
            let metric: (DeploymentSnapshot) -> Double = { (stream ? $0.ttftMs ?? $0.latencyMs : $0.latencyMs) ?? 0 }
            pool.sort { (metric($0), $0.index) < (metric($1), $1.index) }
            if pool.count > 2 {
                let first = Int.random(in: 0..<pool.count, using: &random)
                var second = Int.random(in: 0..<(pool.count - 1), using: &random)
                if second >= first { second += 1 }
                let winner = metric(pool[first]) <= metric(pool[second]) ? first : second
                let chosen = pool.remove(at: winner)
                pool.insert(chosen, at: 0)
            }
        }
        return (pool, excluded)
    }

    /// Sampling without replacement, each draw proportional to weight.
    static func weightedShuffle(_ items: [DeploymentSnapshot], using random: inout some RandomNumberGenerator)
        -> [DeploymentSnapshot]
    {
        var remaining = items
        var result: [DeploymentSnapshot] = []
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + max($1.weight, 0) }
            guard total > 0 else {
                result += remaining
                break
            }
            var pick = Double.random(in: 0..<total, using: &random)
            var index = remaining.count - 1
            for (offset, item) in remaining.enumerated() {
                pick -= max(item.weight, 0)
                if pick < 0 {
                    index = offset
                    break
                }
            }
            result.append(remaining.remove(at: index))
        }
        return result
    }
}
