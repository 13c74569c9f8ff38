/// The dashboard's stylesheet: dense tables, tabular figures, light and dark from the system setting.
enum DashboardStyles {
    static let css = #"""
:root {
  --bg: #f5f6f8; --panel: #ffffff; --ink: #1b1f24; --muted: #687080; --line: #e3e6eb; --soft: #f0f2f5;
  --accent: #1f5fbf; --accent-soft: #e6eefb; --ok: #1a7f4b; --ok-soft: #e3f4ea; --bad: #c23a2b; --bad-soft: #fbe8e5;
  --warn: #a86400; --warn-soft: #fdf0d9; --s1: #2f6fd0; --s2: #d9822b; --s3: #2a9d8f; --s4: #8e5bd6; --grid: #eceef2;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 13px;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --panel: #191d23; --ink: #e6e8eb; --muted: #9099a6; --line: #2a3038; --soft: #20252c;
    --accent: #6ea8ff; --accent-soft: #1d2c44; --ok: #4cc38a; --ok-soft: #16301f; --bad: #ff7a6b; --bad-soft: #3a1d1a;
    --warn: #f0b050; --warn-soft: #3a2c14; --s1: #6ea8ff; --s2: #f0a050; --s3: #4cc3b5; --s4: #b793f0; --grid: #242a31;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--ink); }
body { line-height: 1.4; }
[hidden] { display: none !important; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
.num, td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted { color: var(--muted); }
.small { font-size: 11.5px; }
.error { color: var(--bad); }
button, select, input {
  font: inherit; color: var(--ink); background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 5px 9px;
}
button { white-space: nowrap; cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); font-weight: 600; }
button.ghost { background: transparent; color: var(--ink); border-color: var(--line); font-weight: 500; }
button:disabled { opacity: .45; cursor: default; }
input:focus, select:focus, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }

.brand { display: inline-flex; align-items: center; gap: 8px; font-weight: 700; font-size: 15px; color: var(--ink); letter-spacing: .2px; }
.brand:hover { text-decoration: none; }
.brand.big { font-size: 22px; margin-bottom: 6px; }
.mark { width: 18px; height: 18px; border-radius: 5px; background: linear-gradient(135deg, #1f4f99, #4f9cff); display: inline-block; }
.brand.big .mark { width: 26px; height: 26px; border-radius: 7px; }

.login { min-height: 100vh; display: flex; align-items: center; justify-content: center; padding: 24px; }
.login-card { width: 380px; background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 26px; display: flex; flex-direction: column; gap: 10px; box-shadow: 0 8px 30px rgba(0,0,0,.06); }
.login-card label { font-weight: 600; margin-top: 6px; }
.login-card input { padding: 9px 11px; font-size: 14px; }
.login-card button { padding: 9px; font-size: 14px; }
.login-card p { margin: 0; }

.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 12px; padding: 0 18px; height: 48px; background: var(--panel); border-bottom: 1px solid var(--line); }
#nav { display: flex; gap: 2px; height: 100%; }
#nav a { display: flex; align-items: center; padding: 0 8px; color: var(--muted); font-weight: 600; border-bottom: 2px solid transparent; }
#nav a:hover { color: var(--ink); text-decoration: none; }
#nav a.active { color: var(--ink); border-bottom-color: var(--accent); }
.top-right { margin-left: auto; display: flex; align-items: center; gap: 10px; }
.range { color: var(--muted); display: flex; gap: 6px; align-items: center; }
.who { color: var(--muted); white-space: nowrap; }
.who b { color: var(--ink); }
main { padding: 16px 18px 30px; max-width: 1500px; margin: 0 auto; }
.status { padding: 6px 18px 14px; color: var(--muted); font-size: 11.5px; max-width: 1500px; margin: 0 auto; }
.noscript { padding: 30px; }

h1 { font-size: 17px; margin: 2px 0 12px; display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
h1 .sub { font-size: 12.5px; font-weight: 500; color: var(--muted); }
h2 { font-size: 13px; margin: 0; font-weight: 650; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 9px; overflow: hidden; min-width: 0; }
.panel > table, .panel > div { overflow-x: auto; }
.panel > header { display: flex; align-items: center; gap: 10px; padding: 9px 12px; border-bottom: 1px solid var(--line); }
.panel > header .aside { margin-left: auto; color: var(--muted); font-size: 12px; }
.panel > .body { padding: 10px 12px; }
.panel > .empty, .empty { padding: 18px 12px; color: var(--muted); text-align: center; }
.grid { display: grid; gap: 12px; align-items: start; }
.stack > * + * { margin-top: 12px; }
.grid.two { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.grid.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
@media (max-width: 1000px) { .grid.two, .grid.three { grid-template-columns: minmax(0, 1fr); } }

.kpis { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; }
@media (max-width: 1000px) { .kpis { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 9px; padding: 10px 12px; }
.kpi .label { color: var(--muted); font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .4px; }
.kpi .value { font-size: 22px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.kpi .note { color: var(--muted); font-size: 11.5px; margin-top: 1px; }
.kpi.bad .value { color: var(--bad); }
.kpi.good .value { color: var(--ok); }

table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: 11px; text-transform: uppercase; letter-spacing: .35px; color: var(--muted); font-weight: 650; background: var(--soft); position: sticky; top: 0; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr.link { cursor: pointer; }
tbody tr.link:hover td { background: var(--accent-soft); }
td.wrap { white-space: normal; word-break: break-word; }
td .bar { height: 6px; border-radius: 3px; background: var(--s1); opacity: .75; margin-top: 4px; min-width: 1px; }
.cell-bar { display: flex; flex-direction: column; min-width: 70px; }
.truncate { max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }

.pill { display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 11.5px; font-weight: 650; line-height: 18px; white-space: nowrap; background: var(--soft); color: var(--muted); }
.pill.ok { background: var(--ok-soft); color: var(--ok); }
.pill.bad { background: var(--bad-soft); color: var(--bad); }
.pill.warn { background: var(--warn-soft); color: var(--warn); }
.pill.info { background: var(--accent-soft); color: var(--accent); }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 5px; background: var(--muted); vertical-align: 0; }
.dot.ok { background: var(--ok); } .dot.bad { background: var(--bad); } .dot.warn { background: var(--warn); }

.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; padding: 10px 12px; border-bottom: 1px solid var(--line); }
.filters label { display: flex; flex-direction: column; gap: 3px; font-size: 11px; color: var(--muted); font-weight: 650; text-transform: uppercase; letter-spacing: .3px; }
.filters input, .filters select { min-width: 150px; text-transform: none; }
.pager { display: flex; align-items: center; gap: 8px; padding: 8px 12px; border-top: 1px solid var(--line); }
.pager .aside { margin-left: auto; color: var(--muted); }

.chart { position: relative; }
.chart svg { display: block; width: 100%; overflow: visible; }
.chart .axis { fill: var(--muted); font-size: 10.5px; }
.chart .gridline { stroke: var(--grid); stroke-width: 1; }
.chart .guide { stroke: var(--muted); stroke-dasharray: 3 3; }
.chart .s1 { fill: var(--s1); stroke: var(--s1); } .chart .s2 { fill: var(--s2); stroke: var(--s2); }
.chart .s3 { fill: var(--s3); stroke: var(--s3); } .chart .s4 { fill: var(--s4); stroke: var(--s4); }
.chart .sbad { fill: var(--bad); stroke: var(--bad); }
.chart path.line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
.chart rect.bar { stroke: none; }
.chart .area { stroke: none; opacity: .14; }
.legend { display: flex; gap: 12px; font-size: 11.5px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.legend .s1 { background: var(--s1); } .legend .s2 { background: var(--s2); } .legend .s3 { background: var(--s3); }
.legend .s4 { background: var(--s4); } .legend .sbad { background: var(--bad); }
.tip { position: absolute; pointer-events: none; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; font-size: 11.5px; box-shadow: 0 4px 14px rgba(0,0,0,.12); white-space: nowrap; z-index: 3; }
.tip b { display: block; margin-bottom: 2px; }

.kv { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; min-width: 0; word-break: break-word; }
.explain-head { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.explain-head h1 { margin: 0; }
.explain-head .id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.timeline td.track { width: 45%; }
.timeline .seg { height: 14px; border-radius: 3px; background: var(--ok); min-width: 2px; }
.timeline .seg.bad { background: var(--bad); }
pre.block { margin: 0; padding: 10px 12px; background: var(--soft); border-radius: 6px; white-space: pre-wrap; word-break: break-word; max-height: 360px; overflow: auto; }
details > summary { cursor: pointer; color: var(--muted); padding: 8px 12px; }
.back { display: inline-block; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; }
.loading { color: var(--muted); padding: 20px 0; }
.chart { padding: 8px 6px 0 0; }
.filters label.inline { flex-direction: row; align-items: center; gap: 6px; padding-bottom: 6px; }
.filters label.inline input { min-width: 0; }
.chip { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.eval-cell { min-width: 180px; max-width: 420px; }
.eval-cell .output { margin-top: 3px; white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11.5px; }
.explain-head #eval-html { margin-left: auto; }
"""#
}
