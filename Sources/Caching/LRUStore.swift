import Foundation

/// A size-capped least-recently-used map with per-entry expiry. Not thread-safe: the cache
/// that owns it serialises access.
struct LRUStore<Value> {
    final class Node {
        let key: String
        var value: Value
        var bytes: Int
        var expires: Date
        var previous: Node?
        var next: Node?

        init(key: String, value: Value, bytes: Int, expires: Date) {
            self.key = key
            self.value = value
            self.bytes = bytes
            self.expires = expires
        }
    }

    private var nodes: [String: Node] = [:]
    private var head: Node?  // most recent
    private var tail: Node?  // least recent
    private(set) var bytes = 0
    let capacityBytes: Int
    private(set) var evictions = 0

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    var count: Int { nodes.count }

    /// The value, if present and not expired; touching it makes it most recent.
    mutating func value(for key: String, now: Date) -> Value? {
        guard let node = nodes[key] else { return nil }
        if node.expires <= now {
            remove(key)
            return nil
        }
        moveToFront(node)
        return node.value
    }

    /// Inserts or replaces, then evicts least-recent entries until under the byte cap.
    /// Returns the keys evicted.
    @discardableResult
    mutating func set(_ value: Value, for key: String, bytes: Int, expires: Date) -> [String] {
        if let existing = nodes[key] {
            self.bytes += bytes - existing.bytes
            existing.value = value
            existing.bytes = bytes
            existing.expires = expires
            moveToFront(existing)
        } else {
            let node = Node(key: key, value: value, bytes: bytes, expires: expires)
            nodes[key] = node
            self.bytes += bytes
            insertAtFront(node)
        }
        var evicted: [String] = []
        while self.bytes > capacityBytes, let last = tail, last.key != key || nodes.count > 1 {
            evicted.append(last.key)
            remove(last.key)
            evictions += 1
        }
        if self.bytes > capacityBytes, nodes[key] != nil {  // a single entry larger than the cap
            evicted.append(key)
            remove(key)
        }
        return evicted
    }

    mutating func remove(_ key: String) {
        guard let node = nodes.removeValue(forKey: key) else { return }
        bytes -= node.bytes
        unlink(node)
    }

    mutating func removeAll(where predicate: (String, Value) -> Bool) -> [String] {
        let keys = nodes.filter { predicate($0.key, $0.value.value) }.map(\.key)
        for key in keys { remove(key) }
        return keys
    }

    private mutating func insertAtFront(_ node: Node) {
        node.next = head
        node.previous = nil
        head?.previous = node
        head = node
        if tail == nil { tail = node }
    }

    private mutating func unlink(_ node: Node) {
        if let previous = node.previous { previous.next = node.next } else { head = node.next }
        if let next = node.next { next.previous = node.previous } else { tail = node.previous }
        node.previous = nil
        node.next = nil
    }

    private mutating func moveToFront(_ node: Node) {
        guard head !== node else { return }
        unlink(node)
        insertAtFront(node)
    }
}
