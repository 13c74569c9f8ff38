/// The dashboard's page: a shell the scripts fill. No inline script, style or event handler (the
/// Content-Security-Policy forbids them); `{{scripts}}` and `{{version}}` are filled in by `DashboardPage`.
enum DashboardHTML {
    static let page = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Switchyard</title>
<link rel="icon" href="/dashboard/favicon.svg?v={{version}}" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/dashboard.css?v={{version}}">
{{scripts}}
</head>
<body>
<section id="login" class="login" hidden>
  <form id="login-form" class="login-card" autocomplete="off">
    <div class="brand big"><span class="mark" aria-hidden="true"></span>Switchyard</div>
    <p class="muted">Sign in with an API key. An admin key sees the whole gateway, a team admin's its team, any other key its own requests.</p>
    <label for="login-key">API key</label>
    <input id="login-key" name="key" type="password" autocomplete="current-password" spellcheck="false" placeholder="sk-…" required>
    <button id="login-submit" type="submit">Sign in</button>
    <p id="login-error" class="error" role="alert"></p>
    <p class="muted small">The key stays in this tab (session storage) and is sent only as an Authorization header to this gateway.</p>
  </form>
</section>
<div id="app" hidden>
  <header class="top">
    <a class="brand" href="#/overview"><span class="mark" aria-hidden="true"></span>Switchyard</a>
    <nav id="nav" aria-label="Sections"></nav>
    <div class="top-right">
      <label class="range" title="The time range of the overview and spend">
        <select id="range" aria-label="Range">
          <option value="1h">Last hour</option>
          <option value="6h">Last 6 hours</option>
          <option value="24h">Last 24 hours</option>
          <option value="7d">Last 7 days</option>
          <option value="30d">Last 30 days</option>
        </select>
      </label>
      <button id="refresh" type="button" class="ghost" title="Reload this view">Refresh</button>
      <span id="who" class="who"></span>
      <button id="logout" type="button" class="ghost">Sign out</button>
    </div>
  </header>
  <main id="view" aria-live="polite"></main>
  <footer id="status" class="status"></footer>
</div>
<noscript><p class="noscript">The Switchyard dashboard needs JavaScript. The same data is in the JSON APIs under /v1/switchyard/.</p></noscript>
</body>
</html>
"""#

    static let favicon = #"""
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f4f99"/><path d="M7 22 L16 10 L25 22" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/><circle cx="16" cy="10" r="2.6" fill="#7fd1ff"/></svg>
"""#
}
