/** The live page's markup and its stylesheet (light and dark, one column on a narrow screen); live-page.ts assembles the page. */

export const STYLE = String.raw`
  :root { color-scheme: light dark;
    --bg:#f6f7f9; --fg:#1d2330; --card:#fff; --line:#e5e7eb; --muted:#5f6673; --grid:#eceef2;
    --head:#111827; --headfg:#f9fafb; --headmuted:#cbd5e1; --link:#93c5fd;
    --blue:#2563eb; --orange:#ea580c; --green:#16a34a; --purple:#7c3aed; --grey:#8b929e; --red:#dc2626;
    --okbg:#dcfce7; --okfg:#166534; --badbg:#fee2e2; --badfg:#991b1b; --warnbg:#fef3c7; --warnfg:#92400e; --tip:#ffffff; }
  @media (prefers-color-scheme: dark) { :root {
    --bg:#0f1115; --fg:#e4e7ec; --card:#181b22; --line:#2b303b; --muted:#a0a8b6; --grid:#262b35;
    --head:#0a0c10; --headfg:#f3f4f6; --headmuted:#a8b3c4; --link:#93c5fd;
    --blue:#60a5fa; --orange:#fb923c; --green:#4ade80; --purple:#a78bfa; --grey:#9ca3af; --red:#f87171;
    --okbg:#14532d; --okfg:#bbf7d0; --badbg:#7f1d1d; --badfg:#fecaca; --warnbg:#78350f; --warnfg:#fde68a; --tip:#20242d; } }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; flex-wrap:wrap; align-items:center; gap:6px 14px; padding:12px 16px; background:var(--head); color:var(--headfg); }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .meta { color:var(--headmuted); font-size:13px; overflow-wrap:anywhere; }
  header a { color:var(--link); font-size:13px; }
  header .end { margin-left:auto; display:flex; gap:14px; align-items:center; flex-wrap:wrap; }
  .badge { padding:2px 8px; border-radius:10px; font-size:12px; font-weight:600; white-space:nowrap; }
  .ok { background:var(--okbg); color:var(--okfg); } .bad { background:var(--badbg); color:var(--badfg); } .unknown { background:var(--line); color:var(--fg); }
  main { padding:12px 16px; display:grid; gap:12px; grid-template-columns:repeat(auto-fit, minmax(min(100%, 560px), 1fr)); max-width:1600px; margin:0 auto; }
  .wide { grid-column:1 / -1; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
  .card h2 { font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0 0 8px; font-weight:600; }
  .kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(140px, 1fr)); gap:12px; }
  .kpi .v { font-size:24px; font-weight:600; font-variant-numeric:tabular-nums; } .kpi .s { color:var(--muted); font-size:12px; }
  .chart { position:relative; min-height:160px; }
  .chart .tip { position:absolute; pointer-events:none; z-index:10; background:var(--tip); color:var(--fg); border:1px solid var(--line);
    border-radius:6px; padding:4px 8px; font-size:12px; white-space:nowrap; box-shadow:0 2px 8px rgba(0,0,0,.15); display:none; }
  .hint { color:var(--muted); font-size:12px; margin-top:2px; }
  .scroll { overflow-x:auto; }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--muted); font-weight:600; font-size:12px; }
  td.n, th.n { text-align:right; }
  .st-running { color:var(--green); } .st-starting { color:var(--blue); } .st-draining { color:var(--orange); }
  ul.log { list-style:none; margin:0; padding:0; max-height:220px; overflow:auto; font:12px/1.5 ui-monospace, monospace; overflow-wrap:anywhere; }
  ul.log li { border-bottom:1px dotted var(--line); }
  .up { color:var(--green); font-weight:600; } .down { color:var(--orange); font-weight:600; }
  #offline { display:none; background:var(--warnbg); color:var(--warnfg); padding:8px 16px; }
  .uplot { font-family:inherit; } .u-legend { color:var(--fg); font-size:12px; } .u-legend th { color:var(--fg); }
  .u-select { background:rgba(96,165,250,.18); }
`;

export const BODY = String.raw`
<header>
  <h1>worker-pool <span id="pool"></span></h1>
  <span id="ready" class="badge unknown" role="status" aria-live="polite">…</span>
  <span class="meta" id="redis"></span>
  <span class="meta" id="queues"></span>
  <span class="end"><a href="jobs" id="jobs-link" title="failed jobs, reasons, retry (bull-board)">jobs →</a><span class="meta" id="updated"></span></span>
</header>
<div id="offline" role="alert">The daemon is not answering; retrying every 2 s…</div>
<main>
  <section class="card wide kpis" aria-label="summary">
    <div class="kpi"><div class="s">workers running / desired</div><div class="v" id="k-workers">–</div><div class="s" id="k-limits"></div></div>
    <div class="kpi"><div class="s">utilization (window)</div><div class="v" id="k-util">–</div><div class="s" id="k-thr"></div></div>
    <div class="kpi"><div class="s">busy slots</div><div class="v" id="k-busy">–</div><div class="s">jobs running now</div></div>
    <div class="kpi"><div class="s">jobs waiting</div><div class="v" id="k-wait">–</div><div class="s">waiting + prioritized + paused</div></div>
    <div class="kpi"><div class="s">oldest waiting job</div><div class="v" id="k-age">–</div><div class="s">since enqueue</div></div>
  </section>
  <section class="card">
    <h2>Workers <span id="span"></span></h2>
    <div class="chart" id="workers-chart" data-running="" data-running-series="" data-points="0" role="img" aria-label="running and desired workers over time, with scaling changes"></div>
    <div class="hint">▲▼ scaling changes · drag to zoom, double-click to reset</div>
  </section>
  <section class="card">
    <h2>Utilization</h2>
    <div class="chart" id="util-chart" data-points="0" role="img" aria-label="utilization over time with the add and remove thresholds"></div>
    <div class="hint">above the upper line a worker is added; below the lower one, one is removed</div>
  </section>
  <section class="card">
    <h2>Queue depth</h2>
    <div class="chart" id="queue-chart" data-points="0" role="img" aria-label="waiting, active and delayed jobs over time"></div>
  </section>
  <section class="card">
    <h2>Oldest waiting job</h2>
    <div class="chart" id="age-chart" data-points="0" role="img" aria-label="age of the oldest waiting job over time"></div>
  </section>
  <section class="card">
    <h2>Workers</h2>
    <div class="scroll"><table id="workers"><thead><tr><th>worker</th><th class="n">pid</th><th>state</th><th class="n">busy</th><th class="n">done</th><th class="n">failed</th><th class="n">rss</th><th class="n">uptime</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section class="card">
    <h2>Queues</h2>
    <div class="scroll"><table id="queue-table"><thead><tr><th>queue</th><th class="n">waiting</th><th class="n">active</th><th class="n">delayed</th><th class="n">prioritized</th><th class="n">paused</th><th class="n">failed</th><th class="n">oldest</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section class="card">
    <h2>Recent scaling changes</h2>
    <ul class="log" id="decisions"></ul>
  </section>
  <section class="card">
    <h2>Events</h2>
    <ul class="log" id="events"></ul>
  </section>
</main>
`;
