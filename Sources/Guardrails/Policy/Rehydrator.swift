import Foundation

/// Puts the originals back in place of a `Masker`'s placeholders, in a whole text or in a stream of
/// text deltas where a placeholder may arrive split across deltas (`[PERS` + `ON_1]`).
public struct Rehydrator: Sendable, Hashable {
    /// Placeholder (`[PERSON_1]`) → the value it stands for.
    public let originals: [String: String]
    /// The longest placeholder, in scalars: nothing longer is ever held back.
    let longest: Int

    public init(originals: [String: String]) {
        self.originals = originals
        self.longest = originals.keys.map { $0.unicodeScalars.count }.max() ?? 0
    }

    /// `text` with every known placeholder replaced by its original.
    public func rehydrate(_ text: String) -> String {
        guard !originals.isEmpty else { return text }
        return replace(Array(text.unicodeScalars), final: true).output
    }

    /// A rehydrator for one stream of deltas.
    public func stream() -> Stream { Stream(rehydrator: self) }

    /// Rehydrates a stream as it passes. It holds back only the tail of what it has seen that could
    /// still become a placeholder (at most the longest placeholder's length), never the whole stream.
    public struct Stream: Sendable {
        let rehydrator: Rehydrator
        private var pending: [Unicode.Scalar] = []

        init(rehydrator: Rehydrator) { self.rehydrator = rehydrator }

        /// The text that can be given to the client now.
        public mutating func feed(_ delta: String) -> String {
            guard !rehydrator.originals.isEmpty else { return delta }
            let scalars = pending + Array(delta.unicodeScalars)
            let (output, held) = rehydrator.replace(scalars, final: false)
            pending = held
            return output
        }

        /// What was held back, at the end of the stream.
        public mutating func finish() -> String {
            defer { pending = [] }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: pending)
            return String(view)
        }

        /// Scalars held back right now (for tests and bounds).
        public var heldBack: Int { pending.count }
    }

    /// Replaces placeholders in `scalars`; unless `final`, a tail that is a proper prefix of some
    /// placeholder is returned as `held` instead of output.
    func replace(_ scalars: [Unicode.Scalar], final: Bool) -> (output: String, held: [Unicode.Scalar]) {
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "[" else {
                output.append(scalar)
                index += 1
                continue
            }
            // A complete placeholder here?
            let limit = min(scalars.count, index + longest)
            var close: Int?
            var cursor = index + 1
            while cursor < limit {
                if scalars[cursor] == "]" {
                    close = cursor
                    break
                }
                if scalars[cursor] == "[" { break }
                cursor += 1
            }
            if let close {
                let candidate = Self.string(scalars[index...close])
                if let original = originals[candidate] {
                    output.append(contentsOf: original.unicodeScalars)
                    index = close + 1
                    continue
                }
            } else if !final, scalars.count - index < longest {
                // The rest may still grow into a placeholder: hold it back if it can.
                let tail = Self.string(scalars[index...])
                if originals.keys.contains(where: { $0.hasPrefix(tail) }) {
                    return (String(output), Array(scalars[index...]))
                }
            }
            output.append(scalar)
            index += 1
        }
        return (String(output), [])
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
