extension DashboardScripts {
    /// The overview (figures and charts of the range, models, teams, keys, recent errors), spend by
    /// any grouping, and routes: deployments with their breakers, groups and auto routes.
    static let overview = #"""
"use strict";
(function () {
const SY = window.SY;
const h = SY.h;

function kpi(id, label, value, note, tone) {
  return h("div", { class: "kpi" + (tone ? " " + tone : ""), id }, h("div", { class: "label" }, label),
    h("div", { class: "value" }, value), h("div", { class: "note" }, note || "\u00a0"));
}

function spendTable(id, rows, field, title) {
  const max = Math.max(0, ...rows.map((r) => r.cost_usd));
  return SY.table([
    { title, cell: (r) => field === "key" ? (r.name || r.key || "–") : (r[field] === null ? "(none)" : r[field]) },
    { title: "Requests", num: true, cell: (r) => SY.int(r.requests) },
    { title: "Tokens", num: true, cell: (r) => SY.int(r.prompt_tokens + r.completion_tokens) },
    { title: "Spend", num: true, cell: (r) => SY.barCell(SY.usd(r.cost_usd), r.cost_usd, max) },
  ], rows, { id, empty: "No spend in this range.", rowAttributes: (r) => ({ dataset: { group: String(r[field] === null ? "" : r[field]) } }) });
}

SY.views.overview = async function (root) {
  const w = SY.window();
  const canSpend = SY.may("readSpend");
  const [overview, byTeam, byKey, errors] = await Promise.all([
    SY.api("/v1/switchyard/stats/overview", { since: SY.iso(w.since), until: SY.iso(w.until), bucket_s: w.bucket }),
    canSpend ? SY.api("/v1/switchyard/spend", { group_by: "team", since: SY.iso(w.since), until: SY.iso(w.until) }) : null,
    canSpend ? SY.api("/v1/switchyard/spend", { group_by: "key", since: SY.iso(w.since), until: SY.iso(w.until) }) : null,
    SY.api("/v1/switchyard/requests", { status: "error", limit: 8, view: "summary", since: SY.iso(w.since) }),
  ]);
  const t = overview.totals;
  const starts = overview.buckets.map((b) => b.start);
  const errorRate = t.requests ? t.errors / t.requests : 0;
  root.append(h("h1", null, "Overview", h("span", { class: "sub" },
    (SY.me.role === "admin" ? "the whole gateway" : SY.me.role === "team_admin" ? "team " + (SY.me.team || "") : "your key's requests")
    + " · " + SY.time(w.since, true) + " → " + SY.time(w.until, true))));
  root.append(h("div", { class: "kpis" },
    kpi("kpi-requests", "Requests", SY.int(t.requests), SY.int(t.prompt_tokens + t.completion_tokens) + " tokens"),
    kpi("kpi-errors", "Errors", SY.int(t.errors), SY.pct(t.errors, t.requests) + " of requests", errorRate > 0.05 ? "bad" : null),
    kpi("kpi-p50", "p50 latency", SY.ms(t.p50_latency_ms), "median as clients saw it"),
    kpi("kpi-p95", "p95 latency", SY.ms(t.p95_latency_ms), "95th percentile"),
    kpi("kpi-spend", "Spend", SY.usd(t.cost_usd), t.requests ? SY.usd(t.cost_usd / t.requests) + " per request" : ""),
    kpi("kpi-savings", "Cache savings", SY.usd(t.saved_usd), SY.int(t.cache_hits) + " hits · " + SY.pct(t.cache_hits, t.requests), t.saved_usd > 0 ? "good" : null)));

  const b = overview.buckets;
  root.append(h("div", { class: "grid three" },
    SY.panel("Requests", SY.timeChart({ id: "chart-requests", starts, bucket: overview.bucket_s, format: SY.int, series: [
      { name: "succeeded", cls: "s1", kind: "bar", values: b.map((x) => x.requests - x.errors) },
      { name: "errors", cls: "sbad", kind: "bar", values: b.map((x) => x.errors) }] }), "per " + bucketName(overview.bucket_s)),
    SY.panel("Latency", SY.timeChart({ id: "chart-latency", starts, bucket: overview.bucket_s, format: SY.ms, series: [
      { name: "p50", cls: "s1", kind: "line", values: b.map((x) => x.p50_latency_ms) },
      { name: "p95", cls: "s2", kind: "line", values: b.map((x) => x.p95_latency_ms) }] })),
    SY.panel("Spend and cache savings", SY.timeChart({ id: "chart-spend", starts, bucket: overview.bucket_s, format: SY.usd, series: [
      { name: "spend", cls: "s4", kind: "bar", values: b.map((x) => x.cost_usd) },
      { name: "saved by the cache", cls: "s3", kind: "area", values: b.map((x) => x.saved_usd) }] }))));

  const maxCost = Math.max(0, ...overview.models.map((m) => m.cost_usd));
  root.append(SY.panel("Models", SY.table([
    { title: "Model", cell: (m) => h("a", { href: "#/requests?model=" + encodeURIComponent(m.model) }, m.model) },
    { title: "Requests", num: true, cell: (m) => SY.int(m.requests) },
    { title: "Errors", num: true, cell: (m) => m.errors ? h("span", { class: "error" }, SY.int(m.errors) + " · " + SY.pct(m.errors, m.requests)) : "0" },
    { title: "p50", num: true, cell: (m) => SY.ms(m.p50_latency_ms) },
    { title: "p95", num: true, cell: (m) => SY.ms(m.p95_latency_ms) },
    { title: "Tokens in / out", num: true, cell: (m) => SY.int(m.prompt_tokens) + " / " + SY.int(m.completion_tokens) },
    { title: "Cache hits", num: true, cell: (m) => SY.int(m.cache_hits) },
    { title: "Saved", num: true, cell: (m) => SY.usd(m.saved_usd) },
    { title: "Spend", num: true, cell: (m) => SY.barCell(SY.usd(m.cost_usd), m.cost_usd, maxCost) },
  ], overview.models, { id: "models-table", empty: "No requests in this range.", rowAttributes: (m) => ({ dataset: { model: m.model } }) }),
  "models that answered", { id: "models-panel" }));

  const lower = h("div", { class: "grid three" });
  if (byTeam) lower.append(SY.panel("Spend by team", spendTable("spend-team", byTeam.data, "team", "Team")));
  if (byKey) lower.append(SY.panel("Spend by key", spendTable("spend-key", byKey.data, "key", "Key")));
  lower.append(SY.panel("Recent errors", SY.table([
    { title: "Time", cell: (r) => h("a", { href: "#/requests/" + encodeURIComponent(r.id) }, SY.time(r.created_at)) },
    { title: "Model", cell: (r) => r.model },
    { title: "Status", cell: (r) => SY.statusPill(r.status, r.error) },
    { title: "Error", class: "wrap", cell: (r) => h("span", { class: "muted small" }, (r.error || "").slice(0, 140)) },
  ], errors.data, { empty: "No errors in this range.", onRow: (r) => SY.go("#/requests/" + encodeURIComponent(r.id)) }),
  h("a", { href: "#/requests?status=error" }, "all errors")));
  root.append(lower);
};

function bucketName(seconds) {
  if (seconds % 86400 === 0) return seconds / 86400 + " d";
  if (seconds % 3600 === 0) return seconds / 3600 + " h";
  if (seconds % 60 === 0) return seconds / 60 + " min";
  return seconds + " s";
}

SY.views.spend = async function (root, route) {
  const w = SY.window();
  const grouping = route.params.get("group_by") || "model";
  const choices = ["model", "team", "key", "provider", "route", "user", "day"];
  const select = h("select", { id: "spend-group" }, choices.map((c) => h("option", { value: c, selected: c === grouping }, c)));
  select.addEventListener("change", () => SY.go("#/spend?group_by=" + select.value));
  const report = await SY.api("/v1/switchyard/spend", { group_by: grouping, since: SY.iso(w.since), until: SY.iso(w.until) });
  root.append(h("h1", null, "Spend", h("span", { class: "sub" }, SY.usd(report.total_cost_usd) + " in the range, by " + grouping)));
  const field = grouping;
  const rows = report.data;
  const max = Math.max(0, ...rows.map((r) => r.cost_usd));
  const total = report.total_cost_usd || 0;
  root.append(SY.panel(h("label", { class: "range" }, "Group by", select), SY.table([
    { title: grouping, cell: (r) => field === "key" ? h("span", null, r.name || "–", h("span", { class: "muted small" }, " " + (r.key || ""))) : (r[field] === null ? "(none)" : r[field]) },
    { title: "Requests", num: true, cell: (r) => SY.int(r.requests) },
    { title: "Prompt tokens", num: true, cell: (r) => SY.int(r.prompt_tokens) },
    { title: "Completion tokens", num: true, cell: (r) => SY.int(r.completion_tokens) },
    { title: "Per request", num: true, cell: (r) => SY.usdExact(r.requests ? r.cost_usd / r.requests : 0) },
    { title: "Share", num: true, cell: (r) => SY.pct(r.cost_usd, total) },
    { title: "Spend", num: true, cell: (r) => SY.barCell(SY.usd(r.cost_usd), r.cost_usd, max) },
  ], rows, { id: "spend-table", empty: "No spend in this range." })));
};

SY.views.routes = async function (root) {
  const report = await SY.api("/v1/switchyard/deployments");
  const byName = Object.fromEntries(report.data.map((d) => [d.name, d]));
  const open = report.data.filter((d) => d.breaker !== "closed").length;
  root.append(h("h1", null, "Routes and deployments", h("span", { class: "sub" },
    report.data.length + " deployments · " + (open ? open + " breaker" + (open > 1 ? "s" : "") + " not closed" : "all breakers closed"))));
  root.append(SY.panel("Deployments", SY.table([
    { title: "Deployment", cell: (d) => h("span", null, h("span", { class: "dot " + (d.breaker === "closed" ? "ok" : d.breaker === "open" ? "bad" : "warn") }), d.name) },
    { title: "Provider", cell: (d) => d.provider + (d.provider_kind ? " (" + d.provider_kind + ")" : "") },
    { title: "Upstream", cell: (d) => h("code", null, d.upstream) },
    { title: "Breaker", cell: (d) => SY.breakerPill(d.breaker, d.probe_in_s) },
    { title: "In flight", num: true, cell: (d) => SY.int(d.in_flight) },
    { title: "Req / min", num: true, cell: (d) => SY.int(d.requests_last_minute) },
    { title: "Tokens / min", num: true, cell: (d) => SY.int(d.tokens_last_minute) },
    { title: "Latency", num: true, cell: (d) => SY.ms(d.latency_ms) },
    { title: "First token", num: true, cell: (d) => SY.ms(d.ttft_ms) },
    { title: "$ / M in · out", num: true, cell: (d) => d.price_per_million.input + " · " + d.price_per_million.output },
  ], report.data, { id: "deployments-table", rowAttributes: (d) => ({ dataset: { deployment: d.name } }),
    onRow: (d) => SY.go("#/requests?model=" + encodeURIComponent(d.name)) }), "latency: moving average of recent successes"));
  const chip = (name) => {
    const d = byName[name];
    return h("span", { class: "pill " + (d ? (d.breaker === "closed" ? "ok" : d.breaker === "open" ? "bad" : "warn") : "info") }, name);
  };
  root.append(h("div", { class: "grid two" },
    SY.panel("Groups", SY.table([
      { title: "Group", cell: (g) => h("a", { href: "#/requests?model=" + encodeURIComponent(g.name) }, g.name) },
      { title: "Strategy", cell: (g) => g.strategy },
      { title: "Deployments", cell: (g) => h("div", { class: "chips" }, g.deployments.map(chip)) },
      { title: "Fallbacks", cell: (g) => h("div", { class: "chips" }, g.fallbacks.map(chip)) },
    ], report.groups, { id: "groups-table", empty: "No groups configured." })),
    SY.panel("Auto routes", SY.table([
      { title: "Route", cell: (r) => h("a", { href: "#/requests?model=" + encodeURIComponent(r.name) }, r.name) },
      { title: "Tiers (cheapest first)", cell: (r) => h("div", null, r.tiers.map((t) =>
        h("div", null, h("b", null, t.name + ": "), h("span", { class: "chips" }, t.targets.map(chip))))) },
    ], report.routes, { id: "routes-table", empty: "No auto routes configured." }))));
};
})();
"""#
}
