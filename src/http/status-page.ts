/**
 * The /status page: one self-contained HTML document (inline CSS and JS, no external resource, since
 * nothing outside the machine may be reachable) that shows the metric tree with values, types and
 * sparklines, and refreshes itself from `?format=json&history=1` once a tick. The first render uses the
 * tree embedded in the page, so values show before any request and without JavaScript's fetch.
 *
 * The page is served with a Content-Security-Policy that allows only its own nonce'd inline script and
 * style and requests to its own origin: a browser refuses anything else.
 */

export interface StatusPageInput {
  /** The subtree shown ("" for everything). */
  readonly prefix: string;
  /** The tree as JSON text (statusTreeJson with history). */
  readonly json: string;
  /** `<base href>` that makes `<prefix>` links resolve under /status/, wherever the page is mounted. */
  readonly baseHref: string;
  /** The CSP nonce of the inline script and style. */
  readonly nonce: string;
}

export function statusPageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderStatusPage(input: StatusPageInput): string {
  const title = input.prefix === '' ? 'shmetrics status' : `${input.prefix} · shmetrics status`;
  // Inside <script type="application/json">, only "</script" could end the element early: no "<" at all.
  const embedded = input.json.replace(/</g, '\\u003c');
  const nonce = escapeHtml(input.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<base href="${escapeHtml(input.baseHref)}">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1><a href="./">shmetrics</a><span id="crumbs"></span></h1>
  <div class="meta"><span id="state" class="live">live</span> <span id="updated"></span> · <span id="count"></span> ·
    <a id="json" href="${escapeHtml(input.prefix === '' ? './' : input.prefix)}?format=prettyjson">JSON</a></div>
</header>
<main id="tree"></main>
<script id="initial" type="application/json">${embedded}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --line: #e3e6ee; --bg: #fff; --accent: #2f6fd6;
  --counter: #1f8a4c; --gauge: #2f6fd6; --absolute: #8a5a1f; --alias: #7a4fc4; --histogram: #c4437a; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9f0; --muted: #98a0b3; --line: #2c3240; --bg: #151922; --accent: #7aa7ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { position: sticky; top: 0; background: var(--bg); border-bottom: 1px solid var(--line); padding: 10px 18px; z-index: 1; }
h1 { margin: 0; font-size: 18px; font-weight: 600; }
h1 a, main a { color: var(--accent); text-decoration: none; }
h1 a:hover, main a:hover { text-decoration: underline; }
#crumbs a, #crumbs span { font-weight: 400; }
.meta { color: var(--muted); font-size: 12px; margin-top: 2px; }
.meta a { color: var(--accent); }
#state.live::before { content: "●"; color: var(--counter); margin-right: 4px; }
#state.down { color: #c0392b; font-weight: 600; }
main { padding: 8px 18px 40px; }
details { margin-left: 14px; }
main > details, main > .row { margin-left: 0; }
summary { cursor: pointer; padding: 3px 0; color: var(--muted); }
summary a { font-weight: 600; }
.kids { margin-left: 4px; border-left: 1px solid var(--line); padding-left: 6px; }
.row { display: grid; grid-template-columns: minmax(140px, 240px) 78px minmax(110px, 220px) 132px minmax(70px, 110px) 1fr;
  align-items: center; gap: 10px; padding: 3px 0 3px 14px; border-bottom: 1px dashed var(--line); }
.row .name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.row .value { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
.row .rate, .row .extra { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.type { font-size: 11px; border-radius: 9px; padding: 0 7px; text-align: center; color: #fff; }
.t-counter { background: var(--counter); } .t-gauge { background: var(--gauge); } .t-absolute { background: var(--absolute); }
.t-alias { background: var(--alias); } .t-histogram { background: var(--histogram); }
svg.spark { width: 132px; height: 24px; display: block; }
svg.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.4; }
svg.spark line { stroke: var(--line); stroke-width: 1; }
.flash { animation: flash 0.8s ease-out; }
@keyframes flash { from { background: rgba(47, 111, 214, 0.18); } to { background: transparent; } }
`;

// Plain ES2020 for any current browser; runs under the page's CSP (no eval, no external requests).
const SCRIPT = `
(function () {
  'use strict';
  var treeEl = document.getElementById('tree');
  var stateEl = document.getElementById('state');
  var updatedEl = document.getElementById('updated');
  var countEl = document.getElementById('count');
  var crumbsEl = document.getElementById('crumbs');
  var shape = '';
  var rows = new Map();
  var closed = new Set();
  var stepMs = 1000;
  // Sparkline points held here: each poll asks only for the points taken since the previous one.
  var hist = new Map();
  var lastSeq = -1;
  var capacity = 0;
  var lastFetchAt = Date.now();

  // int64 values arrive with every digit; keep the ones a Number would round (where the browser can).
  function parse(text) {
    return JSON.parse(text, function (key, value, context) {
      if (typeof value === 'number' && !Number.isSafeInteger(value) && context && /^-?[0-9]+$/.test(context.source)) return BigInt(context.source);
      return value;
    });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    if (typeof v === 'bigint') return v.toLocaleString('en-US');
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) < 10 ? 2 : 1 });
  }
  function spark(points, kind) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 132 24');
    svg.setAttribute('preserveAspectRatio', 'none');
    drawSpark(svg, points, kind);
    return svg;
  }
  function drawSpark(svg, points, kind) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var ns = 'http://www.w3.org/2000/svg';
    var values = (points || []).filter(function (p) { return p !== null; });
    svg.setAttribute('data-points', String(values.length));
    if (values.length === 0) return;
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (kind === 'rate') lo = Math.min(lo, 0);
    if (hi === lo) { lo -= 1; hi += 1; }
    var n = points.length, dx = n > 1 ? 130 / (n - 1) : 0;
    var base = document.createElementNS(ns, 'line');
    base.setAttribute('x1', '0'); base.setAttribute('x2', '132'); base.setAttribute('y1', '23'); base.setAttribute('y2', '23');
    svg.appendChild(base);
    var run = [];
    function flush() {
      if (run.length === 0) return;
      if (run.length === 1) run.push((parseFloat(run[0]) + 1).toFixed(1) + ',' + run[0].split(',')[1]);
      var line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', run.join(' '));
      svg.appendChild(line);
      run = [];
    }
    points.forEach(function (p, i) {
      if (p === null) { flush(); return; }
      var y = 22 - ((p - lo) / (hi - lo)) * 20;
      run.push((1 + i * dx).toFixed(1) + ',' + y.toFixed(1));
    });
    flush();
    svg.setAttribute('aria-label', (kind === 'rate' ? 'per second' : 'value') + ' from ' + fmt(Math.min.apply(null, values)) + ' to ' + fmt(Math.max.apply(null, values)));
  }
  function last(points) {
    if (!points) return null;
    for (var i = points.length - 1; i >= 0; i--) if (points[i] !== null) return points[i];
    return null;
  }
  function extraText(m) {
    if (m.histogram) {
      var h = m.histogram;
      return 'p50 ' + fmt(h.p50) + ' · p99 ' + fmt(h.p99) + ' · max ' + fmt(h.max) + ' · mean ' + fmt(h.mean);
    }
    var bits = [];
    if (m.alias) bits.push('→ ' + m.alias + ' (' + m.targetType + ')');
    if (m.collector) bits.push(m.collector);
    if (m.oid) bits.push('oid ' + m.oid);
    return bits.join(' · ');
  }
  function rateText(m) {
    var h = m.history;
    if (!h) return '';
    var v = last(h.points);
    if (v === null) return '';
    return h.kind === 'rate' ? fmt(v) + '/s' : '';
  }
  function row(segment, m) {
    var r = el('div', 'row');
    r.setAttribute('data-name', m.name);
    r.appendChild(el('span', 'name', segment === null ? m.name : segment)).title = m.name;
    r.appendChild(el('span', 'type t-' + m.type, m.type));
    r.appendChild(el('span', 'value', fmt(m.value)));
    r.appendChild(spark(m.history && m.history.points, m.history && m.history.kind));
    r.appendChild(el('span', 'rate', rateText(m)));
    r.appendChild(el('span', 'extra', extraText(m)));
    rows.set(m.name, r);
    return r;
  }
  function update(m) {
    var r = rows.get(m.name);
    if (!r) return;
    var v = r.querySelector('.value'), text = fmt(m.value);
    if (v.textContent !== text) {
      v.textContent = text;
      r.classList.remove('flash'); void r.offsetWidth; r.classList.add('flash');
    }
    drawSpark(r.querySelector('svg'), m.history && m.history.points, m.history && m.history.kind);
    r.querySelector('.rate').textContent = rateText(m);
    r.querySelector('.extra').textContent = extraText(m);
  }
  function walk(node, visit, path) {
    if (node.metric) visit(node.metric);
    if (node.children) Object.keys(node.children).forEach(function (k) { walk(node.children[k], visit, path ? path + '.' + k : k); });
  }
  function countOf(node) {
    var n = node.metric ? 1 : 0;
    if (node.children) Object.keys(node.children).forEach(function (k) { n += countOf(node.children[k]); });
    return n;
  }
  function build(container, node, path, segment) {
    if (node.metric) container.appendChild(row(segment, node.metric));
    if (!node.children) return;
    var keys = Object.keys(node.children);
    var target = container;
    if (segment !== null) {
      var d = el('details');
      d.open = !closed.has(path);
      d.setAttribute('data-path', path);
      d.addEventListener('toggle', function () { if (d.open) closed.delete(path); else closed.add(path); });
      var s = el('summary');
      var a = el('a', '', segment === null ? path : segment);
      a.href = path;
      s.appendChild(a);
      s.appendChild(document.createTextNode(' ' + countOf(node)));
      d.appendChild(s);
      target = el('div', 'kids');
      d.appendChild(target);
      container.appendChild(d);
    }
    keys.forEach(function (k) { build(target, node.children[k], path ? path + '.' + k : k, k); });
  }
  function crumbs(prefix) {
    while (crumbsEl.firstChild) crumbsEl.removeChild(crumbsEl.firstChild);
    if (!prefix) return;
    var parts = prefix.split('.'), acc = '';
    parts.forEach(function (p, i) {
      acc = acc ? acc + '.' + p : p;
      crumbsEl.appendChild(document.createTextNode(i === 0 ? ' / ' : '.'));
      if (i === parts.length - 1) crumbsEl.appendChild(el('span', '', p));
      else { var a = el('a', '', p); a.href = acc; crumbsEl.appendChild(a); }
    });
  }
  function merge(data) {
    var h = data.history;
    if (!h) return;
    capacity = h.capacity;
    var fresh = lastSeq < 0 ? Infinity : h.sequence - lastSeq;
    walk(data.tree, function (m) {
      if (!m.history) return;
      var got = m.history, held = hist.get(m.name);
      if (!held || fresh < 0 || fresh > got.points.length) {
        held = { kind: got.kind, points: got.points.slice(), p99: got.p99 ? got.p99.slice() : undefined };
      } else if (fresh > 0) {
        held.points = held.points.concat(got.points.slice(-fresh)).slice(-capacity);
        if (held.p99 && got.p99) held.p99 = held.p99.concat(got.p99.slice(-fresh)).slice(-capacity);
      }
      hist.set(m.name, held);
      m.history = held;
    });
    lastSeq = h.sequence;
  }
  function render(data) {
    if (data.history) stepMs = data.history.stepMs;
    merge(data);
    var names = [];
    walk(data.tree, function (m) { names.push(m.name); }, data.prefix);
    var next = names.join(' ');
    if (next !== shape) {
      shape = next;
      rows.clear();
      while (treeEl.firstChild) treeEl.removeChild(treeEl.firstChild);
      crumbs(data.prefix);
      build(treeEl, data.tree, data.prefix, null);
    } else {
      walk(data.tree, update, data.prefix);
    }
    countEl.textContent = data.metrics + (data.metrics === 1 ? ' metric' : ' metrics');
    updatedEl.textContent = 'updated ' + new Date(data.takenAtMs).toLocaleTimeString();
    updatedEl.setAttribute('data-taken-at', String(data.takenAtMs));
  }
  function poll() {
    if (document.hidden) { setTimeout(poll, stepMs); return; }
    // The points missed since the last answer, and a few more in case a tick fell between.
    var startedAt = Date.now();
    var want = Math.min(Math.max(capacity, 1), Math.ceil((startedAt - lastFetchAt) / stepMs) + 3);
    fetch(location.pathname + '?format=json&history=1&points=' + want, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (text) {
        render(parse(text));
        lastFetchAt = startedAt;
        stateEl.className = 'live'; stateEl.textContent = 'live';
      })
      .catch(function (err) {
        stateEl.className = 'down'; stateEl.textContent = 'disconnected (' + err.message + '), retrying';
      })
      .then(function () { setTimeout(poll, stepMs); });
  }
  render(parse(document.getElementById('initial').textContent));
  setTimeout(poll, stepMs);
})();
`;
