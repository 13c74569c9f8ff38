extension DashboardScripts {
    /// The request log a page at a time (server-side paging with a cursor; filters in the URL's hash,
    /// never the key) and one request's explain view: route decision, attempts, cost, cache,
    /// retrieval citations, tool calls, guard verdicts, feedback.
    static let requests = #"""
"use strict";
(function () {
const SY = window.SY;
const h = SY.h;
const PAGE = 50;

SY.views.requests = async function (root, route) {
  if (route.parts[1]) return explain(root, route.parts[1]);
  const p = route.params;
  const filters = { model: p.get("model") || "", status: p.get("status") || "", key: p.get("key") || "", team: p.get("team") || "", within: p.get("within") || "" };
  const w = SY.window();
  const cursors = (p.get("trail") || "").split(",").filter(Boolean);  // cursors of the pages before this one
  const before = p.get("before") || "";
  const [page, models] = await Promise.all([
    SY.api("/v1/switchyard/requests", { limit: PAGE, view: "summary", before, model: filters.model, status: filters.status,
      key: filters.key, team: filters.team, since: filters.within ? SY.iso(w.since) : "" }),
    SY.api("/v1/models").catch(() => ({ data: [] })),
  ]);

  const form = h("form", { class: "filters", id: "request-filters" });
  const modelSelect = h("select", { id: "filter-model", name: "model" }, h("option", { value: "" }, "any model"),
    models.data.map((m) => h("option", { value: m.id, selected: m.id === filters.model }, m.id)));
  if (filters.model && !models.data.some((m) => m.id === filters.model)) modelSelect.append(h("option", { value: filters.model, selected: true }, filters.model));
  const statusSelect = h("select", { id: "filter-status", name: "status" },
    [["", "any status"], ["ok", "succeeded"], ["error", "failed"], ["429", "429 rate limited"], ["502", "502 upstream"], ["504", "504 timeout"]]
      .map(([value, label]) => h("option", { value, selected: value === filters.status }, label)));
  if (filters.status && !statusSelect.querySelector(`option[value="${CSS.escape(filters.status)}"]`)) statusSelect.append(h("option", { value: filters.status, selected: true }, filters.status));
  const keyInput = h("input", { id: "filter-key", name: "key", value: filters.key, placeholder: "key name or id", autocomplete: "off" });
  const teamInput = h("input", { id: "filter-team", name: "team", value: filters.team, placeholder: "team", autocomplete: "off" });
  const within = h("input", { id: "filter-within", type: "checkbox", checked: !!filters.within });
  SY.append(form, [h("label", null, "Model", modelSelect), h("label", null, "Status", statusSelect), h("label", null, "Key", keyInput),
    SY.me.role === "admin" ? h("label", null, "Team", teamInput) : null,
    h("label", { class: "inline" }, "Only the range", within),
    h("button", { type: "submit", id: "filter-apply" }, "Apply"),
    h("button", { type: "button", class: "ghost", id: "filter-clear", onclick: () => SY.go("#/requests") }, "Clear")]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (modelSelect.value) query.set("model", modelSelect.value);
    if (statusSelect.value) query.set("status", statusSelect.value);
    if (keyInput.value.trim()) query.set("key", keyInput.value.trim());
    if (teamInput.value.trim()) query.set("team", teamInput.value.trim());
    if (within.checked) query.set("within", "1");
    SY.go("#/requests" + (query.toString() ? "?" + query : ""));
  });

  const base = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) base.set(name, value);
  const link = (beforeCursor, trail) => {
    const query = new URLSearchParams(base);
    if (beforeCursor) query.set("before", beforeCursor);
    if (trail.length) query.set("trail", trail.join(","));
    return "#/requests" + (query.toString() ? "?" + query : "");
  };
  const first = cursors.length * PAGE + 1;
  const shown = page.data.length ? first + "–" + (first + page.data.length - 1) : "0";
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", class: "ghost", id: "page-newest", disabled: !before, onclick: () => SY.go(link("", [])) }, "Newest"),
    h("button", { type: "button", class: "ghost", id: "page-newer", disabled: !before,
      onclick: () => SY.go(link(cursors[cursors.length - 1] === "-" ? "" : cursors[cursors.length - 1], cursors.slice(0, -1))) }, "← Newer"),
    h("button", { type: "button", class: "ghost", id: "page-older", disabled: !page.has_more,
      onclick: () => SY.go(link(page.next_before, cursors.concat([before || "-"]))) }, "Older →"),
    h("span", { class: "aside", id: "page-info" }, shown + " of " + SY.int(page.total) + (page.total_exact ? "" : "+")));

  root.append(h("h1", null, "Requests", h("span", { class: "sub" }, "newest first · " + SY.int(page.total) + (page.total_exact ? "" : "+") + " matching")));
  const table = SY.table([
    { title: "Time", cell: (r) => h("a", { href: "#/requests/" + encodeURIComponent(r.id) }, SY.time(r.created_at)) },
    { title: "Status", cell: (r) => SY.statusPill(r.status, r.error) },
    { title: "Model", cell: (r) => h("span", null, r.model, r.served_model && r.served_model !== r.model ? h("span", { class: "muted" }, " → " + r.served_model) : null) },
    { title: "Provider", cell: (r) => r.provider || "–" },
    { title: "Key", cell: (r) => h("span", null, r.caller, r.team ? h("span", { class: "muted small" }, " · " + r.team) : null) },
    { title: "Tokens in / out", num: true, cell: (r) => SY.int(r.prompt_tokens) + " / " + SY.int(r.completion_tokens) },
    { title: "Cost", num: true, cell: (r) => SY.usdExact(r.cost_usd) },
    { title: "Latency", num: true, cell: (r) => SY.ms(r.latency_ms) },
    { title: "Cache", cell: (r) => r.cache ? h("span", { class: "pill " + (r.cache.startsWith("hit") ? "ok" : "") }, r.cache) : "" },
    { title: "Tries", num: true, cell: (r) => r.route && r.route.attempts.length > 1 ? h("span", { class: "pill warn" }, String(r.route.attempts.length)) : "1" },
  ], page.data, { id: "requests-table", empty: "No request matches.", rowAttributes: (r) => ({ dataset: { id: r.id, model: r.model } }),
    onRow: (r) => SY.go("#/requests/" + encodeURIComponent(r.id)) });
  root.append(SY.panel("Request log", h("div", null, form, table, pager), null, { id: "requests-panel" }));
};

function section(title, body, id) { return SY.panel(title, h("div", { class: "body" }, body), null, { id }); }
function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter((p) => p && p[1] !== undefined && p[1] !== null && p[1] !== "").map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

async function explain(root, id) {
  const r = await SY.api("/v1/switchyard/requests/" + encodeURIComponent(id));
  const trace = r.route;
  root.append(h("a", { class: "back", href: "#/requests" }, "← Request log"));
  root.append(h("div", { class: "explain-head", id: "explain" }, h("h1", null, "Request"), h("span", { class: "id" }, r.id),
    SY.statusPill(r.status, r.error), h("span", { class: "muted" }, SY.time(r.created_at, true))));

  const cost = section("Cost and usage", kv([
    ["Cost", h("b", { id: "explain-cost-value" }, SY.usdExact(r.cost_usd))],
    ["Tokens", SY.int(r.prompt_tokens) + " in (" + SY.int(r.cached_tokens) + " cached) · " + SY.int(r.completion_tokens) + " out" + (r.usage_estimated ? " · estimated" : "")],
    ["Latency", SY.ms(r.latency_ms) + (r.ttft_ms !== null && r.ttft_ms !== undefined ? " · first token " + SY.ms(r.ttft_ms) : "")],
    ["Cache", r.cache ? h("span", null, h("span", { class: "pill " + (r.cache.startsWith("hit") ? "ok" : "") }, r.cache), r.saved_usd ? " saved " + SY.usdExact(r.saved_usd) : "") : "off"],
    ["Budget", r.budget_flag || null],
  ]), "explain-cost");
  const who = section("Request", kv([
    ["Asked for", h("code", null, r.model)],
    ["Served by", (r.served_model || "–") + " · " + (r.provider || "–") + " / " + (r.upstream_model || "–")],
    ["Key", r.caller + (r.key_id ? " (" + r.key_id + ")" : "")],
    ["Team", r.team || null], ["User", r.user || null],
    ["Protocol", r.protocol + " · " + r.endpoint + (r.stream ? " · stream" : "")],
    ["Episode", r.episode_id || null], ["Experiment", r.variant || null],
    ["Tags", r.tags ? Object.entries(r.tags).map(([k, v]) => k + "=" + v).join(", ") : null],
    ["Error", r.error ? h("span", { class: "error" }, r.error) : null],
  ]), "explain-request");
  root.append(h("div", { class: "grid two" }, who, cost));

  // Attempts: the trace's, or the one attempt of a plain model that answered at once (not traced, to keep the log lean).
  const attempts = trace && trace.attempts.length ? trace.attempts : [{
    deployment: r.served_model || r.model, provider: r.provider || "–", group: r.model, retry: 0, status: r.status, error: r.error, milliseconds: r.latency_ms, implied: true }];
  const longest = Math.max(1, ...attempts.map((a) => a.milliseconds));
  const timeline = h("table", { class: "timeline", id: "explain-attempts" },
    h("thead", null, h("tr", null, ["#", "Deployment", "Provider", "Group", "Retry", "Status", "Time", ""].map((t, i) => h("th", { class: i >= 4 && i <= 6 ? "num" : null }, t)))),
    h("tbody", null, attempts.map((a, i) => {
      const seg = h("div", { class: "seg" + (a.status >= 400 ? " bad" : "") });
      seg.style.width = Math.max(0.5, (100 * a.milliseconds) / longest) + "%";
      return h("tr", { class: "attempt", dataset: { status: String(a.status) } }, h("td", null, String(i + 1)), h("td", null, a.deployment), h("td", null, a.provider),
        h("td", null, a.group), h("td", { class: "num" }, String(a.retry)), h("td", { class: "num" }, SY.statusPill(a.status, a.error)),
        h("td", { class: "num" }, SY.ms(a.milliseconds)), h("td", { class: "track" }, seg, a.error ? h("div", { class: "small error" }, a.error) : null));
    })));
  root.append(SY.panel("Attempts", h("div", null, timeline,
    attempts[0].implied ? h("div", { class: "body muted small" }, "A plain model that answered at the first try: one attempt, not traced further.") : null),
    attempts.length + (attempts.length === 1 ? " attempt" : " attempts"), { id: "explain-attempts-panel" }));

  if (trace) {
    const features = trace.features ? Object.entries(trace.features) : [];
    root.append(h("div", { class: "grid two" },
      section("Route decision", h("div", null, kv([
        ["Route", trace.kind + " '" + trace.requested + "'"], ["Strategy", trace.strategy || null],
        ["Verdict", trace.features && trace.features.tier !== undefined ? "tier " + trace.features.tier + (trace.features.score !== undefined ? " (score " + Number(trace.features.score).toFixed(4) + ")" : "") : null],
        ["Notes", trace.notes.length ? h("div", null, trace.notes.map((n) => h("div", null, n))) : null]]),
        features.length ? h("details", null, h("summary", null, "Features (" + features.length + ")"),
          kv(features.map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]))) : null), "explain-route"),
      SY.panel("Candidates", SY.table([
        { title: "Deployment", cell: (c) => c.deployment }, { title: "Group", cell: (c) => c.group },
        { title: "", cell: (c) => c.excluded ? h("span", { class: "pill bad" }, "dropped") : h("span", { class: "pill ok" }, "kept") },
        { title: "Why", class: "wrap", cell: (c) => c.excluded || "" },
      ], trace.candidates, { empty: "No candidates recorded." }))));
  }

  if (r.retrieval) {
    const rt = r.retrieval;
    root.append(SY.panel("Retrieval", h("div", null, h("div", { class: "body" }, kv([["Collection", rt.collection], ["Mode", rt.mode],
      ["Query", rt.query], ["Context", SY.int(rt.context_tokens) + " tokens"]])),
      SY.table([{ title: "Cite", cell: (it) => "[" + it.n + "]" }, { title: "Document", cell: (it) => it.title || it.document_id },
        { title: "Chunk", num: true, cell: (it) => String(it.chunk_id) }, { title: "Score", num: true, cell: (it) => Number(it.score).toFixed(4) }],
        rt.items.map((it, i) => Object.assign({ n: i + 1 }, it)), { empty: "Nothing retrieved." })), rt.items.length + " citations", { id: "explain-retrieval" }));
  }
  if (Array.isArray(r.tool_calls) && r.tool_calls.length) {
    root.append(SY.panel("Tool calls", SY.table([
      { title: "Tool", cell: (c) => h("code", null, c.name || "?") },
      { title: "OK", cell: (c) => c.ok === false ? h("span", { class: "pill bad" }, "failed") : h("span", { class: "pill ok" }, "ok") },
      { title: "Time", num: true, cell: (c) => SY.ms(c.ms) },
      { title: "Arguments / error", class: "wrap", cell: (c) => h("code", null, String(c.error || c.arguments || "").slice(0, 400)) },
    ], r.tool_calls), r.tool_calls.length + " calls", { id: "explain-tools" }));
  }
  if (r.guardrail) {
    const g = r.guardrail;
    root.append(SY.panel("Guardrails", h("div", null, h("div", { class: "body" }, kv([["Policy", g.policy + (g.shadow ? " (shadow)" : "")],
      ["Verdict", h("span", { class: "pill " + (g.verdict === "blocked" ? "bad" : g.verdict === "changed" ? "warn" : "ok") }, g.verdict)],
      ["Injection score", g.injection_score !== undefined && g.injection_score !== null ? Number(g.injection_score).toFixed(2) : null],
      ["Schema re-asks", g.schema_reasks || null]])),
      SY.table([{ title: "Stage", cell: (f) => f.stage }, { title: "Category", cell: (f) => f.category }, { title: "Action", cell: (f) => f.action },
        { title: "Detail", class: "wrap", cell: (f) => [f.types ? Object.entries(f.types).map(([k, v]) => k + "×" + v).join(", ") : "", f.score !== undefined && f.score !== null ? " score " + Number(f.score).toFixed(2) : "", f.detail ? " — " + f.detail : ""].join("") }],
        g.findings, { empty: "No findings." })), null, { id: "explain-guard" }));
  }
  if (r.feedback && r.feedback.length) {
    root.append(SY.panel("Feedback", SY.table([
      { title: "Metric", cell: (f) => f.metric }, { title: "Value", cell: (f) => JSON.stringify(f.value) },
      { title: "On", cell: (f) => f.request_id ? "request" : "episode" }, { title: "Comment", class: "wrap", cell: (f) => f.comment || "" },
    ], r.feedback), null, { id: "explain-feedback" }));
  }
  if (r.prompt) root.append(SY.panel("Prompt (as sent upstream)", h("pre", { class: "block" }, r.prompt)));
  root.append(SY.panel("Raw record", h("details", null, h("summary", null, "JSON"), h("pre", { class: "block" }, JSON.stringify(r, null, 2)))));
}
})();
"""#
}
