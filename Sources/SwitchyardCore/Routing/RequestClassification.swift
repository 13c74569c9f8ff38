import Foundation

// The classifier seam lives in Core: the rule classifier (Routing) and learned routers
// (LearnedRouting) both implement it, and neither imports the other.

/// What the auto router knows about a request before choosing a model.
public struct RequestFeatures: Sendable, Hashable {
    public var promptTokens: Int
    public var expectedOutputTokens: Int
    public var needs: Set<Capability>
    /// Number of user and assistant turns so far.
    public var depth: Int
    /// The last user message (what classifiers look at).
    public var lastUserText: String
    public var systemText: String

    public init(
        promptTokens: Int, expectedOutputTokens: Int, needs: Set<Capability>, depth: Int, lastUserText: String,
        systemText: String = ""
    ) {
        self.promptTokens = promptTokens
        self.expectedOutputTokens = expectedOutputTokens
        self.needs = needs
        self.depth = depth
        self.lastUserText = lastUserText
        self.systemText = systemText
    }

    public init(_ request: ChatRequest, promptTokens: Int) {
        var needs: Set<Capability> = []
        if !(request.tools ?? []).isEmpty { needs.insert(.tools) }
        if request.responseFormat?.wantsJSON == true { needs.insert(.json) }
        for message in request.messages {
            for part in message.content?.parts ?? [] { if case .imageURL = part { needs.insert(.vision) } }
        }
        self.init(
            promptTokens: promptTokens, expectedOutputTokens: request.outputTokenLimit ?? 512, needs: needs,
            depth: request.messages.filter { $0.role == .user || $0.role == .assistant }.count,
            lastUserText: request.messages.last { $0.role == .user }?.text ?? "", systemText: request.systemText)
    }

    public var json: [String: JSONValue] {
        [
            "prompt_tokens": .int(Int64(promptTokens)), "expected_output_tokens": .int(Int64(expectedOutputTokens)),
            "needs": .array(needs.map(\.rawValue).sorted().map { .string($0) }), "depth": .int(Int64(depth)),
        ]
    }
}

/// A classifier's verdict: the kind of task and how hard it is (1 = easy…).
public struct Classification: Sendable, Hashable {
    public var task: String
    public var difficulty: Int
    /// Which rule or model decided, for the trace.
    public var reason: String
    /// A learned router's score (probability the strong model is needed), when there is one.
    public var score: Double?

    public init(task: String, difficulty: Int, reason: String, score: Double? = nil) {
        self.task = task
        self.difficulty = difficulty
        self.reason = reason
        self.score = score
    }
}

/// The seam every classifier fits: rules today, learned routers (kNN over embeddings, logistic
/// regression) plug in here without the planner changing.
public protocol RequestClassifier: Sendable {
    func classify(_ features: RequestFeatures) async throws -> Classification
}
