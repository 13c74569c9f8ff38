/// A traffic split: clients ask for the experiment's name, and each request goes to one variant's
/// target (a model, group or route), chosen by weight and sticky per unit (a user, an episode, or
/// else the request itself).
public struct Experiment: Sendable, Hashable {
    public struct Variant: Sendable, Hashable {
        public var name: String
        /// A model, group or route name.
        public var target: String
        /// Relative share of the traffic (finite, ≥ 0; the weights of an experiment sum to > 0).
        public var weight: Double

        public init(name: String, target: String, weight: Double = 1) {
            self.name = name
            self.target = target
            self.weight = weight
        }
    }

    public var name: String
    /// The first variant is the control the report compares every other variant with.
    public var variants: [Variant]

    public init(name: String, variants: [Variant]) {
        self.name = name
        self.variants = variants
    }

    /// What stickiness is keyed by, in order of preference.
    public enum Unit: Sendable, Hashable {
        /// The request's `user` (OpenAI) or `metadata.user_id` (Anthropic).
        case user(String)
        /// The client's `x-switchyard-episode-id`.
        case episode(String)
        /// Neither: the request id, so each request is drawn on its own.
        case request(String)

        public var key: String {
            switch self {
            case .user(let value): return "user:" + value
            case .episode(let value): return "episode:" + value
            case .request(let value): return "request:" + value
            }
        }

        public var kind: String {
            switch self {
            case .user: return "user"
            case .episode: return "episode"
            case .request: return "request"
            }
        }
    }

    /// The variant for `unit`: the same unit always gets the same variant (across restarts and
    /// replicas: the hash is FNV-1a, not Swift's seeded `Hasher`), and over many units each variant
    /// gets its weight's share. Changing the weights moves only the units whose point now falls in
    /// another variant's interval.
    public func variant(for unit: Unit) -> Variant {
        let total = variants.reduce(0) { $0 + max(0, $1.weight) }
        guard total > 0, total.isFinite, let last = variants.last(where: { $0.weight > 0 }) else { return variants[0] }
        let point = Self.unitInterval(name + "\u{1F}" + unit.key) * total
        var upper = 0.0
        for variant in variants where variant.weight > 0 {
            upper += variant.weight
            if point < upper { return variant }
        }
        return last
    }

    /// A point in [0, 1) from a stable 64-bit hash: FNV-1a over the UTF-8 bytes, then splitmix64's
    /// finaliser (FNV alone leaves the high bits of similar strings, "user-1" and "user-2", close).
    public static func unitInterval(_ text: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return Double(hash >> 11) / Double(UInt64(1) << 53)
    }
}
