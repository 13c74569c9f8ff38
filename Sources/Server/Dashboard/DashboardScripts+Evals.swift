extension DashboardScripts {
    /// Eval reports the gateway keeps (`switchyard eval run --publish`, `eval publish`): a page of
    /// them, newest first (server-side paging with a cursor), and one report's per-provider summary
    /// and its matrix a page of rows at a time. Model output is hostile: every piece of it goes into
    /// the page as a text node (`SY.h`), and the HTML report is fetched with the key and saved, never
    /// parsed into this page.
    static let evals = #"""
"use strict";
(function () {
const SY = window.SY;
const h = SY.h;
const PAGE = 20;
const ROWS = 100;

function rate(provider) {
  const tone = provider.cells === 0 ? "" : provider.pass_rate >= 0.9 ? "ok" : provider.pass_rate >= 0.5 ? "warn" : "bad";
  return h("span", { class: "pill " + tone, dataset: { provider: provider.id }, title: provider.passes + " of " + provider.cells + " passed" },
    (provider.pass_rate * 100).toFixed(1) + "%");
}
function verdict(cell) {
  const tone = cell.verdict === "pass" ? "ok" : cell.verdict === "fail" ? "bad" : "warn";
  return h("span", { class: "pill " + tone, dataset: { verdict: cell.verdict } }, cell.verdict);
}

SY.views.evals = async function (root, route) {
  if (route.parts[1]) return report(root, route.parts[1], route.params);
  const p = route.params;
  const cursors = (p.get("trail") || "").split(",").filter(Boolean);
  const before = p.get("before") || "";
  const page = await SY.api("/v1/switchyard/eval-reports", { limit: PAGE, before });
  const link = (cursor, trail) => {
    const query = new URLSearchParams();
    if (cursor) query.set("before", cursor);
    if (trail.length) query.set("trail", trail.join(","));
    return "#/evals" + (query.toString() ? "?" + query : "");
  };
  const first = cursors.length * PAGE + 1;
  const shown = page.data.length ? first + "–" + (first + page.data.length - 1) : "0";
  root.append(h("h1", null, "Evals", h("span", { class: "sub" }, "offline eval reports, newest first · " + SY.int(page.total) + " kept")));
  const table = SY.table([
    { title: "Uploaded", cell: (r) => h("a", { href: "#/evals/" + encodeURIComponent(r.id) }, SY.time(r.created_at, true)) },
    { title: "Description", class: "wrap", cell: (r) => r.description ? h("b", null, r.description) : h("span", { class: "muted" }, r.eval_id || r.id) },
    { title: "Providers", class: "wrap", cell: (r) => h("div", { class: "chips" }, r.providers.map((x) => h("span", { class: "chip" }, x.label, " ", rate(x)))) },
    { title: "Tests", num: true, cell: (r) => SY.int(r.tests) },
    { title: "Cells", num: true, cell: (r) => SY.int(r.cells) },
    { title: "Passed", num: true, cell: (r) => SY.pct(r.passes, r.cells) },
    { title: "Cost", num: true, cell: (r) => SY.usdExact(r.cost_usd) },
  ], page.data, { id: "evals-table", rowAttributes: (r) => ({ dataset: { id: r.id } }), onRow: (r) => SY.go("#/evals/" + encodeURIComponent(r.id)),
    empty: "No eval reports yet. Upload one with `switchyard eval run SUITE.yaml --publish` or `switchyard eval publish results.json`." });
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", class: "ghost", id: "evals-newest", disabled: !before, onclick: () => SY.go(link("", [])) }, "Newest"),
    h("button", { type: "button", class: "ghost", id: "evals-newer", disabled: !before,
      onclick: () => SY.go(link(cursors[cursors.length - 1] === "-" ? "" : cursors[cursors.length - 1], cursors.slice(0, -1))) }, "← Newer"),
    h("button", { type: "button", class: "ghost", id: "evals-older", disabled: !page.has_more,
      onclick: () => SY.go(link(page.next_before, cursors.concat([before || "-"]))) }, "Older →"),
    h("span", { class: "aside", id: "evals-page-info" }, shown + " of " + SY.int(page.total)));
  root.append(SY.panel("Eval reports", h("div", null, table, pager), null, { id: "evals-panel" }));
};

/// Fetches the report's HTML page with the key and hands it to the browser as a file: it is never
/// parsed into this page, and it keeps its own policy (no script at all) wherever it is opened.
async function downloadHTML(id, button) {
  button.disabled = true;
  try {
    const response = await fetch("/v1/switchyard/eval-reports/" + encodeURIComponent(id) + "/html",
      { headers: { Authorization: "Bearer " + SY.key() }, cache: "no-store", credentials: "omit" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const url = URL.createObjectURL(await response.blob());
    const anchor = h("a", { href: url, download: id + ".html", hidden: true });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    button.after(h("span", { class: "error small" }, " " + error.message));
  } finally {
    button.disabled = false;
  }
}

async function report(root, id, params) {
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const page = await SY.api("/v1/switchyard/eval-reports/" + encodeURIComponent(id), { view: "cells", offset, limit: ROWS });
  const r = page.report;
  root.append(h("a", { class: "back", href: "#/evals" }, "← Eval reports"));
  const html = h("button", { type: "button", class: "ghost", id: "eval-html" }, "Download HTML report");
  html.addEventListener("click", () => downloadHTML(r.id, html));
  root.append(h("div", { class: "explain-head", id: "eval-head" }, h("h1", null, r.description || "Eval report"), h("span", { class: "id" }, r.id),
    h("span", { class: "muted" }, SY.time(r.created_at, true) + " · " + SY.int(r.tests) + " tests · " + SY.int(r.cells) + " cells · "
      + SY.usdExact(r.cost_usd) + (r.duration_ms ? " · took " + SY.ms(r.duration_ms) : "")), html));
  root.append(SY.panel("Providers", SY.table([
    { title: "Provider", cell: (x) => h("span", null, h("b", null, x.label), x.label !== x.id ? h("span", { class: "muted small" }, " " + x.id) : null) },
    { title: "Pass rate", num: true, cell: (x) => rate(x) },
    { title: "Passed", num: true, cell: (x) => SY.int(x.passes) },
    { title: "Failed", num: true, cell: (x) => SY.int(x.failures) },
    { title: "Errors", num: true, cell: (x) => SY.int(x.errors) },
    { title: "Mean score", num: true, cell: (x) => Number(x.mean_score).toFixed(2) },
    { title: "Cost", num: true, cell: (x) => SY.usdExact(x.cost_usd) },
    { title: "p50", num: true, cell: (x) => SY.ms(x.latency_p50_ms) },
    { title: "p95", num: true, cell: (x) => SY.ms(x.latency_p95_ms) },
  ], r.providers, { id: "eval-providers", rowAttributes: (x) => ({ dataset: { provider: x.id } }) })));

  const columns = [{ title: "Test", class: "wrap", cell: (row) => h("div", null, h("span", { class: "muted small" }, "#" + row.test + " "), row.label,
    row.prompt_label !== null && row.prompt_label !== undefined ? h("div", { class: "muted small" }, "prompt: " + row.prompt_label) : null) }];
  page.providers.forEach((provider, index) => columns.push({ title: provider.label, class: "wrap", cell: (row) => {
    const cell = row.cells[index];
    if (!cell) return h("span", { class: "muted" }, "—");
    return h("div", { class: "eval-cell", dataset: { provider: provider.id, verdict: cell.verdict } },
      h("div", null, verdict(cell), h("span", { class: "muted small" }, " score " + Number(cell.score).toFixed(2) + " · " + SY.ms(cell.latency_ms)
        + " · " + SY.usdExact(cell.cost_usd))),
      cell.reason ? h("div", { class: "error small" }, cell.reason) : null,
      h("div", { class: "output small" }, cell.output));
  } }));
  const go = (to) => SY.go("#/evals/" + encodeURIComponent(r.id) + (to ? "?offset=" + to : ""));
  const last = offset + page.rows.length;
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", class: "ghost", id: "cells-previous", disabled: offset === 0, onclick: () => go(Math.max(0, offset - ROWS)) }, "← Previous"),
    h("button", { type: "button", class: "ghost", id: "cells-next", disabled: last >= page.rows_total, onclick: () => go(last) }, "Next →"),
    h("span", { class: "aside", id: "cells-page-info" }, (page.rows.length ? (offset + 1) + "–" + last : "0") + " of " + SY.int(page.rows_total) + " rows"));
  root.append(SY.panel("Results", h("div", null, SY.table(columns, page.rows, { id: "eval-cells",
    rowAttributes: (row) => ({ dataset: { test: String(row.test) } }), empty: "This report has no cells." }), pager),
    "outputs cut to 300 bytes; the JSON and HTML reports have them whole", { id: "eval-cells-panel" }));
}
})();
"""#
}
