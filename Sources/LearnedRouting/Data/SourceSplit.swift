/// A seeded split of sources (e.g. MMLU subjects) into parts of about the given shares of rows;
/// whatever is left over is the last part (training).
public struct SourceSplit: Sendable {
    /// Source names per part, sorted; `fractions.count + 1` parts.
    public var parts: [[String]]

    public static func make(sources: [String?], seed: UInt64, fractions: [Double]) -> SourceSplit {
        var sizes: [String: Int] = [:]
        for source in sources { sizes[source ?? "", default: 0] += 1 }
        var names = sizes.keys.sorted()
        var generator = SeededGenerator(seed: seed)
        names.shuffle(using: &generator)
        let total = Double(sources.count)
        var parts: [[String]] = []
        var remaining = names
        for fraction in fractions {
            var part: [String] = []
            var rows = 0
            // In shuffled order, take each source that fits in the part's share of rows (10 % slack).
            for name in remaining {
                let next = sizes[name]!
                if Double(rows + next) <= fraction * total * 1.1 {
                    part.append(name)
                    rows += next
                }
            }
            remaining.removeAll { part.contains($0) }
            parts.append(part.sorted())
        }
        parts.append(remaining.sorted())
        return SourceSplit(parts: parts)
    }
}
