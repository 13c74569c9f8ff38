extension DashboardScripts {
    /// Collections, workflow runs (per workflow, newest first, and one run's steps) and experiment
    /// reports (the gateway's online evals: variants side by side, with their significance tests).
    static let more = #"""
"use strict";
(function () {
const SY = window.SY;
const h = SY.h;

SY.views.collections = async function (root) {
  const list = await SY.api("/v1/switchyard/collections");
  root.append(h("h1", null, "Collections", h("span", { class: "sub" }, list.data.length + " for retrieval")));
  root.append(SY.panel("Collections", SY.table([
    { title: "Name", cell: (c) => h("b", null, c.name) },
    { title: "Documents", num: true, cell: (c) => SY.int(c.documents) },
    { title: "Chunks", num: true, cell: (c) => SY.int(c.chunks) },
    { title: "Embedding model", cell: (c) => h("code", null, c.embedding_model) },
    { title: "Dimension", num: true, cell: (c) => SY.int(c.dimension) },
    { title: "Created", cell: (c) => SY.time(c.created_at, true) },
  ], list.data, { id: "collections-table", empty: "No collections. Create one with POST /v1/switchyard/collections or `switchyard collections`." })));
};

function runStatus(status) {
  const kind = status === "completed" ? "ok" : status === "failed" ? "bad" : status === "running" ? "info" : "warn";
  return h("span", { class: "pill " + kind }, status);
}
function preview(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined || text === null ? "" : text.length > 160 ? text.slice(0, 160) + "…" : text;
}

SY.views.workflows = async function (root, route) {
  if (route.parts[1] === "runs" && route.parts[2]) return run(root, route.parts[2]);
  const list = await SY.api("/v1/switchyard/workflows");
  const chosen = route.parts[1] || (list.data[0] && list.data[0].name);
  root.append(h("h1", null, "Workflows", h("span", { class: "sub" }, list.data.length + " configured")));
  root.append(SY.panel("Workflows", SY.table([
    { title: "Name", cell: (w) => h("a", { href: "#/workflows/" + encodeURIComponent(w.name) }, w.name) },
    { title: "Model name", cell: (w) => h("code", null, w.model) },
    { title: "Steps", cell: (w) => w.steps.join(" → ") },
    { title: "Description", class: "wrap", cell: (w) => w.description || "" },
  ], list.data, { id: "workflows-table", empty: "No workflows configured (a `workflows:` section in the config)." })));
  if (!chosen) return;
  const runs = await SY.api("/v1/switchyard/workflows/" + encodeURIComponent(chosen) + "/runs", { limit: 50 });
  root.append(SY.panel("Runs of " + chosen, SY.table([
    { title: "Started", cell: (r) => h("a", { href: "#/workflows/runs/" + encodeURIComponent(r.id) }, SY.time(r.created_at, true)) },
    { title: "Run", cell: (r) => h("code", null, r.id) },
    { title: "Status", cell: (r) => runStatus(r.status) },
    { title: "Steps done", num: true, cell: (r) => SY.int(r.steps_done) },
    { title: "Tokens in / out", num: true, cell: (r) => SY.int(r.usage.prompt_tokens) + " / " + SY.int(r.usage.completion_tokens) },
    { title: "Cost", num: true, cell: (r) => SY.usdExact(r.cost_usd) },
    { title: "Output", class: "wrap", cell: (r) => h("span", { class: "muted small" }, r.error ? r.error : preview(r.output)) },
  ], runs.data, { id: "runs-table", empty: "No runs yet.", onRow: (r) => SY.go("#/workflows/runs/" + encodeURIComponent(r.id)) }), "newest 50"));
};

async function run(root, id) {
  const r = await SY.api("/v1/switchyard/workflow-runs/" + encodeURIComponent(id));
  root.append(h("a", { class: "back", href: "#/workflows/" + encodeURIComponent(r.workflow) }, "← " + r.workflow));
  root.append(h("div", { class: "explain-head" }, h("h1", null, "Workflow run"), h("span", { class: "id" }, r.id), runStatus(r.status),
    h("span", { class: "muted" }, SY.time(r.created_at, true) + " · " + SY.usdExact(r.cost_usd))));
  const longest = Math.max(1, ...r.steps.map((s) => s.ms));
  root.append(SY.panel("Steps", SY.table([
    { title: "Step", cell: (s) => h("b", null, s.id) },
    { title: "Status", cell: (s) => runStatus(s.status) },
    { title: "Attempts", num: true, cell: (s) => SY.int(s.attempts) },
    { title: "Time", num: true, cell: (s) => SY.barCell(SY.ms(s.ms), s.ms, longest) },
    { title: "Tokens in / out", num: true, cell: (s) => SY.int(s.usage.prompt_tokens) + " / " + SY.int(s.usage.completion_tokens) },
    { title: "Cost", num: true, cell: (s) => SY.usdExact(s.cost_usd) },
    { title: "Output", class: "wrap", cell: (s) => h("span", { class: "small" }, s.error ? h("span", { class: "error" }, s.error) : preview(s.output)) },
  ], r.steps, { id: "steps-table", empty: "No step has run yet." })));
  root.append(h("div", { class: "grid two" },
    SY.panel("Input", h("pre", { class: "block" }, JSON.stringify(r.input, null, 2))),
    SY.panel("Output", h("pre", { class: "block" }, r.error ? r.error : JSON.stringify(r.output, null, 2)))));
}

SY.views.experiments = async function (root, route) {
  const list = await SY.api("/v1/switchyard/experiments");
  root.append(h("h1", null, "Experiments", h("span", { class: "sub" }, "online evals: variants of a model name, compared on cost, latency and feedback")));
  if (!list.data.length) {
    root.append(SY.panel("Experiments", h("div", { class: "empty" }, "No experiments configured (an `experiments:` section in the config). Offline `switchyard eval run` reports uploaded with --publish are under Evals.")));
    return;
  }
  const reports = await Promise.all(list.data.map((e) => SY.api("/v1/switchyard/experiments/" + encodeURIComponent(e.name))));
  for (const report of reports) {
    root.append(SY.panel(report.name, h("div", null, SY.table([
      { title: "Variant", cell: (v) => h("span", null, h("b", null, v.name), v.control ? h("span", { class: "muted small" }, " control") : null) },
      { title: "Target", cell: (v) => h("code", null, v.target) },
      { title: "Share", num: true, cell: (v) => SY.pct(v.share, 1) },
      { title: "Requests", num: true, cell: (v) => SY.int(v.requests) },
      { title: "Errors", num: true, cell: (v) => SY.int(v.errors) },
      { title: "Mean cost", num: true, cell: (v) => SY.usdExact(v.cost_usd.mean) },
      { title: "p50", num: true, cell: (v) => SY.ms(v.latency_ms.p50) },
      { title: "p95", num: true, cell: (v) => SY.ms(v.latency_ms.p95) },
      { title: "Feedback", cell: (v) => Object.entries(v.feedback || {}).map(([k, f]) => k + " " + (f.mean === null || f.mean === undefined ? "–" : Number(f.mean).toFixed(2)) + " (n=" + f.count + ")").join(", ") },
    ], report.variants), report.comparisons.length ? SY.table([
      { title: "Metric", cell: (c) => c.metric }, { title: "Variant vs control", cell: (c) => c.variant + " vs " + c.control },
      { title: "n", num: true, cell: (c) => c.n + " / " + c.control_n },
      { title: "Difference", num: true, cell: (c) => c.difference === undefined ? "–" : Number(c.difference).toFixed(3) },
      { title: "p-value", num: true, cell: (c) => c.p_value === null || c.p_value === undefined ? "–" : Number(c.p_value).toFixed(4) },
      { title: "Note", class: "wrap", cell: (c) => c.note || c.test },
    ], report.comparisons) : null)));
  }
};
})();
"""#
}
