/// The dashboard's scripts, split by concern; `DashboardPage.scripts` loads them in order.
enum DashboardScripts {}

extension DashboardScripts {
    /// The shell: the key (kept in `sessionStorage`, sent only as an Authorization header), the API
    /// call, DOM building (text nodes only: nothing from the API is parsed as HTML), formatting, the
    /// hash router and the sign-in form.
    static let core = #"""
"use strict";
(function () {
const SY = (window.SY = { views: {}, charts: [], calls: [] });
const KEY = "switchyard.key";
const RANGES = {
  "1h": { seconds: 3600, bucket: 60 }, "6h": { seconds: 21600, bucket: 300 }, "24h": { seconds: 86400, bucket: 1800 },
  "7d": { seconds: 604800, bucket: 10800 }, "30d": { seconds: 2592000, bucket: 43200 },
};

SY.key = () => sessionStorage.getItem(KEY) || "";

/// GET a JSON API with the key; throws an Error with the API's message and status.
SY.api = async function (path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const url = path + (query.toString() ? "?" + query.toString() : "");
  const headers = { Accept: "application/json" };
  const key = SY.key();
  if (key) headers.Authorization = "Bearer " + key;
  const started = performance.now();
  const response = await fetch(url, { headers, cache: "no-store", credentials: "omit" });
  const text = await response.text();
  SY.calls.push({ path, ms: performance.now() - started, bytes: text.length, status: response.status });
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (!response.ok) {
    const error = new Error((body && body.error && body.error.message) || "HTTP " + response.status);
    error.status = response.status;
    throw error;
  }
  return body;
};

/// An element: `h("td", {class: "num"}, text…)`; "svg:" tags are SVG. Children are text or nodes.
SY.h = function (tag, attributes, ...children) {
  const svg = tag.startsWith("svg:");
  const element = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  SY.append(element, children);
  return element;
};
SY.append = function (element, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
};
const h = SY.h;

// Formatting.
SY.int = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
SY.usd = function (n) {
  if (n === null || n === undefined) return "–";
  if (n === 0) return "$0";
  const a = Math.abs(n);
  if (a < 0.01) return "$" + n.toPrecision(2);
  if (a < 1000) return "$" + n.toFixed(2);
  return "$" + Math.round(n).toLocaleString("en-US");
};
SY.usdExact = (n) => (n === null || n === undefined ? "–" : "$" + (n === 0 ? "0" : n < 0.01 ? String(Number(n.toPrecision(4))) : n.toFixed(4)));
SY.ms = function (n) {
  if (n === null || n === undefined) return "–";
  if (n === 0) return "0";
  if (n < 1) return n.toFixed(2) + " ms";
  if (n < 1000) return Math.round(n) + " ms";
  return (n / 1000).toFixed(n < 10000 ? 2 : 1) + " s";
};
SY.pct = (part, whole) => (whole ? ((100 * part) / whole).toFixed(part && part / whole < 0.1 ? 1 : 0) + "%" : "–");
SY.time = function (seconds, withDate) {
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  const clock = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return today && !withDate ? clock : date.toLocaleDateString("en-GB", { month: "short", day: "numeric" }) + " " + clock;
};
SY.statusPill = function (status, error) {
  const bad = status >= 400 || !!error;
  return h("span", { class: "pill " + (bad ? "bad" : "ok"), title: error || "" }, status >= 400 || !error ? String(status) : status + " · error");
};
SY.breakerPill = function (state, probe) {
  const kind = state === "closed" ? "ok" : state === "open" ? "bad" : "warn";
  const label = state === "half_open" ? "half-open" : state;
  return h("span", { class: "pill " + kind, dataset: { breaker: state } }, label + (probe !== null && probe !== undefined ? " · probe in " + Math.ceil(probe) + " s" : ""));
};

/// A panel: a titled box around a body.
SY.panel = function (title, body, aside, attributes) {
  return h("section", Object.assign({ class: "panel" }, attributes || {}),
    h("header", null, h("h2", null, title), aside ? h("span", { class: "aside" }, aside) : null), body);
};
/// A table from column specs `{title, num, cell(row) → node|text}`; `onRow` makes rows links.
SY.table = function (columns, rows, options) {
  options = options || {};
  if (!rows.length) return h("div", { class: "empty" }, options.empty || "Nothing here yet.");
  return h("table", { id: options.id },
    h("thead", null, h("tr", null, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.title)))),
    h("tbody", null, rows.map((row) => {
      const tr = h("tr", Object.assign({ class: options.onRow ? "link" : null }, options.rowAttributes ? options.rowAttributes(row) : {}),
        columns.map((c) => h("td", { class: [c.num ? "num" : "", c.class || ""].join(" ").trim() || null }, c.cell(row))));
      if (options.onRow) tr.addEventListener("click", (event) => { if (!event.target.closest("a")) options.onRow(row); });
      return tr;
    })));
};
/// A number with a bar as wide as its share of `max`.
SY.barCell = function (text, value, max) {
  const bar = h("div", { class: "bar" });
  bar.style.width = (max > 0 ? Math.max(0.5, (100 * value) / max) : 0) + "%";  // CSSOM: allowed by the CSP
  return h("div", { class: "cell-bar" }, h("span", null, text), bar);
};

SY.rangeName = () => sessionStorage.getItem("switchyard.range") || "24h";
/// The window the range selector shows, aligned to its buckets: {since, until, bucket} (Unix seconds).
SY.window = function () {
  const range = RANGES[SY.rangeName()] || RANGES["24h"];
  const until = Math.ceil(Date.now() / 1000 / range.bucket) * range.bucket;
  return { since: until - range.seconds, until, bucket: range.bucket };
};
SY.iso = (seconds) => new Date(seconds * 1000).toISOString();

// Navigation.
const SECTIONS = [
  ["overview", "Overview", null], ["requests", "Requests", "readRequestLog"], ["spend", "Spend", "readSpend"],
  ["routes", "Routes", null], ["collections", "Collections", "readCollections"], ["workflows", "Workflows", null],
  ["experiments", "Experiments", "readExperiments"], ["evals", "Evals", "readEvalReports"],
];
SY.route = function () {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts: parts.length ? parts : ["overview"], params: new URLSearchParams(query || "") };
};
SY.go = (hash) => { if (location.hash === hash) SY.render(); else location.hash = hash; };

SY.render = async function () {
  if (!SY.me) return;
  const route = SY.route();
  const section = route.parts[0];
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.section === section);
  const view = document.getElementById("view");
  const started = performance.now();
  SY.calls = [];
  SY.charts = [];
  const render = SY.views[section] || SY.views.overview;
  const token = (SY.renderToken = (SY.renderToken || 0) + 1);
  const content = h("div", { class: "stack" });
  try {
    await render(content, route);
  } catch (error) {
    if (error.status === 401) return SY.signOut("Your key is no longer accepted: " + error.message);
    SY.append(content, h("div", { class: "panel" }, h("div", { class: "empty error" }, error.message)));
  }
  if (token !== SY.renderToken) return;  // a newer navigation won
  view.replaceChildren(content);
  if (SY.lastHash !== location.hash) window.scrollTo(0, 0);  // a new place starts at its top; a refresh stays put
  SY.lastHash = location.hash;
  for (const chart of SY.charts) chart.draw();
  const total = performance.now() - started;
  const bytes = SY.calls.reduce((sum, call) => sum + call.bytes, 0);
  document.getElementById("status").textContent = "Loaded in " + Math.round(total) + " ms · " + SY.calls.length + " API calls, "
    + (bytes / 1024).toFixed(1) + " KB · " + new Date().toLocaleTimeString("en-GB");
  document.body.dataset.loaded = String(token);
};

SY.may = (permission) => !permission || (SY.me && SY.me.permissions.includes(permission));

function showApp(me) {
  SY.me = me;
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  const nav = document.getElementById("nav");
  nav.replaceChildren(...SECTIONS.filter((s) => SY.may(s[2])).map(([id, title]) =>
    h("a", { href: "#/" + id, dataset: { section: id }, id: "nav-" + id }, title)));
  const who = document.getElementById("who");
  who.replaceChildren(h("b", null, me.name), " · " + me.role.replace("_", " ") + (me.team ? " · team " + me.team : ""));
  document.getElementById("logout").hidden = !me.auth;
  SY.render();
}

function showLogin(message) {
  SY.me = null;
  document.getElementById("app").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("login-key").focus();
}

SY.signOut = function (message) {
  sessionStorage.removeItem(KEY);
  document.getElementById("view").replaceChildren();
  showLogin(message);
};

async function signIn(key) {
  sessionStorage.setItem(KEY, key);
  try {
    showApp(await SY.api("/v1/switchyard/me"));
  } catch (error) {
    sessionStorage.removeItem(KEY);
    showLogin(error.status === 401 ? "That key was not accepted: " + error.message : "Could not reach the gateway: " + error.message);
  }
}

document.addEventListener("DOMContentLoaded", async function () {
  const range = document.getElementById("range");
  range.value = SY.rangeName();
  range.addEventListener("change", () => { sessionStorage.setItem("switchyard.range", range.value); SY.render(); });
  document.getElementById("refresh").addEventListener("click", () => SY.render());
  document.getElementById("logout").addEventListener("click", () => SY.signOut());
  document.getElementById("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("login-key");
    const key = input.value.trim();
    input.value = "";
    if (key) signIn(key);
  });
  window.addEventListener("hashchange", () => SY.render());
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { for (const chart of SY.charts) chart.draw(); }, 120);
  });
  if (SY.key()) return signIn(SY.key());
  // A gateway without keys lets everyone in as the anonymous admin: no form to fill.
  try { showApp(await SY.api("/v1/switchyard/me")); } catch (_) { showLogin(); }
});
})();
"""#
}
