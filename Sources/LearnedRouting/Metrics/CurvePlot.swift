import Foundation

/// An SVG chart of PGR against the strong-call share, one polyline per router.
public enum CurvePlot {
    public struct Series: Sendable {
        public var label: String
        public var curve: RoutingCurve
        public var colour: String
        public var dashed: Bool

        public init(label: String, curve: RoutingCurve, colour: String, dashed: Bool = false) {
            self.label = label
            self.curve = curve
            self.colour = colour
            self.dashed = dashed
        }
    }

    public static func svg(title: String, series: [Series], points: [(label: String, x: Double, y: Double)] = []) -> String {
        let width = 640.0, height = 480.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let minimumY = min(0, series.flatMap { s in s.curve.corners.map { s.curve.pgr(quality: $0.quality) } }.filter { !$0.isNaN }.min() ?? 0)
        let maximumY = max(1.2, series.flatMap { s in s.curve.corners.map { s.curve.pgr(quality: $0.quality) } }.filter { !$0.isNaN }.max() ?? 1)
        func x(_ value: Double) -> Double { left + value * plotWidth }
        func y(_ value: Double) -> Double { top + (maximumY - value) / (maximumY - minimumY) * plotHeight }
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="14">\(escape(title))</text>

            """
        for tick in stride(from: 0.0, through: 1.0001, by: 0.1) {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x(tick), top, x(tick), top + plotHeight)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f%%</text>\n", x(tick), top + plotHeight + 16, tick * 100)
        }
        var tick = (minimumY * 5).rounded(.down) / 5
        while tick <= maximumY + 1e-9 {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y(tick), left + plotWidth, y(tick))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", left - 6, y(tick) + 4, tick)
            tick += 0.2
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">share of calls to the strong model</text>\n", left + plotWidth / 2, height - 10)
        svg += String(format: "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">PGR (share of the weak→strong gap recovered)</text>\n", top + plotHeight / 2)
        for (index, item) in series.enumerated() {
            let path = item.curve.corners.map { String(format: "%.2f,%.2f", x($0.strongFraction), y(item.curve.pgr(quality: $0.quality))) }
            svg += "<polyline fill=\"none\" stroke=\"\(item.colour)\" stroke-width=\"2\"\(item.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path.joined(separator: " "))\"/>\n"
            let legendY = top + 14 + Double(index) * 18
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" ", left + plotWidth - 230, legendY - 4, left + plotWidth - 205, legendY - 4)
                + "stroke=\"\(item.colour)\" stroke-width=\"2\"/>\n"
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\">", left + plotWidth - 200, legendY) + escape(item.label) + "</text>\n"
        }
        for point in points {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"black\"/><text x=\"%.1f\" y=\"%.1f\">", x(point.x), y(point.y), x(point.x) + 6, y(point.y) - 6)
                + escape(point.label) + "</text>\n"
        }
        return svg + "</svg>\n"
    }
}
