// sentio operator console. Data arrives as server-sent events from api/events (read with fetch,
// so that the bearer token can go in a header); every value from the server is put into the
// page with textContent or setAttribute, never as HTML.
'use strict';

const TOKEN_KEY = 'sentio-console-token';
const LIVE_MS = 60 * 1000; // a call without a summary updated within this is "live", else "idle"
const LABELS = ['negative', 'neutral', 'positive'];
const SVG = 'http://www.w3.org/2000/svg';

const state = {
  calls: new Map(), // call_id -> {call_id, updated, results, dropped, summary}
  dlq: [],
  status: null,
  limits: {utterances: 1000, dlq: 500}, // the server's window bounds, from the snapshot
  view: 'calls',
  selected: '',
  conn: null, // AbortController of the current event stream
};

// ---- small DOM helpers: text only ----

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

function svgTitle(text) {
  const t = document.createElementNS(SVG, 'title');
  t.textContent = text;
  return t;
}

const $ = (id) => document.getElementById(id);
const pct = (x) => `${Math.round((x || 0) * 100)}%`;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const clock = (t) => new Date(t).toLocaleTimeString([], {hour12: false});

// confidence is the score of the result's own label.
function confidence(r) {
  return r.label && r.scores ? (r.scores[r.label] || 0) : 0;
}

function callState(c) {
  if (c.summary) return 'ended';
  return Date.now() - Date.parse(c.updated) < LIVE_MS ? 'live' : 'idle';
}

// ---- the event stream ----

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function setConn(s, text) {
  const c = $('conn');
  c.dataset.state = s;
  c.textContent = text;
}

async function connect() {
  if (state.conn) state.conn.abort();
  const ctl = new AbortController();
  state.conn = ctl;
  setConn('connecting', 'connecting');
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let res;
  try {
    res = await fetch('api/events', {headers, cache: 'no-store', signal: ctl.signal});
  } catch (e) {
    return retry(ctl);
  }
  if (res.status === 401) {
    showLogin(token() ? 'That token was not accepted.' : '');
    setConn('locked', 'token needed');
    return;
  }
  if (!res.ok || !res.body) return retry(ctl);
  $('login').hidden = true;
  setConn('open', 'live');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        dispatch(block);
      }
    }
  } catch (e) {
    // aborted or cut: reconnect below
  }
  retry(ctl);
}

function retry(ctl) {
  if (state.conn !== ctl || ctl.signal.aborted) return;
  setConn('closed', 'reconnecting');
  setTimeout(() => { if (state.conn === ctl) connect(); }, 2000);
}

// dispatch handles one server-sent event block ("event: x\ndata: {...}"; ":" lines are comments).
function dispatch(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return;
  const msg = JSON.parse(data.join('\n'));
  switch (name) {
    case 'snapshot':
      state.calls = new Map(msg.calls.map((c) => [c.call_id, c]));
      state.dlq = msg.dlq;
      state.status = msg.status;
      state.limits = msg.limits || state.limits;
      break;
    case 'result': addResult(msg.result, msg.updated); break;
    case 'summary': call(msg.summary.call_id, msg.updated).summary = msg.summary; break;
    case 'evict': state.calls.delete(msg.call_id); break;
    case 'dlq':
      state.dlq.push(msg);
      state.dlq.splice(0, Math.max(0, state.dlq.length - state.limits.dlq));
      break;
    case 'status': state.status = msg; break;
    default: return;
  }
  schedule();
}

function call(id, updated) {
  let c = state.calls.get(id);
  if (!c) {
    c = {call_id: id, updated, results: []};
    state.calls.set(id, c);
  }
  c.updated = updated;
  return c;
}

function addResult(r, updated) {
  const c = call(r.call_id, updated);
  const i = c.results.findIndex((o) => o.utterance_id === r.utterance_id);
  if (i >= 0) c.results[i] = r;
  else c.results.push(r);
  c.results.sort((a, b) => a.start_ms - b.start_ms || a.channel - b.channel);
  const over = c.results.length - state.limits.utterances;
  if (over > 0) {
    c.results.splice(0, over);
    c.dropped = (c.dropped || 0) + over;
  }
}

// ---- login ----

function showLogin(error) {
  $('login').hidden = false;
  $('login-error').textContent = error;
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  $('token').focus();
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  route();
  connect();
});

// ---- routing and rendering ----

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  state.view = ['calls', 'dlq', 'system'].includes(parts[0]) ? parts[0] : 'calls';
  state.selected = state.view === 'calls' && parts[1] ? decodeURIComponent(parts[1]) : '';
  schedule();
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  setTimeout(() => { pending = false; render(); }, 30);
}

function render() {
  const locked = !$('login').hidden;
  for (const v of ['calls', 'dlq', 'system']) {
    $(`view-${v}`).hidden = locked || state.view !== v;
    $(`nav-${v}`).classList.toggle('active', state.view === v);
  }
  $('dlq-count').textContent = state.dlq.length ? String(state.dlq.length) : '';
  if (locked) return;
  if (state.view === 'calls') { renderCalls(); renderDetail(); }
  if (state.view === 'dlq') renderDLQ();
  if (state.view === 'system') renderSystem();
  document.body.dataset.rendered = String(Date.now());
}

function renderCalls() {
  const calls = [...state.calls.values()].sort((a, b) => Date.parse(b.updated) - Date.parse(a.updated));
  const ul = $('calls');
  ul.replaceChildren(...calls.map((c) => {
    const st = callState(c);
    const counts = {};
    for (const r of c.results) counts[r.label || 'unsupported'] = (counts[r.label || 'unsupported'] || 0) + 1;
    const dots = el('span', {class: 'dots'}, ...Object.keys(counts).sort().map((l) =>
      el('span', {class: `dot label-${l}`, title: `${counts[l]} ${l}`}, String(counts[l]))));
    const a = el('a', {href: `#/calls/${encodeURIComponent(c.call_id)}`},
      el('span', {class: 'call-id'}, c.call_id),
      el('span', {class: `state state-${st}`}, st),
      el('span', {class: 'meta'}, `${c.results.length} utt. · ${clock(c.updated)}`), dots);
    return el('li', {'data-call-id': c.call_id, 'data-state': st, class: c.call_id === state.selected ? 'selected' : ''}, a);
  }));
  $('calls-empty').hidden = calls.length > 0;
}

function renderDetail() {
  const box = $('call-detail');
  const c = state.calls.get(state.selected);
  if (!c) {
    box.replaceChildren(el('p', {class: 'empty'}, state.selected ? 'This call is no longer in the window.' : 'Select a call.'));
    return;
  }
  const roles = [...new Set(c.results.map((r) => r.role || 'unknown'))].sort();
  const langs = [...new Set(c.results.map((r) => r.language).filter(Boolean))];
  const st = callState(c);
  const head = el('header', {class: 'detail-head'},
    el('h2', {}, c.call_id),
    el('span', {class: `state state-${st}`}, st),
    el('span', {class: 'meta'}, `${c.results.length} utterances · ${roles.join(', ')} · ${langs.join(', ') || 'no language'}` +
      (c.dropped ? ` · ${c.dropped} earlier utterances not shown` : '')));
  const parts = [head, el('h3', {}, 'Timeline'), timeline(c, roles)];
  parts.push(el('h3', {}, c.summary ? 'Call summary: sentiment per role' : 'Sentiment per role (so far)'), trend(c, roles));
  if (c.summary) parts.push(summaryTable(c.summary));
  parts.push(el('h3', {}, 'Utterances'), el('div', {class: 'utterances'}, ...c.results.map(utterance)));
  box.replaceChildren(...parts);
  box.dataset.callId = c.call_id;
}

// timeline draws one lane per role; each utterance is a bar in its label's colour, as opaque as
// the label is confident.
function timeline(c, roles) {
  const W = 900, lane = 26, left = 90, H = roles.length * lane + 22;
  const end = Math.max(1000, ...c.results.map((r) => r.end_ms));
  const x = (ms) => left + (W - left - 10) * ms / end;
  const g = svg('svg', {class: 'timeline', viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img'});
  g.append(svgTitle(`Utterances of ${c.call_id} over time, one lane per role`));
  roles.forEach((role, i) => {
    const label = svg('text', {x: 4, y: i * lane + 17, class: 'lane-label'});
    label.textContent = role;
    g.append(label, svg('line', {x1: left, x2: W - 10, y1: i * lane + 13, y2: i * lane + 13, class: 'lane'}));
  });
  for (const r of c.results) {
    const i = roles.indexOf(r.role || 'unknown');
    const l = r.label || 'unsupported';
    const bar = svg('rect', {
      x: x(r.start_ms), y: i * lane + 4, width: Math.max(2, x(r.end_ms) - x(r.start_ms)), height: lane - 8, rx: 3,
      class: `bar label-${l}`, 'fill-opacity': (0.3 + 0.7 * confidence(r)).toFixed(2), 'data-label': l,
    });
    bar.append(svgTitle(`${r.role}: ${secs(r.start_ms)}–${secs(r.end_ms)} ${l}${r.label ? ' ' + pct(confidence(r)) : ''}`));
    g.append(bar);
  }
  const axis = svg('text', {x: W - 10, y: H - 4, class: 'axis', 'text-anchor': 'end'});
  axis.textContent = secs(end);
  g.append(axis);
  return g;
}

// trend plots, per role, positive minus negative score of each utterance against time (-1..1).
function trend(c, roles) {
  const W = 900, H = 180, left = 40, top = 10, bottom = 24;
  const end = Math.max(1000, ...c.results.map((r) => r.end_ms));
  const x = (ms) => left + (W - left - 110) * ms / end;
  const y = (v) => top + (H - top - bottom) * (1 - v) / 2;
  const g = svg('svg', {class: 'trend', viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img'});
  g.append(svgTitle(`Sentiment trend per role of ${c.call_id}: positive minus negative score`));
  for (const [v, name] of [[1, 'positive'], [0, 'neutral'], [-1, 'negative']]) {
    g.append(svg('line', {x1: left, x2: W - 110, y1: y(v), y2: y(v), class: v === 0 ? 'zero' : 'grid'}));
    const t = svg('text', {x: left - 4, y: y(v) + 4, class: 'axis', 'text-anchor': 'end'});
    t.textContent = name === 'neutral' ? '0' : (v > 0 ? '+1' : '−1');
    g.append(t);
  }
  roles.forEach((role, i) => {
    const pts = c.results.filter((r) => (r.role || 'unknown') === role && r.scores)
      .map((r) => [x((r.start_ms + r.end_ms) / 2), y((r.scores.positive || 0) - (r.scores.negative || 0))]);
    if (pts.length === 0) return;
    const cls = `role-line role-${i % 4}`;
    g.append(svg('path', {d: 'M' + pts.map((p) => p.map((n) => n.toFixed(1)).join(',')).join(' L'), class: cls, 'data-role': role}));
    for (const p of pts) g.append(svg('circle', {cx: p[0], cy: p[1], r: 3.5, class: cls}));
    const key = svg('text', {x: W - 100, y: top + 14 + 18 * i, class: `legend ${cls}`});
    key.textContent = `— ${role}`;
    g.append(key);
  });
  const axis = svg('text', {x: W - 110, y: H - 6, class: 'axis', 'text-anchor': 'end'});
  axis.textContent = secs(end);
  g.append(axis);
  return g;
}

function summaryTable(s) {
  const rows = Object.entries(s.mean_scores || {}).sort().map(([role, m]) =>
    el('tr', {}, el('td', {}, role), ...LABELS.map((l) => el('td', {class: `num label-text-${l}`}, pct(m[l])))));
  const counts = LABELS.concat(['unsupported']).filter((l) => s.counts && s.counts[l])
    .map((l) => `${s.counts[l]} ${l}`).join(' · ');
  const langs = Object.entries(s.languages || {}).map(([l, n]) => `${l} ${n}`).join(' · ');
  return el('div', {class: 'summary'},
    el('p', {}, `${s.utterances} utterances over ${secs(s.duration_ms)}: ${counts}. Languages: ${langs || 'none'}.`),
    el('table', {class: 'scores'},
      el('thead', {}, el('tr', {}, el('th', {}, 'Mean score'), ...LABELS.map((l) => el('th', {}, l)))),
      el('tbody', {}, ...rows)));
}

// transcriptNode puts the transcript in a paragraph with the evidence spans in <mark>. Evidence
// offsets count code points (Go runes), not UTF-16 units: the text is split with Array.from.
function transcriptNode(r) {
  const p = el('p', {class: 'transcript', lang: r.language || undefined});
  const cps = Array.from(r.transcript || '');
  const spans = (r.evidence || [])
    .filter((e) => Number.isInteger(e.start) && Number.isInteger(e.end) && e.start >= 0 && e.end > e.start && e.end <= cps.length)
    .sort((a, b) => a.start - b.start);
  // Shade by weight: the strongest third of the spans darkest.
  const top = Math.max(1e-9, ...spans.map((e) => Math.abs(Number(e.weight) || 0)));
  let at = 0;
  for (const e of spans) {
    if (e.start < at) continue; // overlapping spans: the first wins
    if (e.start > at) p.append(cps.slice(at, e.start).join(''));
    const w = Number(e.weight) || 0;
    const shade = 1 + Math.min(2, Math.floor(3 * Math.abs(w) / top - 1e-9));
    p.append(el('mark', {class: `w${shade}`, title: `evidence, weight ${w.toFixed(3)}`, 'data-weight': w.toFixed(3)},
      cps.slice(e.start, e.end).join('')));
    at = e.end;
  }
  if (at < cps.length) p.append(cps.slice(at).join(''));
  return p;
}

function utterance(r) {
  const l = r.label || 'unsupported';
  const lat = r.timings_ms && r.timings_ms.total !== undefined ? `${Math.round(r.timings_ms.total)} ms` : '–';
  const lang = r.language ? `${r.language} ${pct(r.language_confidence)}${r.language_supported ? '' : ' (not supported)'}` : 'unknown';
  return el('div', {class: `utterance label-border-${l}`, 'data-label': l, 'data-utterance-id': r.utterance_id},
    el('div', {class: 'utt-head'},
      el('span', {class: 'when'}, `${secs(r.start_ms)}–${secs(r.end_ms)}`),
      el('span', {class: 'role'}, r.role || 'unknown'),
      el('span', {class: `badge label-${l}`}, r.label ? `${r.label} ${pct(confidence(r))}` : 'no label'),
      el('span', {class: 'lang', title: `language (${r.language_source || 'none'})`}, lang),
      el('span', {class: 'latency', title: 'latency: arrival of the audio to publication'}, lat)),
    transcriptNode(r),
    r.rationale ? el('p', {class: 'rationale'}, r.rationale) : null);
}

function renderDLQ() {
  const rows = [...state.dlq].reverse().map((e) => el('tr', {'data-code': e.code, 'data-call-id': e.call_id},
    el('td', {}, clock(e.time)), el('td', {}, e.call_id), el('td', {}, el('span', {class: 'code'}, e.code)),
    el('td', {class: 'reason'}, e.reason), el('td', {}, e.stage || ''), el('td', {class: 'num'}, e.delivered || ''),
    el('td', {}, e.missing || '')));
  $('dlq').tBodies[0].replaceChildren(...rows);
  $('dlq-empty').hidden = rows.length > 0;
}

function card(title, rows, cls) {
  return el('section', {class: `card ${cls || ''}`}, el('h3', {}, title),
    el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
}

function renderSystem() {
  const s = state.status;
  if (!s) { $('system').replaceChildren(el('p', {class: 'empty'}, 'Waiting for figures.')); return; }
  const m = s.metrics || {};
  const health = el('section', {class: `card health ${s.ready ? 'ok' : 'bad'}`, 'data-ready': String(s.ready)},
    el('h3', {}, s.ready ? 'Ready' : 'Not ready'),
    el('ul', {class: 'checks'}, ...(s.checks || []).map((c) => el('li', {class: c.startsWith('[+]') ? 'ok' : 'bad'}, c))));
  const models = card('Models', Object.entries(s.models || {}).sort().map(([k, v]) => [k, v]), 'models');
  const published = Object.entries(m.results_published || {}).sort().map(([k, v]) => `${v} ${k}`).join(' · ') || '0';
  const through = card('Throughput', [
    ['Results, last minute (all instances)', String(s.results_per_minute)],
    ['Calls in progress / in the window', `${[...state.calls.values()].filter((c) => !c.summary).length} / ${state.calls.size}`],
    ['DLQ entries in the window', String(state.dlq.length)],
    ['Published by this instance', published],
    ['Inputs in flight', String(m.inputs_in_flight || 0)],
    ['Utterance latency p50 / p95', `${(m.latency_p50_seconds || 0).toFixed(2)} s / ${(m.latency_p95_seconds || 0).toFixed(2)} s`],
    ['Queue depth', Object.entries(m.queue_depth || {}).sort().map(([k, v]) => `${k} ${v}`).join(' · ') || '0'],
  ], 'throughput');
  const proc = card('Process', [
    ['Version', s.version || 'unknown'],
    ['Memory (RSS)', `${Math.round((m.resident_bytes || 0) / 1048576)} MB`],
    ['Goroutines', String(m.goroutines || 0)],
    ['DLQ publish failures', String(m.dlq_publish_failures || 0)],
    ['Figures taken', clock(s.time)],
  ], 'process');
  $('system').replaceChildren(health, models, through, proc);
}

window.addEventListener('hashchange', route);
setInterval(schedule, 10000); // live/idle states age
route();
connect();
