import Foundation

extension EvalReport {
    /// An inline SVG scatter: x = mean cost per cell, y = pass rate, one labelled point per provider,
    /// so the cheapest provider that is good enough is the point furthest up and left.
    static func costQualityChart(_ summaries: [EvalProviderSummary]) -> String {
        let width = 680.0, height = 380.0
        let left = 78.0, right = 170.0, top = 20.0, bottom = 56.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let costs = summaries.map { $0.cells == 0 ? 0 : $0.costUSD / Double($0.cells) }.map { $0.isFinite ? max($0, 0) : 0 }
        let xTicks = niceTicks(upTo: costs.max() ?? 0)
        let xMax = xTicks.last ?? 1
        func x(_ cost: Double) -> Double { left + plotWidth * (xMax > 0 ? cost / xMax : 0) }
        func y(_ rate: Double) -> Double { top + plotHeight * (1 - rate) }

        var svg = """
            <figure id="chart">
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" \
            role="img" aria-labelledby="chart-title chart-desc">
            <title id="chart-title">Cost versus quality per provider</title>
            <desc id="chart-desc">Each point is a provider: across, its mean cost per cell; up, its pass rate.</desc>
            <g class="grid">
            """
        for rate in [0.25, 0.5, 0.75, 1.0] { svg += line(left, y(rate), left + plotWidth, y(rate)) }
        for tick in xTicks.dropFirst() { svg += line(x(tick), top, x(tick), top + plotHeight) }
        svg += "</g>\n<g class=\"axis\">"
        svg += line(left, top + plotHeight, left + plotWidth, top + plotHeight) + line(left, top, left, top + plotHeight)
        for rate in [0.0, 0.25, 0.5, 0.75, 1.0] {
            svg += line(left - 5, y(rate), left, y(rate))
            svg += "<text x=\"\(coordinate(left - 8))\" y=\"\(coordinate(y(rate) + 4))\" text-anchor=\"end\">\(Int(rate * 100))%</text>"
        }
        for tick in xTicks {
            svg += line(x(tick), top + plotHeight, x(tick), top + plotHeight + 5)
            svg += "<text x=\"\(coordinate(x(tick)))\" y=\"\(coordinate(top + plotHeight + 19))\" text-anchor=\"middle\">\(formatCost(tick))</text>"
        }
        svg += "<text x=\"\(coordinate(left + plotWidth / 2))\" y=\"\(coordinate(height - 10))\" text-anchor=\"middle\">Mean cost per cell (USD)</text>"
        svg += "<text x=\"18\" y=\"\(coordinate(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(coordinate(top + plotHeight / 2)))\">Pass rate</text>"
        svg += "</g>\n<g class=\"points\">"

        // Labels of providers at (nearly) the same point are stacked instead of drawn over each other.
        var placedLabels: [(x: Double, y: Double)] = []
        let order = summaries.indices.sorted { (summaries[$0].passRate, -costs[$0]) > (summaries[$1].passRate, -costs[$1]) }
        var labelY = [Int: Double]()
        for index in order {
            let cx = x(costs[index]), cy = y(summaries[index].passRate)
            var ly = cy + 4
            while placedLabels.contains(where: { abs($0.x - cx) < 120 && abs($0.y - ly) < 14 }) { ly += 14 }
            placedLabels.append((cx, ly))
            labelY[index] = ly
        }
        for (index, summary) in summaries.enumerated() {
            let cx = x(costs[index]), cy = y(summary.passRate)
            let label = HTMLText.escape(clipped(summary.provider.label, 40))
            let detail = "\(label): pass rate \(formatPercent(summary.passRate)), mean score \(formatScore(summary.meanScore)), "
                + "\(formatCost(costs[index])) per cell, \(formatCost(summary.costUSD)) in all"
            svg += "\n<circle class=\"provider-point\" data-provider=\"\(HTMLText.escape(summary.provider.id))\" "
                + "cx=\"\(coordinate(cx))\" cy=\"\(coordinate(cy))\" r=\"6\"><title>\(detail)</title></circle>"
            svg += "<text class=\"point-label\" x=\"\(coordinate(cx + 10))\" y=\"\(coordinate(labelY[index] ?? cy))\">\(label)</text>"
        }
        svg += "\n</g>\n</svg>\n"
        let caption = costs.allSatisfy { $0 == 0 } ? " No cost was recorded (cached answers or unpriced models), so every point sits at $0." : ""
        svg += "<figcaption>Up is better (more cells pass), left is cheaper.\(caption)</figcaption>\n</figure>\n"
        return svg
    }

    /// Per provider, a bar of its pass rate with a tick at its mean score.
    static func passRateBars(_ summaries: [EvalProviderSummary]) -> String {
        let labelWidth = 190.0, barWidth = 330.0, rowHeight = 26.0, top = 8.0
        let width = labelWidth + barWidth + 200, height = top * 2 + rowHeight * Double(max(summaries.count, 1))
        var svg = """
            <figure id="bars">
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" \
            role="img" aria-labelledby="bars-title">
            <title id="bars-title">Pass rate per provider, with a mark at the mean score</title>

            """
        for (index, summary) in summaries.enumerated() {
            let rowTop = top + Double(index) * rowHeight
            let label = HTMLText.escape(clipped(summary.provider.label, 28))
            svg += "<g data-provider=\"\(HTMLText.escape(summary.provider.id))\">"
            svg += "<text x=\"\(coordinate(labelWidth - 8))\" y=\"\(coordinate(rowTop + 17))\" text-anchor=\"end\">\(label)</text>"
            svg += "<rect class=\"bar-track\" x=\"\(coordinate(labelWidth))\" y=\"\(coordinate(rowTop + 4))\" width=\"\(coordinate(barWidth))\" height=\"18\"/>"
            svg += "<rect class=\"bar\" x=\"\(coordinate(labelWidth))\" y=\"\(coordinate(rowTop + 4))\" "
                + "width=\"\(coordinate(barWidth * clamp(summary.passRate)))\" height=\"18\"/>"
            let mark = labelWidth + barWidth * clamp(summary.meanScore)
            svg += line(mark, rowTop + 1, mark, rowTop + 25, className: "score-mark")
            svg += "<text x=\"\(coordinate(labelWidth + barWidth + 8))\" y=\"\(coordinate(rowTop + 17))\">"
                + "\(formatPercent(summary.passRate)) pass · score \(formatScore(summary.meanScore))</text></g>\n"
        }
        svg += "</svg>\n<figcaption>Bar: share of cells that passed. Mark: mean score.</figcaption>\n</figure>\n"
        return svg
    }

    /// 0, then round steps (1, 2 or 5 × 10ⁿ) past `maximum`; `[0, 1]` when there is nothing to show.
    static func niceTicks(upTo maximum: Double) -> [Double] {
        guard maximum > 0, maximum.isFinite else { return [0, 1] }
        let rough = maximum / 4
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let count = Int((maximum / step).rounded(.up))
        return (0...max(count, 1)).map { Double($0) * step }
    }

    private static func clamp(_ fraction: Double) -> Double { fraction.isFinite ? min(max(fraction, 0), 1) : 0 }

    private static func coordinate(_ value: Double) -> String { String(format: "%.1f", value.isFinite ? value : 0) }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, className: String? = nil) -> String {
        let classAttribute = className.map { " class=\"\($0)\"" } ?? ""
        return "<line\(classAttribute) x1=\"\(coordinate(x1))\" y1=\"\(coordinate(y1))\" x2=\"\(coordinate(x2))\" y2=\"\(coordinate(y2))\"/>"
    }
}
