/**
 * The live page's script, run in the browser: polls /history and /status, follows /events, and
 * draws the charts (uPlot) and tables; live-page.ts inlines it into the page.
 */

export const SCRIPT = String.raw`
(function () {
  'use strict';
  var SPAN_S = 15 * 60;
  var $ = function (id) { return document.getElementById(id); };
  var history = null, status = null, changes = [], charts = {}, zoom = null, syncing = false;

  function pct(x) { return x === null || x === undefined ? 'n/a' : Math.round(x * 100) + '%'; }
  function secs(x) { return x === null || x === undefined ? '–' : x < 10 ? x.toFixed(1) + ' s' : x < 120 ? Math.round(x) + ' s' : Math.floor(x / 60) + ' min ' + Math.round(x % 60) + ' s'; }
  function mib(b) { return b > 0 ? Math.round(b / 1048576) + ' MiB' : '–'; }
  function clock(ms) { return new Date(ms).toTimeString().slice(0, 8); }
  function cell(tr, text, cls) { var td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function count(v) { return v === null || v === undefined ? '–' : String(Math.round(v)); }

  // A tooltip that follows the cursor: the time and every series' value there.
  function tooltip(fmt) {
    var tip;
    return {
      hooks: {
        init: function (u) { tip = document.createElement('div'); tip.className = 'tip'; u.over.appendChild(tip); },
        setCursor: function (u) {
          var i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tip.style.display = 'none'; return; }
          var lines = [clock(u.data[0][i] * 1000)];
          for (var s = 1; s < u.series.length; s++) if (u.series[s].show) lines.push(u.series[s].label + ': ' + fmt(u.data[s][i]));
          tip.textContent = '';
          lines.forEach(function (l, n) { if (n) tip.appendChild(document.createElement('br')); tip.appendChild(document.createTextNode(l)); });
          tip.style.display = 'block';
          var left = u.cursor.left + 12, w = tip.offsetWidth;
          if (left + w > u.over.clientWidth) left = u.cursor.left - w - 12;
          tip.style.left = Math.max(0, left) + 'px';
          tip.style.top = Math.max(0, u.cursor.top - tip.offsetHeight - 8) + 'px';
        },
      },
    };
  }

  // The scaling changes as dashed vertical lines with ▲ or ▼ on the workers chart.
  var markers = {
    hooks: {
      draw: function (u) {
        var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height, dpr = window.devicePixelRatio || 1;
        ctx.save();
        ctx.font = (12 * dpr) + 'px system-ui, sans-serif'; ctx.textAlign = 'center'; ctx.setLineDash([3 * dpr, 3 * dpr]); ctx.lineWidth = dpr;
        changes.forEach(function (d) {
          var t = d.at / 1000;
          if (t < u.scales.x.min || t > u.scales.x.max) return;
          var x = Math.round(u.valToPos(t, 'x', true)), up = d.action === 'up';
          ctx.strokeStyle = ctx.fillStyle = up ? css('--green') : css('--orange');
          ctx.beginPath(); ctx.moveTo(x, top + 14 * dpr); ctx.lineTo(x, bottom); ctx.stroke();
          ctx.fillText(up ? '▲' : '▼', x, top + 12 * dpr);
        });
        ctx.restore();
      },
    },
  };

  function axis(extra) {
    var a = { stroke: css('--muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 }, font: '11px system-ui, sans-serif' };
    for (var k in extra) a[k] = extra[k];
    return a;
  }
  function intAxis(suffix) {
    return axis({ incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 1e6],
      values: function (u, vals) { return vals.map(function (v) { return v + (suffix || ''); }); }, size: 48 });
  }
  function line(label, color, extra) {
    var s = { label: label, stroke: css(color), width: 2, points: { show: false } };
    for (var k in extra) s[k] = extra[k];
    return s;
  }

  // Local wall-clock labels, as in the tables: HH:MM:SS on a short span, HH:MM on a long one.
  function timeLabels(u, vals) {
    var span = u.scales.x.max - u.scales.x.min;
    return vals.map(function (v) { var t = clock(v * 1000); return span > 300 ? t.slice(0, 5) : t; });
  }
  function empty(n) { var d = []; for (var i = 0; i <= n; i++) d.push([]); return d; }
  function chartSize(el) { var w = el.clientWidth || 300; return { width: w, height: w < 500 ? 170 : 210 }; }

  function onScale(u, key) {
    if (key !== 'x' || syncing) return;
    var xs = u.data[0], min = u.scales.x.min, max = u.scales.x.max;
    var full = xs.length ? [xs[0], xs[xs.length - 1]] : null;
    zoom = full && (min > full[0] + 1 || max < full[1] - 1) ? [min, max] : null;
    document.body.setAttribute('data-zoomed', zoom ? 'yes' : '');
    syncing = true;
    for (var name in charts) if (charts[name] !== u) charts[name].setScale('x', { min: min, max: max });
    syncing = false;
  }

  function build() {
    for (var name in charts) charts[name].destroy();
    charts = {};
    var stepped = uPlot.paths.stepped({ align: 1 });
    var base = function (series, axes, scales, fmt, plugins) {
      return { width: 300, height: 200, series: [{ value: function (u, v) { return v === null ? '–' : clock(v * 1000); } }].concat(series), axes: [axis({ size: 30, space: 70, values: timeLabels })].concat(axes),
        scales: scales, legend: { show: true, live: false }, cursor: { sync: { key: 'worker-pool' }, drag: { x: true, y: false } },
        plugins: [tooltip(fmt)].concat(plugins || []), hooks: { setScale: [onScale] } };
    };
    var maxW = history ? history.maxWorkers : 4;
    charts.workers = new uPlot(base([
      line('running', '--blue', { paths: stepped, width: 2.5 }),
      line('desired', '--blue', { paths: stepped, dash: [6, 4], width: 1.5, alpha: 0.7 }),
      line('min', '--grey', { dash: [2, 4], width: 1 }),
      line('max', '--grey', { dash: [2, 4], width: 1 }),
    ], [intAxis()], { y: { range: function () { return [0, (history ? history.maxWorkers : maxW) + 1]; } } }, count, [markers]), empty(4), $('workers-chart'));
    charts.util = new uPlot(base([
      line('utilization', '--orange'),
      line('add above', '--red', { dash: [5, 4], width: 1 }),
      line('remove below', '--blue', { dash: [5, 4], width: 1 }),
    ], [axis({ values: function (u, vals) { return vals.map(function (v) { return v + '%'; }); }, incrs: [10, 20, 25, 50], size: 48 })],
      { y: { range: [0, 100] } }, function (v) { return v === null || v === undefined ? '–' : Math.round(v) + '%'; }), empty(3), $('util-chart'));
    charts.queue = new uPlot(base([
      line('waiting', '--purple'),
      line('active', '--green'),
      line('delayed', '--grey'),
    ], [intAxis()], { y: { range: function (u, min, max) { return [0, Math.max(5, Math.ceil((max || 0) * 1.1))]; } } }, count), empty(3), $('queue-chart'));
    charts.age = new uPlot(base([
      line('oldest waiting job', '--red', { fill: 'rgba(220,38,38,.08)' }),
    ], [axis({ values: function (u, vals) { return vals.map(function (v) { return v < 120 ? v + ' s' : Math.round(v / 60) + ' min'; }); }, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600], size: 52 })],
      { y: { range: function (u, min, max) { return [0, Math.max(10, Math.ceil((max || 0) * 1.1))]; } } }, function (v) { return v === null || v === undefined ? '–' : secs(v); }), empty(1), $('age-chart'));
    resize();
    if (history) draw();
  }

  function resize() { for (var name in charts) charts[name].setSize(chartSize(charts[name].root.parentNode)); }

  function draw() {
    var pts = history.points, thr = history.threshold;
    var now = Date.now() / 1000;
    var xs = pts.map(function (p) { return p.at / 1000; });
    // At least 30 s of axis, at most 15 min, ending now.
    var t0 = xs.length ? Math.max(xs[0], now - SPAN_S) : now - 30;
    if (now - t0 < 30) t0 = now - 30;
    var col = function (f) { return pts.map(f); };
    var sets = {
      workers: [xs, col(function (p) { return p.running; }), col(function (p) { return p.desired; }), col(function () { return history.minWorkers; }), col(function () { return history.maxWorkers; })],
      util: [xs, col(function (p) { return p.utilization === null ? null : p.utilization * 100; }), col(function () { return thr * 100; }), col(function () { return thr * 50; })],
      queue: [xs, col(function (p) { return p.waiting; }), col(function (p) { return p.active; }), col(function (p) { return p.delayed; })],
      age: [xs, col(function (p) { return p.oldestAgeSeconds; })],
    };
    for (var name in sets) {
      var u = charts[name];
      u.setData(sets[name], false);
      syncing = true;
      u.setScale('x', zoom ? { min: zoom[0], max: zoom[1] } : { min: t0, max: now });
      syncing = false;
      u.root.parentNode.setAttribute('data-points', String(pts.length));
    }
    var w = $('workers-chart'), last = pts[pts.length - 1];
    w.setAttribute('data-running', last ? String(last.running) : '');
    w.setAttribute('data-running-series', pts.slice(-60).map(function (p) { return p.running; }).join(','));
    var spanS = Math.round(now - t0);
    $('span').textContent = '(last ' + (spanS < 120 ? spanS + ' s' : Math.round(spanS / 60) + ' min') + ')';
  }

  function setBadge(text, cls) { var b = $('ready'); if (b.textContent !== text) b.textContent = text; b.className = 'badge ' + cls; }

  function renderStatus() {
    var s = status;
    $('pool').textContent = s.pool;
    document.title = 'worker-pool ' + s.pool;
    setBadge(s.ready ? 'ready' : 'NOT READY', s.ready ? 'ok' : 'bad');
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
    // Changes only (holds apart), kept by the daemon across restarts; an older daemon sends decisions only.
    changes = (s.changes || s.decisions.filter(function (d) { return d.action !== 'hold'; })).concat([]);
    if (history && history.changes && history.changes.length > changes.length) changes = history.changes;
    var ul = $('decisions'); ul.textContent = '';
    changes.slice(-12).reverse().forEach(function (d) {
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

  var fetching = false, lastAnswer = 0;
  function refresh() {
    if (fetching) return;
    fetching = true;
    var get = function (p) { return fetch(p, { cache: 'no-store' }).then(function (r) { if (!r.ok) throw new Error(p + ': HTTP ' + r.status); return r.json(); }); };
    Promise.all([get('history'), get('status')])
      .then(function (res) {
        var first = !history;
        history = res[0]; status = res[1]; lastAnswer = Date.now();
        $('offline').style.display = 'none';
        renderStatus();
        if (first) build(); else draw();
      })
      .catch(function () {
        // Unreachable is neither ready nor not ready: say so, not the last answer's "ready".
        $('offline').style.display = 'block';
        setBadge('unreachable', 'unknown bad');
        $('updated').textContent = lastAnswer ? 'last answer ' + clock(lastAnswer) : 'no answer yet';
      })
      .then(function () { fetching = false; });
  }

  window.addEventListener('resize', resize);
  if (window.matchMedia) window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', build);
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
`;

/** The whole page, with uPlot's script and style inlined (read once from node_modules). */
