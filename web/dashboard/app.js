// app.js: the case dashboard (seed 000), served by switchboard at /dashboard/.
//
// Plain script, no framework, no build step. The wire contract is
// schema/dashboard.lua (generated/docs/dashboard.md); docs/protocols/dashboard-web-client.md
// tells how the page behaves. Everything the server sends reaches the DOM through
// textContent and setAttribute (charts are SVG elements made with createElementNS),
// never as markup.
//
// Opened as /dashboard/?case_id=1&user_id=42&auth_ticket=T (or fin_session_id=F
// instead of the ticket). The ticket is traded for a fin_session_id once; the session
// is kept in sessionStorage and both secrets leave the address bar.
'use strict';

(function () {
  const PING_MS = 25000;        // request_ping interval
  const BACKOFF_MIN_MS = 500;   // first reconnect delay ...
  const BACKOFF_MAX_MS = 30000; // ... doubling up to this
  const SVG_NS = 'http://www.w3.org/2000/svg';
  // Components whose content is another page (an <iframe> of src).
  const FRAME_COMPONENTS = new Set(['IFRAMEComponent', 'ChatComponent']);
  // Components drawn from GET /api/v1/components/{id}.
  const DATA_COMPONENTS = new Set([
    'TimelineComponent', 'SquareComponent', 'WaterfallComponent', 'BarchartComponent', 'ButterflyComponent',
  ]);

  const $ = (id) => document.getElementById(id);

  const state = {
    caseId: '',
    userId: '',
    session: '',
    ws: null,
    opened: false,        // did the current socket open?
    stale: false,         // pushes may have been missed (a new socket): refetch on init_data
    attempt: 0,           // reconnects since the last open (drives the backoff)
    retryTimer: null,
    pingTimer: null,
    stopped: false,       // expired: no more retries
    layout: '',
    components: new Map(), // id -> {comp, el, body, gen, key}
  };

  // --- small helpers ---------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    if (tag === 'svg' && attrs && attrs.viewBox) {
      // A chart's natural size is 1.4 times its viewBox; CSS shrinks it to fit the card
      // (max-width: 100%) but never blows its text up on a wide one.
      const [, , w, h] = String(attrs.viewBox).split(' ').map(Number);
      e.setAttribute('width', String(Math.round(w * 1.4)));
      e.setAttribute('height', String(Math.round(h * 1.4)));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }

  const isStr = (v) => typeof v === 'string';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const fmtNum = (v) => (Math.round(v * 100) / 100).toLocaleString();

  function storageKey() {
    return `sb.dashboard.session:${state.caseId}:${state.userId}`;
  }

  function setStatus(status, text) {
    $('root').setAttribute('data-status', status);
    $('status-text').textContent = text;
  }

  function showError(text) {
    $('error').textContent = text;
    $('error').hidden = !text;
  }

  // --- session -----------------------------------------------------------------

  /** The fin_session_id: from the URL's ticket (traded once), the URL, or sessionStorage. */
  async function obtainSession(params) {
    const ticket = params.get('auth_ticket');
    const fromUrl = params.get('fin_session_id');
    // The secrets leave the address bar (and the history) at once; case and user stay,
    // so a reload finds the session in sessionStorage.
    if (ticket !== null || fromUrl !== null) {
      const clean = new URL(location.href);
      clean.searchParams.delete('auth_ticket');
      clean.searchParams.delete('fin_session_id');
      history.replaceState(null, '', clean.pathname + clean.search + clean.hash);
    }
    if (ticket) {
      let r;
      try {
        r = await fetch('/auth_handshake', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ auth_ticket: ticket, case_id: state.caseId, user_id: state.userId }),
          cache: 'no-store',
        });
      } catch (e) {
        throw new Error(`The server cannot be reached (${e.message}). Reload the page to try again.`);
      }
      const body = await r.json().catch(() => ({}));
      if (r.ok && body && isStr(body.fin_session_id)) {
        sessionStorage.setItem(storageKey(), body.fin_session_id);
        return body.fin_session_id;
      }
      // A used ticket (a reload of the page that traded it) is fine if its session is kept.
      const kept = sessionStorage.getItem(storageKey());
      if (kept) return kept;
      const why = body && isStr(body.error) ? body.error : `HTTP ${r.status}`;
      const err = new Error(`Sign-in failed: ${why}. Ask for a new link to the dashboard.`);
      err.expired = true;
      throw err;
    }
    if (fromUrl) {
      sessionStorage.setItem(storageKey(), fromUrl);
      return fromUrl;
    }
    const kept = sessionStorage.getItem(storageKey());
    if (kept) return kept;
    const err = new Error('No session for this dashboard: open it with the link you were given.');
    err.expired = true;
    throw err;
  }

  function sessionQuery(extra) {
    const q = new URLSearchParams({ case_id: state.caseId, fin_session_id: state.session, user_id: state.userId });
    if (extra) for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return q.toString();
  }

  /** The session is gone: say so, close, retry nothing. */
  function expire(text) {
    state.stopped = true;
    clearTimeout(state.retryTimer);
    stopPing();
    if (state.ws) {
      state.ws.onclose = null;
      state.ws.close();
      state.ws = null;
    }
    sessionStorage.removeItem(storageKey());
    setStatus('expired', 'Session expired');
    showError(text || 'Your session has expired. Open the dashboard again with a new link.');
  }

  // --- the WebSocket -----------------------------------------------------------

  function connect() {
    if (state.stopped) return;
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/v1/ws?${sessionQuery()}`;
    setStatus('connecting', state.attempt ? `Reconnecting (attempt ${state.attempt + 1})…` : 'Connecting…');
    state.opened = false;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      showError(`Cannot open the connection: ${e.message}`);
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    ws.onopen = () => {
      state.opened = true;
      state.attempt = 0;
      state.stale = true;
      showError('');
      setStatus('open', 'Live');
      // init_data comes on its own; one ping now shows the round trip, then every 25 s.
      ping();
      stopPing();
      state.pingTimer = setInterval(ping, PING_MS);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && typeof msg === 'object') handle(msg);
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      stopPing();
      if (state.stopped) return;
      setStatus('closed', 'Disconnected');
      afterClose();
    };
  }

  /** A socket closed (or never opened): is the session still good? Then retry later. */
  async function afterClose() {
    let r = null;
    try {
      r = await fetch(`/api/v1/init_data?${sessionQuery()}`, { cache: 'no-store' });
    } catch { /* the server is away: retry */ }
    if (state.stopped) return;
    if (r && (r.status === 401 || r.status === 403)) {
      const body = await r.json().catch(() => ({}));
      expire(`Your session has ended (${body && isStr(body.error) ? body.error : `HTTP ${r.status}`}). ` +
        'Open the dashboard again with a new link.');
      return;
    }
    scheduleReconnect();
  }

  /** Exponential backoff with jitter: 0.5 s doubling to 30 s, each wait between half and all of it. */
  function scheduleReconnect() {
    if (state.stopped || state.retryTimer) return;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(state.attempt, 16));
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    state.attempt++;
    $('root').setAttribute('data-retry-ms', String(delay));
    setStatus('closed', `Disconnected; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    state.retryTimer = setTimeout(connect, delay);
  }

  function ping() {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ action: 'request_ping' }));
  }

  function stopPing() {
    if (state.pingTimer) clearInterval(state.pingTimer);
    state.pingTimer = null;
  }

  // --- pushes --------------------------------------------------------------------

  function handle(msg) {
    const data = msg.data && typeof msg.data === 'object' ? msg.data : {};
    switch (msg.action) {
      case 'init_data':
        renderDashboard(data);
        break;
      case 'request_component_refresh':
        if (isStr(data.component_id)) refreshComponent(data.component_id, isStr(data.key) ? data.key : null);
        break;
      case 'request_iframe_url':
        if (isStr(data.component_id) && isStr(data.iframe_source)) setIframeSource(data.component_id, data.iframe_source);
        break;
      case 'pong': {
        const t = isNum(data.server_time) ? new Date(data.server_time) : new Date();
        $('pong').textContent = `last pong ${t.toLocaleTimeString()}`;
        $('root').setAttribute('data-last-pong', String(isNum(data.server_time) ? data.server_time : Date.now()));
        break;
      }
      default:
        break; // an action this page does not know: ignored
    }
  }

  // --- layout and components ---------------------------------------------------

  /** init_data: the layout, then each component kept, replaced, moved, added or removed. */
  function renderDashboard(data) {
    const dsettings = data.dsettings && typeof data.dsettings === 'object' ? data.dsettings : {};
    state.layout = isStr(dsettings.layout_type) ? dsettings.layout_type : 'view_standard_3';
    $('root').setAttribute('data-layout', state.layout);
    $('board').setAttribute('data-layout', state.layout);
    const list = Array.isArray(data.components) ? data.components : [];
    const seen = new Set();
    // The first init_data of a socket: refresh pushes sent while there was none were
    // missed, so every kept data component fetches its data again (with its last key).
    const refetch = state.stale;
    state.stale = false;
    for (const c of list) {
      if (!c || typeof c !== 'object' || !isStr(c.id) || seen.has(c.id)) continue;
      seen.add(c.id);
      const comp = {
        id: c.id,
        type: isStr(c.type) ? c.type : '',
        name: isStr(c.component_name) ? c.component_name : '',
        position: isStr(c.position) ? c.position : '',
        src: isStr(c.src) ? c.src : null,
      };
      const have = state.components.get(comp.id);
      if (have && have.comp.name === comp.name && have.comp.type === comp.type) {
        // The same component: it moves by its data-position (CSS grid), so an iframe
        // is not reloaded and a chart is not refetched.
        have.comp.position = comp.position;
        have.el.setAttribute('data-position', comp.position);
        if (FRAME_COMPONENTS.has(comp.name) && comp.src !== have.comp.src) {
          have.comp.src = comp.src;
          loadFrame(have, comp.src, false);
        }
        if (refetch && DATA_COMPONENTS.has(comp.name)) fetchData(have, have.key);
        continue;
      }
      if (have) have.el.remove();
      createComponent(comp);
    }
    for (const [id, c] of state.components) {
      if (!seen.has(id)) {
        c.el.remove();
        state.components.delete(id);
      }
    }
  }

  function createComponent(comp) {
    const title = el('h2', { class: 'card-title', text: comp.id, 'data-testid': 'component-title' });
    const body = el('div', { class: 'card-body', 'data-testid': 'component-body' });
    const note = el('p', { class: 'card-note muted', 'data-testid': 'component-note' });
    const card = el('section', {
      class: 'card',
      'data-testid': 'component',
      'data-component-id': comp.id,
      'data-component-name': comp.name,
      'data-type': comp.type,
      'data-position': comp.position,
    }, title, note, body);
    const entry = { comp, el: card, body, note, title, gen: 0, key: null, reloads: 0 };
    state.components.set(comp.id, entry);
    $('board').append(card);
    if (FRAME_COMPONENTS.has(comp.name)) {
      card.classList.add('card-frame');
      loadFrame(entry, comp.src, false);
    } else if (DATA_COMPONENTS.has(comp.name)) {
      card.setAttribute('data-marks', '0');
      card.setAttribute('data-state', 'loading');
      fetchData(entry, null);
    } else {
      note.textContent = `Unsupported component: ${comp.name || '(none)'}`;
      card.setAttribute('data-state', 'unsupported');
    }
  }

  function refreshComponent(id, key) {
    const entry = state.components.get(id);
    if (!entry) return;
    if (FRAME_COMPONENTS.has(entry.comp.name)) {
      loadFrame(entry, entry.comp.src, true);
      if (key !== null) entry.el.setAttribute('data-key', key);
    } else if (DATA_COMPONENTS.has(entry.comp.name)) {
      fetchData(entry, key);
    }
  }

  function setIframeSource(id, src) {
    const entry = state.components.get(id);
    if (!entry || !FRAME_COMPONENTS.has(entry.comp.name)) return;
    entry.comp.src = src;
    loadFrame(entry, src, false);
  }

  // --- iframes -------------------------------------------------------------------

  /** The URL the iframe loads: only http(s); this server's own pages get the session. */
  function frameUrl(src) {
    let u;
    try { u = new URL(src, location.href); } catch { return null; }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (u.origin === location.origin) {
      u.searchParams.set('fin_session_id', state.session);
      u.searchParams.set('user_id', state.userId);
      if (!u.searchParams.has('case_id')) u.searchParams.set('case_id', state.caseId);
    }
    return u.href;
  }

  function loadFrame(entry, src, reload) {
    const card = entry.el;
    const url = src ? frameUrl(src) : null;
    card.setAttribute('data-src', src || '');
    if (!url) {
      entry.body.replaceChildren();
      entry.frame = null;
      entry.note.textContent = src ? 'This component\'s address is not an http(s) URL.' : 'Nothing to show yet.';
      card.setAttribute('data-state', src ? 'invalid' : 'empty');
      return;
    }
    entry.note.textContent = '';
    card.setAttribute('data-state', 'ready');
    let frame = entry.frame;
    if (!frame) {
      // Sandboxed: a foreign page runs its scripts but cannot navigate the dashboard;
      // popups (the button view's links) open unsandboxed in a new tab.
      frame = el('iframe', {
        class: 'frame',
        'data-testid': 'component-frame',
        title: entry.comp.id,
        referrerpolicy: 'no-referrer',
        sandbox: 'allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox',
      });
      entry.body.replaceChildren(frame);
      entry.frame = frame;
    }
    entry.reloads += reload ? 1 : 0;
    card.setAttribute('data-reloads', String(entry.reloads));
    // Assigning src, even the same one, loads the page again (a cross-origin frame
    // cannot be reloaded any other way).
    frame.src = url;
  }

  // --- data components -----------------------------------------------------------

  async function fetchData(entry, key) {
    const gen = ++entry.gen;
    const q = { case_id: state.caseId, fin_session_id: state.session };
    if (key !== null) q.key = key;
    let r;
    let body;
    try {
      r = await fetch(`/api/v1/components/${encodeURIComponent(entry.comp.id)}?${new URLSearchParams(q)}`,
        { cache: 'no-store' });
      body = await r.json().catch(() => null);
    } catch (e) {
      if (gen !== entry.gen) return;
      entry.note.textContent = `Could not load the data (${e.message}).`;
      entry.el.setAttribute('data-state', 'error');
      return;
    }
    if (gen !== entry.gen || !state.components.has(entry.comp.id)) return; // a newer fetch or a removed card
    if (key !== null) {
      entry.key = key;
      entry.el.setAttribute('data-key', key);
    }
    if (r.status === 404) {
      draw(entry, null);
      entry.note.textContent = 'No data yet.';
      entry.el.setAttribute('data-state', 'empty');
      return;
    }
    if (r.status === 401 || r.status === 403) {
      entry.note.textContent = 'Not allowed: the session has ended.';
      entry.el.setAttribute('data-state', 'error');
      afterCloseCheck();
      return;
    }
    if (!r.ok || body === null) {
      entry.note.textContent = `Could not load the data (${body && isStr(body.error) ? body.error : `HTTP ${r.status}`}).`;
      entry.el.setAttribute('data-state', 'error');
      return;
    }
    draw(entry, body);
  }

  /** A 401 on a component: the session may be gone; the probe decides. */
  function afterCloseCheck() {
    fetch(`/api/v1/init_data?${sessionQuery()}`, { cache: 'no-store' }).then((r) => {
      if (r.status === 401 || r.status === 403) expire();
    }).catch(() => {});
  }

  const DRAWERS = {
    TimelineComponent: drawTimeline,
    SquareComponent: drawTable,
    BarchartComponent: (d) => drawBars(d, false),
    WaterfallComponent: (d) => drawBars(d, true),
    ButterflyComponent: drawButterfly,
  };

  /** Draw `data` into the card; data-marks is the number of marks drawn (points, rows, bars). */
  function draw(entry, data) {
    const card = entry.el;
    if (data === null) {
      entry.body.replaceChildren();
      card.setAttribute('data-marks', '0');
      return;
    }
    const out = DRAWERS[entry.comp.name](data && typeof data === 'object' ? data : {});
    entry.title.textContent = data && isStr(data.title) && data.title ? data.title : entry.comp.id;
    if (!out) {
      entry.body.replaceChildren();
      entry.note.textContent = 'The data does not have the shape this component draws.';
      card.setAttribute('data-marks', '0');
      card.setAttribute('data-state', 'invalid');
      return;
    }
    entry.note.textContent = out.marks ? '' : 'Nothing to show.';
    entry.body.replaceChildren(out.node);
    card.setAttribute('data-marks', String(out.marks));
    card.setAttribute('data-state', 'ready');
  }

  /** timeline: {title, events: [{time, label}]}: points on a time axis, labels beside them. */
  function drawTimeline(d) {
    if (!Array.isArray(d.events)) return null;
    const events = d.events
      .filter((e) => e && typeof e === 'object' && isStr(e.time))
      .map((e) => ({ t: Date.parse(e.time), time: e.time, label: isStr(e.label) ? e.label : '' }))
      .filter((e) => Number.isFinite(e.t))
      .sort((a, b) => a.t - b.t);
    const rowH = 28;
    const h = Math.max(1, events.length) * rowH + 10;
    const root = svg('svg', {
      class: 'chart timeline', viewBox: `0 0 400 ${h}`, preserveAspectRatio: 'xMinYMin meet', role: 'img', 'aria-label': 'Timeline',
    });
    root.append(svg('line', { class: 'axis', x1: 110, y1: 5, x2: 110, y2: h - 5 }));
    events.forEach((e, i) => {
      const y = 5 + rowH / 2 + i * rowH;
      const when = new Date(e.t);
      root.append(
        svg('text', { class: 'tick', x: 100, y: y + 4, 'text-anchor': 'end', text: when.toLocaleDateString() }),
        svg('circle', { class: 'mark', 'data-testid': 'mark', cx: 110, cy: y, r: 5 },
          svg('title', { text: `${e.time} ${e.label}` })),
        svg('text', { class: 'label', x: 122, y: y + 4, text: `${when.toLocaleTimeString()}  ${e.label}` }),
      );
    });
    return { node: root, marks: events.length };
  }

  /** square: {title, columns: [..], rows: [[..], ..]}: a table. */
  function drawTable(d) {
    if (!Array.isArray(d.rows)) return null;
    const cols = Array.isArray(d.columns) ? d.columns.map((c) => cellText(c)) : [];
    const table = el('table', { class: 'table', 'data-testid': 'table' });
    if (cols.length) table.append(el('thead', null, el('tr', null, ...cols.map((c) => el('th', { scope: 'col', text: c })))));
    const tbody = el('tbody');
    let marks = 0;
    for (const row of d.rows) {
      const cells = Array.isArray(row) ? row : row && typeof row === 'object' ? cols.map((c) => row[c]) : [row];
      tbody.append(el('tr', { class: 'mark', 'data-testid': 'mark' },
        ...cells.map((v) => el('td', { class: isNum(v) ? 'num' : null, text: cellText(v) }))));
      marks++;
    }
    table.append(tbody);
    return { node: el('div', { class: 'table-wrap' }, table), marks };
  }

  function cellText(v) {
    if (v === null || v === undefined) return '';
    if (isNum(v)) return fmtNum(v);
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }

  /** barchart / waterfall: {title, bars: [{label, value}]}; a waterfall's values are
   *  deltas, each bar floating from the running total before it to the one after. */
  function drawBars(d, waterfall) {
    if (!Array.isArray(d.bars)) return null;
    const bars = d.bars.filter((b) => b && typeof b === 'object' && isNum(b.value))
      .map((b) => ({ label: isStr(b.label) ? b.label : '', value: b.value }));
    let total = 0;
    const spans = bars.map((b) => {
      const from = waterfall ? total : 0;
      total = waterfall ? total + b.value : b.value;
      return { ...b, from, to: waterfall ? total : b.value };
    });
    const lo = Math.min(0, ...spans.map((s) => Math.min(s.from, s.to)));
    const hi = Math.max(0, ...spans.map((s) => Math.max(s.from, s.to)));
    const W = 400;
    const H = 200;
    const top = 16;
    const bottom = 24;
    const plot = H - top - bottom;
    const y = (v) => top + (hi === lo ? plot : ((hi - v) / (hi - lo)) * plot);
    const slot = W / Math.max(1, spans.length);
    const root = svg('svg', {
      class: `chart ${waterfall ? 'waterfall' : 'barchart'}`, viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': waterfall ? 'Waterfall chart' : 'Bar chart',
    });
    root.append(svg('line', { class: 'axis', x1: 0, y1: y(0), x2: W, y2: y(0) }));
    spans.forEach((s, i) => {
      const x = i * slot + slot * 0.15;
      const y1 = y(Math.max(s.from, s.to));
      const h = Math.max(1, Math.abs(y(s.from) - y(s.to)));
      const dir = s.to >= s.from ? 'up' : 'down';
      root.append(
        svg('rect', { class: `mark ${dir}`, 'data-testid': 'mark', x, y: y1, width: slot * 0.7, height: h },
          svg('title', { text: `${s.label}: ${fmtNum(s.value)}` })),
        svg('text', { class: 'value', x: x + slot * 0.35, y: y1 - 3, 'text-anchor': 'middle', text: fmtNum(s.value) }),
        svg('text', { class: 'tick', x: x + slot * 0.35, y: H - 8, 'text-anchor': 'middle', text: s.label }),
      );
      if (waterfall && i + 1 < spans.length) {
        root.append(svg('line', { class: 'connector', x1: x + slot * 0.7, y1: y(s.to), x2: x + slot, y2: y(s.to) }));
      }
    });
    return { node: root, marks: spans.length };
  }

  /** butterfly: {title, rows: [{label, left, right}]}: two bars per row, back to back. */
  function drawButterfly(d) {
    if (!Array.isArray(d.rows)) return null;
    const rows = d.rows.filter((r) => r && typeof r === 'object')
      .map((r) => ({ label: isStr(r.label) ? r.label : '', left: isNum(r.left) ? Math.abs(r.left) : 0, right: isNum(r.right) ? Math.abs(r.right) : 0 }));
    const max = Math.max(1e-9, ...rows.map((r) => Math.max(r.left, r.right)));
    const W = 400;
    const rowH = 22;
    const H = Math.max(1, rows.length) * rowH + 8;
    const mid = W / 2;
    const half = mid - 40; // room for the labels in the middle
    const root = svg('svg', {
      class: 'chart butterfly', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'xMidYMin meet', role: 'img', 'aria-label': 'Butterfly chart',
    });
    rows.forEach((r, i) => {
      const yy = 4 + i * rowH;
      const lw = (r.left / max) * half;
      const rw = (r.right / max) * half;
      root.append(
        svg('rect', { class: 'mark left', 'data-testid': 'mark', x: mid - 30 - lw, y: yy, width: Math.max(1, lw), height: rowH - 6 },
          svg('title', { text: `${r.label}: ${fmtNum(r.left)}` })),
        svg('rect', { class: 'mark right', 'data-testid': 'mark', x: mid + 30, y: yy, width: Math.max(1, rw), height: rowH - 6 },
          svg('title', { text: `${r.label}: ${fmtNum(r.right)}` })),
        svg('text', { class: 'tick', x: mid, y: yy + rowH / 2 + 1, 'text-anchor': 'middle', text: r.label }),
      );
    });
    return { node: root, marks: rows.length * 2 };
  }

  // --- start -----------------------------------------------------------------------

  async function start() {
    const params = new URLSearchParams(location.search);
    state.caseId = params.get('case_id') || '';
    state.userId = params.get('user_id') || '';
    $('case-label').textContent = state.caseId;
    if (!state.caseId || !state.userId) {
      setStatus('error', 'Cannot start');
      showError('The address needs case_id and user_id (and an auth_ticket): open the dashboard with the link you were given.');
      return;
    }
    try {
      state.session = await obtainSession(params);
    } catch (e) {
      state.stopped = true;
      setStatus(e.expired ? 'expired' : 'error', e.expired ? 'Session expired' : 'Cannot start');
      showError(e.message);
      return;
    }
    // Back online after a network loss: try at once instead of waiting out the backoff.
    window.addEventListener('online', () => {
      if (!state.ws && !state.stopped) connect();
    });
    connect();
  }

  start();
})();
