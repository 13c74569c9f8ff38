import Foundation
import SwitchyardCore

extension EvalReport {
    /// Limits that keep a page usable however long the answers are.
    public struct HTMLLimits: Sendable {
        /// Output shown in the cell itself, before the "full output" disclosure.
        public var previewBytes: Int
        /// Output kept per cell (in its disclosure); the rest is cut with a note.
        public var cellBytes: Int
        /// Full outputs kept on the whole page; past it, cells show only their preview.
        public var pageBytes: Int

        public init(previewBytes: Int = 300, cellBytes: Int = 20_000, pageBytes: Int = 12_000_000) {
            self.previewBytes = previewBytes
            self.cellBytes = cellBytes
            self.pageBytes = pageBytes
        }
    }

    /// The run as one self-contained HTML page: title and description, a summary per provider
    /// (`#summary`), a cost-versus-quality chart (`#chart`, one `circle.provider-point` per provider)
    /// with pass-rate bars (`#bars`), and the matrix of tests × providers (`#matrix`).
    ///
    /// Nothing is fetched: no scripts at all (the failing-only filter is CSS), and a
    /// Content-Security-Policy of `default-src 'none'` so nothing could be even if injected. Every
    /// piece of text is escaped; outputs are cut to `limits`.
    ///
    /// Each cell carries `data-provider` (the provider id) and `data-test` (the JSON's `testIdx`), and a
    /// verdict element with the classes `verdict pass`, `verdict fail` or `verdict error`.
    public static func html(_ run: EvalRun, limits: HTMLLimits = HTMLLimits()) -> String {
        let matrix = EvalMatrix(run)
        var summaryRun = run
        summaryRun.providers = matrix.providers
        let summaries = summaryRun.providerSummaries
        let title = run.description.flatMap { $0.isEmpty ? nil : $0 } ?? "Evaluation"

        var page = ""
        page.reserveCapacity(4_096 + run.results.count * 1_200)
        page += """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="switchyard eval">
            <title>\(HTMLText.escape(title)) — Switchyard eval</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <header>
            <h1>\(HTMLText.escape(title))</h1>

            """
        page += "<p class=\"meta\">\(HTMLText.escape(runLine(run, matrix: matrix)))</p>\n</header>\n"
        page += summaryTable(summaries, run: run)
        page += "<section class=\"charts\">\n<h2>Cost and quality</h2>\n"
        page += costQualityChart(summaries)
        page += passRateBars(summaries)
        page += "</section>\n"
        page += matrixTable(matrix, run: run, limits: limits)
        page += "</body>\n</html>\n"
        return page
    }

    static func runLine(_ run: EvalRun, matrix: EvalMatrix) -> String {
        let prompts = max(run.prompts.count, 1)
        var parts = [
            "\(run.testCount) test\(run.testCount == 1 ? "" : "s") × \(prompts) prompt\(prompts == 1 ? "" : "s") × "
                + "\(matrix.providers.count) provider\(matrix.providers.count == 1 ? "" : "s") = \(run.results.count) cells",
            "\(run.successes) passed, \(run.failures) failed, \(run.errors) error\(run.errors == 1 ? "" : "s")",
            "\(run.providerCalls) provider calls",
            "cost \(formatCost(run.results.reduce(0) { $0 + $1.costUSD }))",
            "started \(isoTimestamp(run.startedAt))",
            "took \(formatMilliseconds(run.durationMs))",
        ]
        if matrix.showsRepeat { parts.insert("repeats shown as separate rows", at: 1) }
        return parts.joined(separator: " · ")
    }

    static func summaryTable(_ summaries: [EvalProviderSummary], run: EvalRun) -> String {
        var html = """
            <section>
            <h2>Summary</h2>
            <div class="scroll">
            <table id="summary">
            <thead><tr><th scope="col">Provider</th><th scope="col">Pass rate</th><th scope="col">Pass</th><th scope="col">Fail</th>\
            <th scope="col">Error</th><th scope="col">Mean score</th><th scope="col">Cost</th><th scope="col">Cost / cell</th>\
            <th scope="col">Latency p50</th><th scope="col">Latency p95</th><th scope="col">Cached cells</th></tr></thead>
            <tbody>

            """
        for summary in summaries {
            let provider = summary.provider
            let id = HTMLText.escape(provider.id)
            let idNote = provider.label == provider.id ? "" : "<span class=\"provider-id\">\(id)</span>"
            html += """
                <tr data-provider="\(id)"><th scope="row"><span class="provider-name">\(HTMLText.escape(provider.label))</span>\(idNote)</th>\
                <td class="rate">\(formatPercent(summary.passRate))</td><td>\(summary.passes)</td><td>\(summary.failures)</td>\
                <td>\(summary.errors)</td><td>\(formatScore(summary.meanScore))</td><td>\(formatCost(summary.costUSD))</td>\
                <td>\(formatCost(summary.cells == 0 ? 0 : summary.costUSD / Double(summary.cells)))</td>\
                <td>\(formatMilliseconds(summary.latencyP50Ms))</td><td>\(formatMilliseconds(summary.latencyP95Ms))</td>\
                <td>\(summary.cachedCells)</td></tr>

                """
        }
        let latencies = run.results.compactMap { $0.response?.latencyMs }.sorted()
        let cells = run.results.count
        let cost = run.results.reduce(0) { $0 + $1.costUSD }
        html += """
            </tbody>
            <tfoot><tr><th scope="row">All</th><td class="rate">\(formatPercent(cells == 0 ? 0 : Double(run.successes) / Double(cells)))</td>\
            <td>\(run.successes)</td><td>\(run.failures)</td><td>\(run.errors)</td>\
            <td>\(formatScore(cells == 0 ? 0 : run.results.reduce(0) { $0 + $1.score } / Double(cells)))</td>\
            <td>\(formatCost(cost))</td><td>\(formatCost(cells == 0 ? 0 : cost / Double(cells)))</td>\
            <td>\(formatMilliseconds(EvalProviderSummary.percentile(latencies, 0.5)))</td>\
            <td>\(formatMilliseconds(EvalProviderSummary.percentile(latencies, 0.95)))</td>\
            <td>\(run.results.filter { $0.response?.cached ?? false }.count)</td></tr></tfoot>
            </table>
            </div>
            </section>

            """
        return html
    }

    static func matrixTable(_ matrix: EvalMatrix, run: EvalRun, limits: HTMLLimits) -> String {
        let layout = JSONLayout(run)
        var budget = limits.pageBytes
        var html = """
            <section>
            <h2>Results</h2>
            <form class="filters" aria-label="Which rows to show">Show: \
            <label><input type="radio" name="rows" id="show-all" checked> all rows</label> \
            <label><input type="radio" name="rows" id="show-failing"> rows with a failure or error</label> \
            <label><input type="radio" name="rows" id="show-errors"> rows with an error</label></form>
            <div class="scroll">
            <table id="matrix">
            <thead><tr><th scope="col">Test</th>
            """
        if matrix.showsPrompt { html += "<th scope=\"col\">Prompt</th>" }
        for provider in matrix.providers {
            html += "<th scope=\"col\" class=\"provider\" data-provider=\"\(HTMLText.escape(provider.id))\">\(HTMLText.escape(provider.label))</th>"
        }
        html += "</tr></thead>\n<tbody>\n"
        for row in matrix.rows {
            let present = row.cells.compactMap { $0 }
            let testIdx = present.first.map(layout.testIdx) ?? row.key.testIndex
            let allPass = present.allSatisfy(\.success)
            let hasError = present.contains { $0.failureReason == .error }
            html += "<tr data-test=\"\(testIdx)\" data-prompt=\"\(row.key.promptIndex)\""
            if allPass { html += " data-all-pass" }
            if hasError { html += " data-has-error" }
            html += ">"
            html += testHeader(row, testIdx: testIdx, showsRepeat: matrix.showsRepeat, limits: limits, budget: &budget)
            if matrix.showsPrompt {
                html += "<td class=\"prompt\">\(HTMLText.escape(clipped(row.prompt.label, limits.previewBytes)))</td>"
            }
            for (index, cell) in row.cells.enumerated() {
                guard let cell else {
                    html += "<td class=\"cell missing\" data-provider=\"\(HTMLText.escape(matrix.providers[index].id))\">—</td>"
                    continue
                }
                html += cellHTML(cell, testIdx: testIdx, limits: limits, budget: &budget)
            }
            html += "</tr>\n"
        }
        html += "</tbody>\n</table>\n</div>\n"
        if budget <= 0 {
            html += "<p class=\"note\">This page holds at most \(limits.pageBytes / 1_000_000) MB of outputs; later cells show only "
                + "their first \(limits.previewBytes) bytes. The JSON results have every output in full.</p>\n"
        }
        html += "</section>\n"
        return html
    }

    static func testHeader(_ row: EvalMatrix.Row, testIdx: Int, showsRepeat: Bool, limits: HTMLLimits, budget: inout Int) -> String {
        var html = "<th scope=\"row\" class=\"test\"><div class=\"test-index\">#\(row.key.testIndex)"
        if showsRepeat { html += " <span class=\"repeat\">repeat \(row.key.repeatIndex)</span>" }
        html += "</div>"
        if let description = row.description, !description.isEmpty {
            html += "<div class=\"description\">\(HTMLText.escape(clipped(description, limits.previewBytes)))</div>"
        }
        if !row.vars.isEmpty {
            html += "<dl class=\"vars\">"
            for name in row.vars.keys.sorted() {
                let value = text(of: row.vars[name] ?? .null)
                html += "<dt>\(HTMLText.escape(clipped(name, 200)))</dt><dd>\(expandable(value, limits: limits, budget: &budget))</dd>"
            }
            html += "</dl>"
        }
        return html + "</th>"
    }

    static func cellHTML(_ cell: EvalResultRow, testIdx: Int, limits: HTMLLimits, budget: inout Int) -> String {
        let status = verdict(cell).lowercased()
        let symbol = ["pass": "✓", "fail": "✗", "error": "⚠"][status] ?? ""
        let ids = "data-provider=\"\(HTMLText.escape(cell.provider.id))\" data-test=\"\(testIdx)\""
        var html = "<td class=\"cell \(status)\" \(ids)><div class=\"cell-head\">"
        html += "<span class=\"verdict \(status)\" \(ids)><span aria-hidden=\"true\">\(symbol)</span> \(verdict(cell))</span>"
        if cell.grading != nil { html += " <span class=\"score\" title=\"score\">\(formatScore(cell.score))</span>" }
        if let response = cell.response {
            html += " <span class=\"cost\" title=\"cost\">\(formatCost(cell.costUSD))</span>"
            html += " <span class=\"latency\" title=\"latency\">\(formatMilliseconds(response.latencyMs))</span>"
            if response.cached { html += " <span class=\"cached\">cached</span>" }
        }
        html += "</div>"
        let reasons = failureReasons(cell)
        if !reasons.isEmpty {
            let kind = cell.failureReason == .error ? "error-message" : "reasons"
            html += "<ul class=\"\(kind)\">"
            for reason in reasons { html += "<li>\(HTMLText.escape(clipped(reason, 2_000)))</li>" }
            html += "</ul>"
        }
        if let response = cell.response {
            html += expandable(outputText(response), limits: limits, budget: &budget, className: "output")
        }
        return html + "</td>"
    }

    /// Short text as it is; long text as a preview with the rest (to the cell limit, while the page
    /// budget lasts) in a `<details>`.
    static func expandable(_ text: String, limits: HTMLLimits, budget: inout Int, className: String = "value") -> String {
        guard let preview = prefix(text, utf8Bytes: limits.previewBytes) else {
            return "<div class=\"\(className)\">\(HTMLText.escape(text))</div>"
        }
        let total = text.utf8.count
        var html = "<div class=\"\(className)\">\(HTMLText.escape(preview))<span class=\"more\">…</span></div>"
        guard budget > 0 else { return html + "<p class=\"note\">(\(total) bytes; the full text is in the JSON results)</p>" }
        let kept = prefix(text, utf8Bytes: limits.cellBytes) ?? text
        budget -= kept.utf8.count
        html += "<details><summary>Full text (\(total) bytes)</summary><pre class=\"full\">\(HTMLText.escape(kept))</pre>"
        if kept.utf8.count < total {
            html += "<p class=\"note\">Cut at \(limits.cellBytes) bytes; \(total - kept.utf8.count) more bytes are in the JSON results.</p>"
        }
        return html + "</details>"
    }

    /// Text cut to `bytes` with an ellipsis, for labels that never need the whole.
    static func clipped(_ text: String, _ bytes: Int) -> String {
        prefix(text, utf8Bytes: bytes).map { $0 + "…" } ?? text
    }

    static let stylesheet = """
        :root{color-scheme:light;--pass:#1a7f37;--fail:#cf222e;--error:#9a6700;--muted:#57606a;--line:#d0d7de}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
        h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
        .meta,.note,.provider-id{color:var(--muted)}.note{font-size:.85em}
        .provider-id{display:block;font-size:.8em;font-family:ui-monospace,monospace}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
        thead th{background:#f6f8fa;position:sticky;top:0;z-index:1}
        #summary td{text-align:right;font-variant-numeric:tabular-nums}#summary tfoot{font-weight:600}
        #matrix{table-layout:fixed}#matrix th.test{width:16rem;background:#fbfbfc}#matrix td.cell,#matrix th.provider{width:22rem}
        #matrix tbody tr{content-visibility:auto;contain-intrinsic-size:auto 9rem}
        .test-index{font-weight:600}.repeat{font-weight:400;color:var(--muted)}.description{margin:.15rem 0}
        dl.vars{margin:.25rem 0 0;display:grid;grid-template-columns:auto 1fr;gap:.1rem .5rem;font-size:.9em}
        dl.vars dt{font-family:ui-monospace,monospace;color:var(--muted)}dl.vars dd{margin:0;min-width:0}
        .value,.output,pre.full{white-space:pre-wrap;overflow-wrap:anywhere;font-family:ui-monospace,monospace;font-size:.85em}
        .output{margin-top:.3rem}pre.full{margin:.3rem 0;max-height:30rem;overflow:auto;background:#f6f8fa;padding:.4rem}
        .cell-head{display:flex;flex-wrap:wrap;gap:.4rem;align-items:baseline;font-variant-numeric:tabular-nums}
        .cell-head .score,.cell-head .cost,.cell-head .latency,.cached{color:var(--muted);font-size:.85em}
        .cached{border:1px solid var(--line);border-radius:.6rem;padding:0 .35rem}
        .verdict{font-weight:700;padding:.05rem .4rem;border-radius:.25rem;color:#fff}
        .verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}.verdict.error{background:var(--error)}
        td.cell.fail{background:#fff5f5}td.cell.error{background:#fff8e6}td.cell.missing{color:var(--muted)}
        ul.reasons,ul.error-message{margin:.3rem 0;padding-left:1.1rem;color:var(--fail);overflow-wrap:anywhere}
        ul.error-message{color:var(--error)}
        .filters{margin:.25rem 0 .6rem}.filters label{margin-right:.75rem}
        body:has(#show-failing:checked) #matrix tbody tr[data-all-pass]{display:none}
        body:has(#show-errors:checked) #matrix tbody tr:not([data-has-error]){display:none}
        figure{margin:.5rem 0 1rem}figcaption{color:var(--muted);font-size:.85em}
        svg text{font:12px system-ui,sans-serif;fill:#1f2328}svg .axis line,svg .axis path{stroke:#8c959f}
        svg .grid line{stroke:#eaeef2}svg .provider-point{fill:#0969da;stroke:#fff;stroke-width:1.5}
        svg .bar{fill:#0969da}svg .bar-track{fill:#eaeef2}svg .score-mark{stroke:#1f2328;stroke-width:2}
        @media (prefers-color-scheme:dark){:root{color-scheme:dark;--muted:#9198a1;--line:#3d444d}
        body{background:#0d1117;color:#e6edf3}thead th{background:#161b22}#matrix th.test{background:#11161d}
        pre.full{background:#161b22}td.cell.fail{background:#2a1215}td.cell.error{background:#2a2110}
        svg text{fill:#e6edf3}svg .grid line{stroke:#21262d}svg .bar-track{fill:#21262d}svg .score-mark{stroke:#e6edf3}}
        """
}
