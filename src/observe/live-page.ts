/**
 * GET /: the live page. One self-contained HTML document (inline CSS, JS and SVG, nothing fetched
 * from elsewhere, so it works offline) that polls /history and /status every two seconds and
 * follows /events, drawing workers and utilization over the last 15 minutes with the threshold
 * bands, queue depth and oldest job age, recent scaling decisions, and the worker table.
 */

export const LIVE_PAGE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>worker-pool</title>
<style>
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:#f6f7f9; color:#1d2330; }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#111827; color:#f9fafb; }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .meta { color:#cbd5e1; font-size:13px; }
  .badge { padding:2px 8px; border-radius:10px; font-size:12px; font-weight:600; }
  .ok { background:#dcfce7; color:#166534; } .bad { background:#fee2e2; color:#991b1b; }
  main { padding:16px 24px; display:grid; gap:16px; grid-template-columns: 1fr 1fr; max-width:1400px; }
  .wide { grid-column: 1 / -1; }
  .card { background:#fff; border:1px solid #e5e7eb; border-radius:8px; padding:12px 16px; }
  .card h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:#6b7280; margin:0 0 8px; font-weight:600; }
  .kpis { display:grid; grid-template-columns: repeat(5, 1fr); gap:16px; }
  .kpi .v { font-size:26px; font-weight:600; } .kpi .s { color:#6b7280; font-size:12px; }
  svg { width:100%; height:auto; display:block; }
  svg text { font-size:11px; fill:#6b7280; }
  .legend { display:flex; gap:14px; flex-wrap:wrap; font-size:12px; color:#6b7280; margin-top:4px; }
  .legend i { display:inline-block; width:14px; height:3px; vertical-align:middle; margin-right:4px; }
  table { border-collapse:collapse; width:100%; font-variant-numeric: tabular-nums; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #e5e7eb; white-space:nowrap; }
  th { color:#6b7280; font-weight:600; font-size:12px; }
  td.n, th.n { text-align:right; }
  .st-running { color:#16a34a; } .st-starting { color:#2563eb; } .st-draining { color:#ea580c; }
  ul.log { list-style:none; margin:0; padding:0; max-height:220px; overflow:auto; font:12px/1.5 ui-monospace, monospace; }
  ul.log li { border-bottom:1px dotted #e5e7eb; }
  .up { color:#16a34a; font-weight:600; } .down { color:#ea580c; font-weight:600; }
  #offline { display:none; background:#fef3c7; color:#92400e; padding:8px 24px; }
</style>
</head>
<body>
<header>
  <h1>worker-pool <span id="pool"></span></h1>
  <span id="ready" class="badge">…</span>
  <span class="meta" id="redis"></span>
  <span class="meta" id="queues"></span>
  <a class="meta" id="jobs-link" href="jobs">jobs (bull-board)</a>
  <span class="meta" id="updated" style="margin-left:auto"></span>
</header>
<div id="offline">The daemon is not answering; retrying…</div>
<main>
  <section class="card wide kpis">
    <div class="kpi"><div class="s">workers running / desired</div><div class="v" id="k-workers">–</div><div class="s" id="k-limits"></div></div>
    <div class="kpi"><div class="s">utilization (window)</div><div class="v" id="k-util">–</div><div class="s" id="k-thr"></div></div>
    <div class="kpi"><div class="s">busy slots</div><div class="v" id="k-busy">–</div><div class="s">jobs running now</div></div>
    <div class="kpi"><div class="s">jobs waiting</div><div class="v" id="k-wait">–</div><div class="s">waiting + prioritized + paused</div></div>
    <div class="kpi"><div class="s">oldest waiting job</div><div class="v" id="k-age">–</div><div class="s">seconds since enqueue</div></div>
  </section>
  <section class="card wide">
    <h2>Workers and utilization <span id="span"></span></h2>
    <svg id="workers-chart" viewBox="0 0 1000 260" data-running="" data-points="0" role="img" aria-label="workers and utilization"></svg>
    <div class="legend">
      <span><i style="background:#2563eb"></i>running workers</span>
      <span><i style="background:#2563eb;opacity:.45"></i>desired</span>
      <span><i style="background:#ea580c"></i>utilization</span>
      <span><i style="background:#fecaca"></i>above threshold: add a worker</span>
      <span><i style="background:#dbeafe"></i>below half: remove one</span>
      <span>▲▼ scaling decisions</span>
    </div>
  </section>
  <section class="card wide">
    <h2>Queue depth and oldest job age</h2>
    <svg id="queue-chart" viewBox="0 0 1000 200" data-points="0" role="img" aria-label="queue depth"></svg>
    <div class="legend">
      <span><i style="background:#7c3aed"></i>waiting</span>
      <span><i style="background:#16a34a"></i>active</span>
      <span><i style="background:#9ca3af"></i>delayed</span>
      <span><i style="background:#dc2626"></i>oldest job age (s, right axis)</span>
    </div>
  </section>
  <section class="card">
    <h2>Workers</h2>
    <table id="workers"><thead><tr><th>worker</th><th class="n">pid</th><th>state</th><th class="n">busy</th><th class="n">done</th><th class="n">failed</th><th class="n">rss</th><th class="n">uptime</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="card">
    <h2>Queues</h2>
    <table id="queue-table"><thead><tr><th>queue</th><th class="n">waiting</th><th class="n">active</th><th class="n">delayed</th><th class="n">prioritized</th><th class="n">paused</th><th class="n">failed</th><th class="n">oldest</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="card">
    <h2>Recent scaling decisions</h2>
    <ul class="log" id="decisions"></ul>
  </section>
  <section class="card">
    <h2>Events</h2>
    <ul class="log" id="events"></ul>
  </section>
</main>
<script>
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var SPAN_MS = 15 * 60 * 1000;
  var $ = function (id) { return document.getElementById(id); };
  var history = null, status = null, decisions = [];

  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function pct(x) { return x === null || x === undefined ? 'n/a' : Math.round(x * 100) + '%'; }
  function secs(x) { return x === null || x === undefined ? '–' : x < 10 ? x.toFixed(1) + ' s' : Math.round(x) + ' s'; }
  function mib(b) { return b > 0 ? Math.round(b / 1048576) + ' MiB' : '–'; }
  function clock(ms) { var d = new Date(ms); return d.toTimeString().slice(0, 8); }
  function cell(tr, text, cls) { var td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }

  // A chart frame: x is time over [t0, t1], two y axes.
  function frame(svg, t0, t1, yMax, y2Max, y2Fmt) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var vb = svg.viewBox.baseVal, W = vb.width, H = vb.height;
    var f = { L: 44, R: W - 48, T: 10, B: H - 22 };
    f.x = function (t) { return f.L + (t - t0) / Math.max(1, t1 - t0) * (f.R - f.L); };
    f.y = function (v) { return f.B - v / yMax * (f.B - f.T); };
    f.y2 = function (v) { return f.B - Math.min(v, y2Max) / y2Max * (f.B - f.T); };
    var step = niceStep(yMax);
    for (var v = 0; v <= yMax + 1e-9; v += step) {
      svg.appendChild(el('line', { x1: f.L, x2: f.R, y1: f.y(v), y2: f.y(v), stroke: '#eef0f3' }));
      svg.appendChild(el('text', { x: f.L - 6, y: f.y(v) + 4, 'text-anchor': 'end' }, String(Math.round(v * 100) / 100)));
    }
    for (var i = 0; i <= 4; i++) {
      var v2 = y2Max * i / 4;
      svg.appendChild(el('text', { x: f.R + 6, y: f.y2(v2) + 4 }, y2Fmt(v2)));
    }
    var ticks = 6;
    for (var j = 0; j <= ticks; j++) {
      var t = t0 + (t1 - t0) * j / ticks;
      svg.appendChild(el('text', { x: f.x(t), y: H - 6, 'text-anchor': 'middle' }, clock(t)));
    }
    svg.appendChild(el('line', { x1: f.L, x2: f.R, y1: f.B, y2: f.B, stroke: '#9ca3af' }));
    return f;
  }
  function niceStep(max) { var raw = max / 5, p = Math.pow(10, Math.floor(Math.log10(raw || 1))); var m = raw / p; return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p; }
  function path(points, x, y, step) {
    var d = '', started = false, prevY = 0;
    points.forEach(function (p) {
      if (p[1] === null || p[1] === undefined) { started = false; return; }
      var X = x(p[0]).toFixed(1), Y = y(p[1]).toFixed(1);
      if (!started) { d += 'M' + X + ' ' + Y; started = true; }
      else if (step) d += 'L' + X + ' ' + prevY + 'L' + X + ' ' + Y;
      else d += 'L' + X + ' ' + Y;
      prevY = Y;
    });
    return d;
  }
  function range(points) {
    var t1 = Date.now();
    var t0 = points.length ? Math.max(points[0].at, t1 - SPAN_MS) : t1 - 30000;
    if (t1 - t0 < 30000) t0 = t1 - 30000;
    return [t0, t1];
  }

  function drawWorkers() {
    var svg = $('workers-chart'), pts = history.points, r = range(pts), thr = history.threshold;
    var f = frame(svg, r[0], r[1], history.maxWorkers + 1, 1, function (v) { return Math.round(v * 100) + '%'; });
    svg.insertBefore(el('rect', { x: f.L, width: f.R - f.L, y: f.y2(1), height: f.y2(thr) - f.y2(1), fill: '#fee2e2', opacity: 0.7 }), svg.firstChild);
    svg.insertBefore(el('rect', { x: f.L, width: f.R - f.L, y: f.y2(thr / 2), height: f.y2(0) - f.y2(thr / 2), fill: '#dbeafe', opacity: 0.7 }), svg.firstChild);
    svg.appendChild(el('line', { x1: f.L, x2: f.R, y1: f.y2(thr), y2: f.y2(thr), stroke: '#f87171', 'stroke-dasharray': '4 3' }));
    svg.appendChild(el('line', { x1: f.L, x2: f.R, y1: f.y2(thr / 2), y2: f.y2(thr / 2), stroke: '#93c5fd', 'stroke-dasharray': '4 3' }));
    [history.minWorkers, history.maxWorkers].forEach(function (v, i) {
      svg.appendChild(el('line', { x1: f.L, x2: f.R, y1: f.y(v), y2: f.y(v), stroke: '#6b7280', 'stroke-dasharray': '1 3' }));
      svg.appendChild(el('text', { x: f.L + 4, y: f.y(v) - 3 }, i ? 'max ' + v : 'min ' + v));
    });
    var t = function (p) { return p.at; };
    svg.appendChild(el('path', { d: path(pts.map(function (p) { return [t(p), p.utilization]; }), f.x, f.y2, false), fill: 'none', stroke: '#ea580c', 'stroke-width': 1.8 }));
    svg.appendChild(el('path', { d: path(pts.map(function (p) { return [t(p), p.desired]; }), f.x, f.y, true), fill: 'none', stroke: '#2563eb', 'stroke-width': 2, opacity: 0.45, 'stroke-dasharray': '6 3' }));
    svg.appendChild(el('path', { id: 'running-line', d: path(pts.map(function (p) { return [t(p), p.running]; }), f.x, f.y, true), fill: 'none', stroke: '#2563eb', 'stroke-width': 2.5 }));
    decisions.forEach(function (d) {
      if (d.action === 'hold' || d.at < r[0]) return;
      var X = f.x(d.at), up = d.action === 'up';
      svg.appendChild(el('text', { x: X, y: up ? f.T + 10 : f.B - 4, 'text-anchor': 'middle', style: 'fill:' + (up ? '#16a34a' : '#ea580c') + ';font-size:12px' }, up ? '▲' : '▼'));
    });
    var last = pts[pts.length - 1];
    svg.setAttribute('data-running', last ? String(last.running) : '');
    svg.setAttribute('data-points', String(pts.length));
    var spanS = Math.round((r[1] - r[0]) / 1000);
    $('span').textContent = '(last ' + (spanS < 120 ? spanS + ' s' : Math.round(spanS / 60) + ' min') + ')';
  }

  function drawQueues() {
    var svg = $('queue-chart'), pts = history.points, r = range(pts);
    var yMax = 1, ageMax = 10;
    pts.forEach(function (p) { yMax = Math.max(yMax, p.waiting || 0, p.active || 0, p.delayed || 0); ageMax = Math.max(ageMax, p.oldestAgeSeconds || 0); });
    var f = frame(svg, r[0], r[1], yMax * 1.1, ageMax * 1.1, function (v) { return Math.round(v) + 's'; });
    var series = [['waiting', '#7c3aed'], ['active', '#16a34a'], ['delayed', '#9ca3af']];
    series.forEach(function (s) {
      svg.appendChild(el('path', { d: path(pts.map(function (p) { return [p.at, p[s[0]]]; }), f.x, f.y, false), fill: 'none', stroke: s[1], 'stroke-width': 2 }));
    });
    svg.appendChild(el('path', { d: path(pts.map(function (p) { return [p.at, p.oldestAgeSeconds]; }), f.x, f.y2, false), fill: 'none', stroke: '#dc2626', 'stroke-width': 1.5, 'stroke-dasharray': '5 3' }));
    svg.setAttribute('data-points', String(pts.length));
  }

  function renderStatus() {
    var s = status;
    $('pool').textContent = s.pool;
    document.title = 'worker-pool ' + s.pool;
    var ready = $('ready'); ready.textContent = s.ready ? 'ready' : 'NOT READY'; ready.className = 'badge ' + (s.ready ? 'ok' : 'bad');
    $('redis').textContent = 'redis ' + s.redis.url + (s.redis.up ? ' (up)' : ' (DOWN)');
    $('queues').textContent = 'queues: ' + s.queues.join(', ');
    $('updated').textContent = 'updated ' + clock(Date.now());
    $('k-workers').textContent = s.runningWorkers + ' / ' + s.desiredWorkers;
    $('k-limits').textContent = 'min ' + s.minWorkers + ', max ' + s.maxWorkers + (s.fatalSlots.length ? ', ' + s.fatalSlots.length + ' FATAL' : '');
    $('k-util').textContent = pct(s.utilization);
    $('k-thr').textContent = 'add above ' + pct(s.utilizationThreshold) + ', remove below ' + pct(s.utilizationThreshold / 2);
    var busy = 0, slots = 0;
    s.workers.forEach(function (w) { busy += w.busy; if (w.state === 'running') slots += w.concurrency; });
    $('k-busy').textContent = busy + ' / ' + slots;
    var waiting = 0, age = 0, qc = s.queueCounts || {}, qa = s.queueOldestAgeSeconds || {};
    var qb = $('queue-table').tBodies[0]; qb.textContent = '';
    s.queues.forEach(function (q) {
      var c = qc[q], tr = document.createElement('tr');
      cell(tr, q);
      if (c) {
        waiting += c.waiting + c.prioritized + c.paused; age = Math.max(age, qa[q] || 0);
        ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'failed'].forEach(function (k) { cell(tr, String(c[k]), 'n'); });
        cell(tr, secs(qa[q] || 0), 'n');
      } else cell(tr, 'Redis not answering');
      qb.appendChild(tr);
    });
    $('k-wait').textContent = s.queueCounts ? String(waiting) : '–';
    $('k-age').textContent = s.queueCounts ? secs(age) : '–';
    var wb = $('workers').tBodies[0]; wb.textContent = '';
    s.workers.forEach(function (w) {
      var tr = document.createElement('tr');
      cell(tr, w.id); cell(tr, String(w.pid || '–'), 'n'); cell(tr, w.state, 'st-' + w.state);
      cell(tr, w.busy + '/' + w.concurrency, 'n'); cell(tr, String(w.processed), 'n'); cell(tr, String(w.failed), 'n');
      cell(tr, mib(w.rssBytes), 'n'); cell(tr, Math.round(w.uptimeSeconds) + ' s', 'n');
      wb.appendChild(tr);
    });
    decisions = s.decisions;
    var ul = $('decisions'); ul.textContent = '';
    s.decisions.filter(function (d) { return d.action !== 'hold'; }).slice(-12).reverse().forEach(function (d) {
      var li = document.createElement('li'), b = document.createElement('span');
      b.className = d.action; b.textContent = d.action + ' ' + d.workersBefore + '→' + d.workersAfter;
      li.appendChild(document.createTextNode(clock(d.at) + ' ')); li.appendChild(b); li.appendChild(document.createTextNode(' ' + d.reason));
      ul.appendChild(li);
    });
    if (!ul.firstChild) { var li = document.createElement('li'); li.textContent = 'no scaling yet'; ul.appendChild(li); }
  }

  function logEvent(type, d) {
    var ul = $('events'), li = document.createElement('li');
    var text = type === 'worker' ? d.worker + ' ' + d.event + (d.reason ? ' (' + d.reason + ')' : '')
      : type === 'decision' ? 'decision ' + d.action + ' ' + d.workersBefore + '→' + d.workersAfter
      : type === 'job' ? d.queue + ' job ' + d.jobId + ' ' + d.event + (d.event === 'progress' ? ' ' + JSON.stringify(d.progress) : d.failedReason ? ': ' + d.failedReason : '')
      : type;
    li.textContent = clock(Date.now()) + ' ' + text;
    ul.insertBefore(li, ul.firstChild);
    while (ul.childNodes.length > 60) ul.removeChild(ul.lastChild);
  }

  var busy = false;
  function refresh() {
    if (busy) return;
    busy = true;
    Promise.all([fetch('history').then(function (r) { return r.json(); }), fetch('status').then(function (r) { return r.json(); })])
      .then(function (res) {
        history = res[0]; status = res[1];
        $('offline').style.display = 'none';
        renderStatus(); drawWorkers(); drawQueues();
      })
      .catch(function () { $('offline').style.display = 'block'; })
      .then(function () { busy = false; });
  }

  refresh();
  setInterval(refresh, 2000);
  if (window.EventSource) {
    var es = new EventSource('events');
    ['worker', 'decision', 'job'].forEach(function (type) {
      es.addEventListener(type, function (e) {
        var d = JSON.parse(e.data);
        if (type === 'decision' && d.action === 'hold') return;
        if (type === 'job' && d.event === 'active') return;
        logEvent(type, d);
        if (type !== 'job') refresh();
      });
    });
  }
})();
</script>
</body>
</html>
`;
