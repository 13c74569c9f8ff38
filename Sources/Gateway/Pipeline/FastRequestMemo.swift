import Caching
import Foundation
import Governance
import NIOCore
import SwitchyardCore

/// What the fast path learned from a request body that depends on the bytes alone: the decoded and
/// validated request, its token estimate and its canonical cache rendering. A body that comes again byte
/// for byte (a retried request, a dashboard's poll, an eval re-run: the requests an exact cache serves) is
/// not decoded, validated or rendered again. Everything that depends on who asks or on the gateway's
/// state — authentication, permissions, the route plan, admission, the cache lookup, budgets, the log —
/// runs for every request as before.
///
/// One per event loop, used only on it (no lock). Bounded: at most `capacity` bodies of at most
/// `maximumBodyBytes` each; a full memo forgets an entry (the first in its hash order).
public final class FastRequestMemo {
    public static let capacity = 256
    public static let maximumBodyBytes = 16 * 1024

    struct Entry {
        let request: ChatRequest
        let estimatedTokens: Int
        /// `CacheKey.rendered`, computed on the first lookup that needs it; `.some(nil)` when it cannot be rendered.
        var rendered: Data??
        /// The last namespace's key over `rendered`.
        var lastKey: (namespace: String, key: CacheKey)?
    }

    private var entries: [ByteBuffer: Entry] = [:]
    /// SHA-256 of the API keys presented on this loop (`Governor.hash`), so a key is hashed once, not per
    /// request; whether the key is valid is still asked every time. At most `keyCapacity`.
    private var keyHashes: [String: String] = [:]
    public static let keyCapacity = 64

    public init() {}

    public var count: Int { entries.count }

    func entry(_ body: ByteBuffer) -> Entry? {
        body.readableBytes <= Self.maximumBodyBytes ? entries[body] : nil
    }

    func remember(_ body: ByteBuffer, _ entry: Entry) {
        guard body.readableBytes <= Self.maximumBodyBytes else { return }
        if entries.count >= Self.capacity, entries[body] == nil { entries.remove(at: entries.startIndex) }
        entries[body] = entry
    }

    func keyHash(_ presented: String) -> String {
        if let hash = keyHashes[presented] { return hash }
        let hash = Governor.hash(presented)
        if keyHashes.count >= Self.keyCapacity { keyHashes.remove(at: keyHashes.startIndex) }
        keyHashes[presented] = hash
        return hash
    }

    /// The cache key of a body under `namespace`, given its entry as `entry(_:)` returned it or as it was
    /// remembered: the request is rendered once per body and hashed once per namespace; the usual case (the
    /// same namespace again) costs no second lookup.
    func cacheKey(_ body: ByteBuffer, entry: Entry, namespace: String) -> CacheKey? {
        var entry = entry
        if let last = entry.lastKey, last.namespace == namespace { return last.key }
        if entry.rendered == nil { entry.rendered = .some(CacheKey.rendered(entry.request)) }
        guard let rendered = entry.rendered ?? nil else {
            update(body, entry)
            return nil
        }
        let key = CacheKey(namespace: namespace, rendered: rendered)
        entry.lastKey = (namespace, key)
        update(body, entry)
        return key
    }

    /// Stores what was learned about a body still remembered (one it has forgotten meanwhile stays forgotten).
    private func update(_ body: ByteBuffer, _ entry: Entry) {
        guard body.readableBytes <= Self.maximumBodyBytes, entries[body] != nil else { return }
        entries[body] = entry
    }
}
