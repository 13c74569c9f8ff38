import Crypto
import Foundation
import SwitchyardCore

extension AuditChain {
    /// Lowercase hex SHA-256 of an entry's material.
    public static func hash(_ material: Data) -> String { hexString(SHA256.hash(data: material)) }

    /// Where a chain breaks: the first bad entry's sequence number and why.
    public struct Break: Sendable, Hashable, CustomStringConvertible {
        public var sequence: Int
        public var reason: String
        public var description: String { "entry \(sequence): \(reason)" }
    }

    /// Checks a whole chain, oldest first: sequence numbers without gaps, each entry's previous hash
    /// the hash before it, and each hash recomputed from the entry's fields. Nil when intact.
    public static func verify(_ entries: [AuditEntry]) -> Break? {
        var previous = genesis
        for (index, entry) in entries.enumerated() {
            if entry.sequence != index + 1 {
                return Break(sequence: entry.sequence, reason: "sequence \(entry.sequence) where \(index + 1) was expected (a row is missing or was added)")
            }
            if entry.previousHash != previous { return Break(sequence: entry.sequence, reason: "its previous hash is not the hash of the entry before it") }
            let recomputed = hash(
                material(
                    sequence: entry.sequence, at: entry.at, actor: entry.actor, action: entry.action, target: entry.target,
                    detailsJSON: entry.detailsJSON, previousHash: entry.previousHash))
            if recomputed != entry.hash { return Break(sequence: entry.sequence, reason: "its contents do not match its hash (the row was edited)") }
            previous = entry.hash
        }
        return nil
    }
}
