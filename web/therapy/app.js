// app.js: the therapy web client (seed 001), served by switchboard at /therapy/.
//
// Plain script, no framework, no build step. The wire contract is
// schema/therapy.lua (generated/docs/therapy.md); docs/protocols/therapy-web-client.md
// tells how the page behaves. Every user-supplied string reaches the DOM through
// textContent, never as markup.
'use strict';

(function () {
  const API = '/api/therapy';
  const POLL_MS = 5000;        // the seed's interval poll
  const LONG_WAIT_S = 25;      // getActions' wait in long-poll mode
  const MAX_BATCH = 100;       // saveActions items per call
  const RETRY_MS = 2000;       // after a failed poll or flush
  const ICONS = [
    { icon: 'heart', glyph: '\u2764\uFE0F', label: 'heart' },
    { icon: 'smile', glyph: '\u{1F60A}', label: 'smile' },
    { icon: 'sad', glyph: '\u{1F622}', label: 'sad' },
    { icon: 'angry', glyph: '\u{1F620}', label: 'angry' },
  ];
  const NAMED_KEYS = new Set(['Backspace', 'Delete', 'Enter']);

  const $ = (id) => document.getElementById(id);

  // Everything the page knows; reset on logout.
  const state = {
    user: null, name: '', role: null, csrf: null,
    sessions: [],
    ts: null,              // {id, name, date} of the entered therapy session
    participants: new Map(), // id -> {name, role}
    loop: 0,               // generation of the action loop; bumped to stop it
    abort: null,           // AbortController of the getActions in flight
    lastId: 0,
    queue: [],             // the ACTION QUEUE: items for saveActions
    flushing: null,        // the saveActions promise in flight
    flushScheduled: false, // long poll: a flush is due in this turn of the event loop
    messages: new Map(),   // id -> {id, user, body, recipients, target, timestamp, deleted, li}
    reactions: new Map(),  // message id -> Map(user -> icon)
    reads: new Map(),      // message id -> Set(user)
    readQueued: new Set(), // message ids this user's message_read was queued for
    replyTo: null,
    compose: { keys: [], start: 0, keyed: false },
    resendAt: 0,
    pending: null,         // {phone, last_name} of the login in progress
    countdownTimer: null,
    resendTimer: null,
    mode: 'poll',
  };

  // --- small helpers ---------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') e.textContent = v;
        else if (k === 'className') e.className = v;
        else if (k === 'hidden') e.hidden = true;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  function nameOf(id) {
    if (id === state.user) return state.name ? `${state.name} (you)` : 'You';
    const p = state.participants.get(id);
    return p && p.name ? p.name : id;
  }

  function fmtDate(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  function fmtTime(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function snippet(text, n = 80) {
    return text.length > n ? `${text.slice(0, n - 1)}…` : text;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // --- errors -----------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      const b = body && typeof body === 'object' ? body : {};
      super(b.result || `HTTP ${status}`);
      this.status = status;
      this.name = 'ApiError';
      this.error = b.error || '';
      this.result = b.result || `Request failed (HTTP ${status})`;
      this.retryAfter = Number.isInteger(b.retry_after) ? b.retry_after : 0;
    }
  }

  function clearError() {
    $('error').hidden = true;
    $('error').removeAttribute('data-error');
    $('error-text').textContent = '';
    stopCountdown();
  }

  function stopCountdown() {
    if (state.countdownTimer) clearInterval(state.countdownTimer);
    state.countdownTimer = null;
    $('countdown').hidden = true;
    $('countdown').textContent = '';
    for (const b of document.querySelectorAll('[data-blocked]')) {
      b.disabled = false;
      b.removeAttribute('data-blocked');
    }
  }

  /** Show an error answer's result; with retry_after, a countdown that keeps `block` disabled. */
  function showError(err, block) {
    const text = err instanceof ApiError ? err.result
      : `Cannot reach the server (${err && err.message ? err.message : err})`;
    stopCountdown();
    $('error-text').textContent = text;
    $('error').dataset.error = err instanceof ApiError ? (err.error || `HTTP_${err.status}`) : 'NETWORK';
    $('error').hidden = false;
    if (err instanceof ApiError && err.retryAfter > 0) {
      const until = Date.now() + err.retryAfter * 1000;
      for (const b of block || []) {
        b.disabled = true;
        b.setAttribute('data-blocked', '');
      }
      const tick = () => {
        const left = Math.ceil((until - Date.now()) / 1000);
        if (left <= 0) {
          stopCountdown();
          $('error-text').textContent = `${text} You may try again now.`;
          return;
        }
        $('countdown').hidden = false;
        $('countdown').dataset.seconds = String(left);
        $('countdown').textContent = `Try again in ${left} s.`;
      };
      tick();
      state.countdownTimer = setInterval(tick, 1000);
    }
  }

  // --- HTTP -------------------------------------------------------------------

  /**
   * One API call. POSTs after login carry X-CSRF-Token. A 401 AUTH_REQUIRED
   * (the session is gone) sends the page back to the login form; every other
   * error answer is thrown as an ApiError.
   */
  async function api(method, path, body, { csrf = true, signal, quiet401 = false } = {}) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
    if (method === 'POST') {
      headers['Content-Type'] = 'application/json';
      if (csrf && state.csrf) headers['X-CSRF-Token'] = state.csrf;
      if (body !== undefined) init.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, init);
    let json = null;
    try {
      json = await res.json();
    } catch {
      json = null;
    }
    if (!res.ok) {
      const err = new ApiError(res.status, json);
      if (res.status === 401 && err.error === 'AUTH_REQUIRED' && !quiet401) {
        sessionLost(err);
        err.handled = true;
      }
      throw err;
    }
    return json || {};
  }

  function sessionLost(err) {
    stopLoop();
    resetUser();
    showView('login');
    showError(err);
  }

  // --- views ------------------------------------------------------------------

  function showView(name) {
    for (const v of ['loading', 'login', 'code', 'home', 'chat']) $(`${v}-view`).hidden = v !== name;
    $('app').dataset.view = name;
    $('account').hidden = !state.user;
    if (state.user) $('whoami').textContent = `${state.name || state.user}${state.role ? ` · ${state.role}` : ''}`;
    const focus = { login: 'phone', code: 'code', chat: 'message-input' }[name];
    if (focus) $(focus).focus();
  }

  function resetUser() {
    state.user = null;
    state.name = '';
    state.role = null;
    state.csrf = null;
    state.ts = null;
    state.sessions = [];
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  }

  // --- login ------------------------------------------------------------------

  async function onLogin(ev) {
    ev.preventDefault();
    const phone = $('phone').value.trim();
    const lastName = $('last-name').value.trim();
    if (!phone || !lastName) {
      showError(new ApiError(400, { result: 'Enter your phone number and last name.', error: 'FORM' }));
      return;
    }
    await requestCode({ phone, last_name: lastName }, [$('login-submit')]);
  }

  async function requestCode(pending, block) {
    clearError();
    for (const b of block) b.disabled = true;
    try {
      const r = await api('POST', '/login', pending, { csrf: false });
      state.pending = pending;
      state.resendAt = Date.now() + (Number(r.resend_after) || 0) * 1000;
      $('login-result').textContent = r.result || 'A code has been sent by SMS.';
      $('code').value = '';
      showView('code');
      updateResend();
    } catch (e) {
      showError(e, block);
    } finally {
      for (const b of block) if (!b.hasAttribute('data-blocked')) b.disabled = false;
      updateResend();
    }
  }

  function updateResend() {
    if (state.resendTimer) clearTimeout(state.resendTimer);
    state.resendTimer = null;
    const btn = $('resend');
    if (btn.hasAttribute('data-blocked')) return;
    const left = Math.ceil((state.resendAt - Date.now()) / 1000);
    if (left > 0) {
      btn.disabled = true;
      $('resend-wait').textContent = `(possible in ${left} s)`;
      $('resend-wait').dataset.seconds = String(left);
      state.resendTimer = setTimeout(updateResend, 1000);
    } else {
      btn.disabled = false;
      $('resend-wait').textContent = '';
      $('resend-wait').dataset.seconds = '0';
    }
  }

  async function onVerify(ev) {
    ev.preventDefault();
    const code = $('code').value.trim();
    if (!/^[0-9]{6}$/.test(code)) {
      showError(new ApiError(400, { result: 'The code is 6 digits.', error: 'FORM' }));
      return;
    }
    clearError();
    $('verify-submit').disabled = true;
    try {
      const r = await api('POST', '/verifyCode', { code }, { csrf: false });
      state.csrf = r.csrf_token;
      state.user = r.user;
      state.pending = null;
      await loadSession();
      await goHome();
    } catch (e) {
      if (e instanceof ApiError && (e.error === 'INVALID_CODE' || e.error === 'TOO_MANY_ATTEMPTS')) {
        // the pending login is gone: start over with phone and last name
        showView('login');
        showError(e, [$('login-submit')]);
      } else {
        showError(e, [$('verify-submit')]);
      }
    } finally {
      if (!$('verify-submit').hasAttribute('data-blocked')) $('verify-submit').disabled = false;
    }
  }

  /** GET /session: who is logged in (name, role, CSRF token). */
  async function loadSession(quiet401 = false) {
    const r = await api('GET', '/session', undefined, { quiet401 });
    state.user = r.user;
    state.name = r.name || '';
    state.role = r.role || null;
    state.csrf = r.csrf_token;
    return r;
  }

  async function onLogout() {
    const csrf = state.csrf;
    stopLoop();
    try {
      if (csrf) await api('POST', '/logout', undefined);
    } catch (e) {
      if (!e.handled) showError(e);
    }
    resetUser();
    $('code').value = '';
    showView('login');
  }

  // --- home -------------------------------------------------------------------

  async function goHome() {
    stopLoop();
    state.ts = null;
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    showView('home');
    await loadSessions();
  }

  async function loadSessions() {
    try {
      const r = await api('GET', '/getTherapySessions');
      state.sessions = r.therapy_sessions || [];
      renderSessions();
    } catch (e) {
      if (!e.handled) showError(e);
    }
  }

  function renderAssessments(list, ul) {
    ul.replaceChildren();
    if (!list.length) ul.append(el('li', { className: 'muted', text: 'No assessments.' }));
    for (const a of list) {
      const li = el('li', { 'data-testid': 'assessment', 'data-name': a.name, 'data-status': a.status,
        className: `assessment ${a.status}` });
      li.append(el('span', { className: 'assessment-name', text: a.name }), ' ');
      li.append(el('span', { className: `badge ${a.status}`, 'data-testid': 'assessment-status',
        text: a.status === 'complete' ? 'complete' : 'to do' }));
      if (a.status !== 'complete' && a.url && /^https?:\/\//i.test(a.url)) {
        li.append(' ', el('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer',
          'data-testid': 'assessment-link', text: 'Complete it' }));
      }
      ul.append(li);
    }
  }

  function renderSessions() {
    const ul = $('sessions');
    ul.replaceChildren();
    $('no-sessions').hidden = state.sessions.length > 0;
    for (const s of state.sessions) {
      const li = el('li', { 'data-testid': 'session', 'data-ts-id': s.id, className: 'card' });
      li.append(el('h3', { text: s.name, 'data-testid': 'session-title' }));
      li.append(el('p', { className: 'muted', text: fmtDate(s.date) }));
      const open = (s.assessments || []).filter((a) => a.status !== 'complete').length;
      li.append(el('p', { className: 'action-items', 'data-testid': 'action-items',
        text: open ? `Action items: ${open} assessment${open > 1 ? 's' : ''} to complete` : 'No action items' }));
      const ul2 = el('ul', { className: 'plain', 'data-testid': 'assessments' });
      renderAssessments(s.assessments || [], ul2);
      li.append(ul2);
      const btn = el('button', { type: 'button', 'data-testid': 'enter-session', text: 'Enter session',
        'aria-label': `Enter ${s.name}` });
      btn.addEventListener('click', () => enterSession(s.id));
      li.append(btn);
      ul.append(li);
    }
  }

  // --- entering a therapy session -------------------------------------------------

  async function enterSession(tsId) {
    clearError();
    stopLoop();
    try {
      await api('POST', '/enterTherapySession', { ts_id: tsId });
    } catch (e) {
      if (!e.handled) showError(e);
      return;
    }
    resetChat();
    state.ts = { id: tsId, name: '', date: '' };
    history.replaceState(null, '', `${location.pathname}${location.search}#session-${tsId}`);
    showView('chat');
    try {
      await Promise.all([loadDetail(), loadAssessments()]);
    } catch (e) {
      if (!e.handled) showError(e);
      if (e.handled) return;
    }
    startLoop();
  }

  function resetChat() {
    state.lastId = 0;
    state.queue = [];
    state.messages.clear();
    state.reactions.clear();
    state.reads.clear();
    state.readQueued.clear();
    state.participants.clear();
    state.replyTo = null;
    resetCompose();
    $('messages').replaceChildren();
    $('whiteboard-status').hidden = true;
    $('replying').hidden = true;
    updateQueue();
  }

  async function loadDetail() {
    const r = await api('POST', '/getTherapySessionDetail', { ts_id: state.ts.id });
    state.ts = { id: state.ts.id, name: r.metadata.name, date: r.metadata.date };
    $('session-name').textContent = r.metadata.name;
    $('session-date').textContent = fmtDate(r.metadata.date);
    state.participants.clear();
    for (const p of r.participants || []) state.participants.set(p.id, { name: p.name, role: p.role });
    const me = state.participants.get(state.user);
    if (me && me.role) state.role = me.role;
    renderParticipants();
    renameAll();
  }

  async function loadAssessments() {
    const r = await api('POST', '/getTherapySessionAssessments', { ts_id: state.ts.id, p_id: state.user });
    renderAssessments(r.assessments || [], $('my-assessments'));
  }

  function renderParticipants() {
    const ul = $('participants');
    ul.replaceChildren();
    const box = $('recipient-list');
    box.replaceChildren();
    for (const [id, p] of state.participants) {
      ul.append(el('li', { 'data-testid': 'participant', 'data-user': id,
        text: `${p.name || id}${p.role === 'therapist' ? ' (therapist)' : ''}${id === state.user ? ' (you)' : ''}` }));
      if (id === state.user) continue;
      const cbId = `rcpt-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const cb = el('input', { type: 'checkbox', id: cbId, value: id, 'data-testid': 'recipient', 'data-user': id });
      const label = el('label', { for: cbId, className: 'chip' });
      label.append(cb, ` ${p.name || id}`);
      box.append(label);
    }
  }

  /** Names may arrive after the messages that use them (update_chat_details). */
  function renameAll() {
    for (const span of $('messages').querySelectorAll('[data-name-of]')) {
      span.textContent = nameOf(span.dataset.nameOf);
    }
    for (const m of state.messages.values()) {
      renderReads(m);
      renderPrivate(m);
    }
  }

  // --- the action loop ------------------------------------------------------------

  function stopLoop() {
    state.loop++;
    if (state.abort) state.abort.abort();
    state.abort = null;
    $('poll-status').textContent = '';
  }

  function startLoop() {
    stopLoop();
    const gen = state.loop;
    $('poll-status').dataset.mode = state.mode;
    if (state.mode === 'long') longLoop(gen);
    else pollLoop(gen);
  }

  /** The seed's loop: every 5 seconds, flush the queue, then get what is new. */
  async function pollLoop(gen) {
    while (gen === state.loop) {
      const ok = await tick(gen, 0);
      if (gen !== state.loop) return;
      setPollStatus(ok ? `Checked ${new Date().toLocaleTimeString()}` : 'Retrying…');
      await sleep(POLL_MS);
    }
  }

  /** Long poll: getActions holds until something happens; ask again at once. */
  async function longLoop(gen) {
    while (gen === state.loop) {
      setPollStatus('Live');
      const ok = await tick(gen, LONG_WAIT_S);
      if (gen !== state.loop) return;
      if (!ok) {
        setPollStatus('Retrying…');
        await sleep(RETRY_MS);
      }
    }
  }

  function setPollStatus(text) {
    $('poll-status').textContent = text;
    $('poll-status').dataset.lastId = String(state.lastId);
  }

  /** One round: flush the queue, then getActions. false when it failed. */
  async function tick(gen, wait) {
    try {
      await flush();
      if (gen !== state.loop) return true;
      const ctrl = new AbortController();
      state.abort = ctrl;
      const body = { last_action_id: state.lastId };
      if (wait) body.wait = wait;
      const r = await api('POST', '/getActions', body, { signal: ctrl.signal });
      if (state.abort === ctrl) state.abort = null;
      if (gen !== state.loop) return true;
      for (const a of r.actions || []) apply(a);
      if (Number.isInteger(r.max_id) && r.max_id > state.lastId) state.lastId = r.max_id;
      $('poll-status').dataset.lastId = String(state.lastId);
      $('poll-status').dataset.serverTime = String(r.server_time);
      if (!document.hidden) markVisibleRead();
      return true;
    } catch (e) {
      if (gen !== state.loop || (e && e.name === 'AbortError')) return true;
      if (e instanceof ApiError && e.error === 'NO_CURRENT_SESSION' && state.ts) {
        // the server-side session lost its current therapy session (entered
        // elsewhere, or another tab went home): enter it again, keep the chat
        try {
          await api('POST', '/enterTherapySession', { ts_id: state.ts.id });
          return false;
        } catch (e2) {
          if (!e2.handled) showError(e2);
          stopLoop();
          return false;
        }
      }
      if (!e.handled) showError(e);
      return false;
    }
  }

  function updateQueue() {
    const n = state.queue.length;
    $('queue-size').textContent = n ? `${n} action${n > 1 ? 's' : ''} waiting to be sent` : '';
    $('queue-size').dataset.count = String(n);
  }

  function enqueue(item) {
    state.queue.push(item);
    updateQueue();
    // long poll: send at once (the getActions in flight brings it back);
    // the 5-second poll sends with its next tick, as the seed does
    if (state.mode === 'long') flushSoon();
  }

  /**
   * Long poll: one saveActions for what is queued in this turn of the event
   * loop (a batch of read marks goes as one call); after a network error or
   * 5xx, try again in a moment rather than after the next long poll.
   */
  function flushSoon() {
    if (state.flushScheduled) return;
    state.flushScheduled = true;
    const gen = state.loop;
    setTimeout(() => {
      state.flushScheduled = false;
      if (gen !== state.loop || state.mode !== 'long') return;
      flush().catch((e) => {
        if (gen !== state.loop) return;
        if (!e.handled) showError(e);
        setTimeout(() => { if (gen === state.loop && state.queue.length) flushSoon(); }, RETRY_MS);
      });
    }, 0);
  }

  /**
   * saveActions, at most 100 items a call, one call at a time. A refused
   * batch (4xx) is dropped, or only its refused item when the answer names
   * one ("[i]..."); on a network error or 5xx the items stay for the next try.
   */
  function flush() {
    if (state.flushing) {
      return state.flushing.then(() => (state.queue.length ? flush() : undefined));
    }
    if (!state.queue.length) return Promise.resolve();
    state.flushing = (async () => {
      try {
        while (state.queue.length) {
          const batch = state.queue.slice(0, MAX_BATCH);
          try {
            await api('POST', '/saveActions', batch);
            state.queue.splice(0, batch.length);
          } catch (e) {
            if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429) {
              const m = /\[(\d+)\]/.exec(e.result);
              const i = m ? Number(m[1]) : -1;
              if (i >= 0 && i < batch.length && batch.length > 1) state.queue.splice(i, 1);
              else state.queue.splice(0, batch.length);
              if (!e.handled) showError(e);
              if (e.handled) { state.queue = []; break; }
              continue;
            }
            throw e;
          } finally {
            updateQueue();
          }
        }
      } finally {
        state.flushing = null;
      }
    })();
    return state.flushing;
  }

  // --- applying the server's actions ---------------------------------------------

  function apply(a) {
    switch (a.type) {
      case 'message': addMessage(a); break;
      case 'delete': deleteMessage(a.target); break;
      case 'reaction': {
        if (!state.reactions.has(a.target)) state.reactions.set(a.target, new Map());
        state.reactions.get(a.target).set(a.user, a.icon); // the latest per user wins
        const m = state.messages.get(a.target);
        if (m) renderReactions(m);
        break;
      }
      case 'message_read': {
        if (!state.reads.has(a.target)) state.reads.set(a.target, new Set());
        state.reads.get(a.target).add(a.user);
        if (a.user === state.user) state.readQueued.add(a.target);
        const m = state.messages.get(a.target);
        if (m) renderReads(m);
        break;
      }
      case 'notice': addNotice(a); break;
      case 'whiteboard':
        addSignal(a, 'The whiteboard was updated.');
        $('whiteboard-status').textContent = `Whiteboard updated at ${fmtTime(a.timestamp)}`;
        $('whiteboard-status').hidden = false;
        break;
      case 'update_assessments':
        addSignal(a, 'Your assessments were updated.');
        loadAssessments().catch((e) => { if (!e.handled) showError(e); });
        break;
      case 'update_chat_details':
        addSignal(a, 'The session details were updated.');
        loadDetail().catch((e) => { if (!e.handled) showError(e); });
        break;
      default:
        break; // a newer server's action: ignored
    }
  }

  function isPrivate(m) {
    return Array.isArray(m.recipients) && m.recipients.length > 0;
  }

  function canDelete(m) {
    return m.user === state.user || state.role === 'therapist';
  }

  function addMessage(a) {
    if (state.messages.has(a.id)) return;
    const m = { id: a.id, user: a.user, body: a.body, recipients: a.recipients || [], target: a.target ?? null,
      callout: a.callout || [], timestamp: a.timestamp, deleted: false };
    const mine = m.user === state.user;
    const li = el('li', { 'data-testid': 'message', 'data-id': m.id, 'data-user': m.user,
      'data-private': isPrivate(m) ? 'true' : 'false', 'data-deleted': 'false',
      className: `message${mine ? ' mine' : ''}${isPrivate(m) ? ' private' : ''}${m.callout.includes(state.user) ? ' mentioned' : ''}` });
    m.li = li;
    const head = el('div', { className: 'msg-head' });
    head.append(el('span', { className: 'author', 'data-testid': 'message-author', 'data-name-of': m.user,
      text: nameOf(m.user) }));
    head.append(el('time', { className: 'muted', datetime: m.timestamp, text: fmtTime(m.timestamp) }));
    m.privEl = el('span', { className: 'private-marker', 'data-testid': 'private-marker', hidden: !isPrivate(m) });
    head.append(m.privEl);
    li.append(head);
    if (m.target) {
      m.quoteEl = el('blockquote', { className: 'quote', 'data-testid': 'reply-quote', 'data-target': m.target });
      li.append(m.quoteEl);
      renderQuote(m);
    }
    m.bodyEl = el('p', { className: 'body', 'data-testid': 'message-body', text: m.body });
    li.append(m.bodyEl);
    m.reactEl = el('div', { className: 'reactions', 'data-testid': 'reactions', role: 'group',
      'aria-label': 'Reactions' });
    li.append(m.reactEl);
    const tools = el('div', { className: 'tools' });
    const reply = el('button', { type: 'button', className: 'link', 'data-testid': 'reply', text: 'Reply' });
    reply.addEventListener('click', () => startReply(m));
    tools.append(reply);
    if (canDelete(m)) {
      const del = el('button', { type: 'button', className: 'link danger', 'data-testid': 'delete', text: 'Delete' });
      del.addEventListener('click', () => {
        if (m.deleted) return;
        enqueue({ client_ts: new Date().toISOString(), type: 'delete', target: m.id });
        del.disabled = true;
      });
      tools.append(del);
    }
    m.toolsEl = tools;
    li.append(tools);
    m.readEl = el('p', { className: 'read-by muted', 'data-testid': 'read-by', hidden: true });
    li.append(m.readEl);
    state.messages.set(m.id, m);
    renderPrivate(m);
    renderReactions(m);
    renderReads(m);
    appendItem(li);
    // replies to this message that arrived earlier (none, in order) keep their quote fresh
    for (const other of state.messages.values()) if (other.target === m.id && other !== m) renderQuote(other);
  }

  function renderQuote(m) {
    const t = state.messages.get(m.target);
    const q = m.quoteEl;
    q.replaceChildren();
    if (!t) {
      q.append(el('span', { className: 'muted', text: `In reply to message ${m.target}` }));
    } else {
      q.append(el('span', { className: 'quote-author', 'data-name-of': t.user, text: nameOf(t.user) }), ': ');
      q.append(el('span', { className: t.deleted ? 'muted' : '', text: t.deleted ? 'deleted message' : snippet(t.body) }));
    }
  }

  function renderPrivate(m) {
    if (!isPrivate(m)) return;
    const names = m.recipients.map((id) => (id === state.user ? 'you' : nameOf(id)));
    m.privEl.textContent = `Private to ${names.join(', ')}`;
    m.privEl.dataset.recipients = m.recipients.join(',');
  }

  function renderReactions(m) {
    const box = m.reactEl;
    box.replaceChildren();
    if (m.deleted) return;
    const by = state.reactions.get(m.id) || new Map();
    const counts = new Map();
    for (const icon of by.values()) counts.set(icon, (counts.get(icon) || 0) + 1);
    const mineIcon = by.get(state.user);
    for (const { icon, glyph, label } of ICONS) {
      const n = counts.get(icon) || 0;
      const b = el('button', { type: 'button', className: `react${n ? ' has' : ''}`,
        'data-testid': `react-${icon}`, 'data-icon': icon, 'data-count': n,
        'aria-pressed': mineIcon === icon ? 'true' : 'false',
        'aria-label': `${label}: ${n}${mineIcon === icon ? ', yours' : ''}`, title: label });
      b.append(el('span', { 'aria-hidden': 'true', text: glyph }));
      b.append(el('span', { className: 'count', 'data-testid': 'reaction-count', 'aria-hidden': 'true', text: n ? String(n) : '' }));
      b.addEventListener('click', () => {
        enqueue({ client_ts: new Date().toISOString(), type: 'reaction', target: m.id, user: state.user, icon });
      });
      box.append(b);
    }
  }

  function renderReads(m) {
    const readers = [...(state.reads.get(m.id) || [])].filter((u) => u !== m.user);
    m.readEl.dataset.users = readers.join(',');
    if (!readers.length || m.deleted) {
      m.readEl.hidden = true;
      m.readEl.textContent = '';
      return;
    }
    m.readEl.hidden = false;
    m.readEl.textContent = `\u2713 Read by ${readers.map((u) => (u === state.user ? 'you' : nameOf(u))).join(', ')}`;
  }

  function deleteMessage(id) {
    const m = state.messages.get(id);
    if (!m || m.deleted) return;
    m.deleted = true;
    m.li.dataset.deleted = 'true';
    m.li.classList.add('deleted');
    m.bodyEl.textContent = 'This message was deleted.';
    m.bodyEl.classList.add('muted');
    if (m.quoteEl) m.quoteEl.remove();
    m.toolsEl.replaceChildren();
    renderReactions(m);
    renderReads(m);
    if (state.replyTo === id) cancelReply();
    for (const other of state.messages.values()) if (other.target === id && other.quoteEl) renderQuote(other);
  }

  function addNotice(a) {
    const li = el('li', { 'data-testid': 'notice', 'data-id': a.id, 'data-sender': a.sender,
      'data-private': a.recipients && a.recipients.length ? 'true' : 'false', className: `notice ${a.sender === 'Therapist' ? 'therapist' : 'system'}` });
    li.append(el('span', { className: 'notice-sender', text: a.sender === 'Therapist' ? 'Therapist' : 'System' }), ': ');
    li.append(el('span', { 'data-testid': 'notice-body', text: a.body }));
    li.append(' ', el('time', { className: 'muted', datetime: a.timestamp, text: fmtTime(a.timestamp) }));
    appendItem(li);
  }

  function addSignal(a, text) {
    appendItem(el('li', { 'data-testid': 'signal', 'data-id': a.id, 'data-type': a.type, className: 'signal',
      text: `${text} (${fmtTime(a.timestamp)})` }));
  }

  function appendItem(li) {
    const list = $('messages');
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(li);
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  /** Queue a message_read, once per message, for others' messages now shown. */
  function markVisibleRead() {
    for (const m of state.messages.values()) {
      if (m.user === state.user || m.deleted || state.readQueued.has(m.id)) continue;
      const readers = state.reads.get(m.id);
      if (readers && readers.has(state.user)) {
        state.readQueued.add(m.id);
        continue;
      }
      state.readQueued.add(m.id);
      enqueue({ client_ts: new Date().toISOString(), type: 'message_read', target: m.id, user: state.user });
    }
  }

  // --- composing --------------------------------------------------------------------

  function resetCompose() {
    state.compose = { keys: [], start: 0, keyed: false };
    $('message-input').value = '';
  }

  function noteKey(key) {
    if (!state.compose.start) state.compose.start = performance.now();
    if (state.compose.keys.length < 32768) state.compose.keys.push(key);
  }

  function onKeyDown(ev) {
    if (ev.isComposing) return;
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      $('composer').requestSubmit();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key.length === 1 || NAMED_KEYS.has(ev.key)) {
      noteKey(ev.key);
      state.compose.keyed = true;
    }
  }

  /** Text that came without keys (paste, autocomplete, an IME): its characters. */
  function onInput(ev) {
    if (state.compose.keyed) {
      state.compose.keyed = false;
      return;
    }
    if (ev.data) for (const ch of ev.data) noteKey(ch);
    else if (ev.inputType && ev.inputType.startsWith('delete')) noteKey('Backspace');
  }

  function onSend(ev) {
    ev.preventDefault();
    const body = $('message-input').value;
    if (!body.trim()) return;
    if (new TextEncoder().encode(body).length > 16384) {
      showError(new ApiError(400, { result: 'The message is too long (16384 bytes at most).', error: 'FORM' }));
      return;
    }
    const recipients = [...$('recipient-list').querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
    const ms = state.compose.start ? Math.max(0, Math.round(performance.now() - state.compose.start)) : 0;
    enqueue({
      client_ts: new Date().toISOString(),
      type: 'message',
      user: state.user,
      recipients,
      body,
      character_history: state.compose.keys.slice(),
      time_to_complete: `${ms}ms`,
      target: state.replyTo,
    });
    resetCompose();
    cancelReply();
    for (const c of $('recipient-list').querySelectorAll('input[type=checkbox]')) c.checked = false;
    $('message-input').focus();
  }

  function startReply(m) {
    if (m.deleted) return;
    state.replyTo = m.id;
    $('replying-text').textContent = `Replying to ${nameOf(m.user)}: ${snippet(m.body, 60)}`;
    $('replying').dataset.target = String(m.id);
    $('replying').hidden = false;
    $('message-input').focus();
  }

  function cancelReply() {
    state.replyTo = null;
    $('replying').hidden = true;
    delete $('replying').dataset.target;
  }

  // --- start -------------------------------------------------------------------------

  function modeFromUrl() {
    const m = new URLSearchParams(location.search).get('mode');
    return m === 'long' ? 'long' : 'poll';
  }

  function onModeChange() {
    state.mode = $('mode').value === 'long' ? 'long' : 'poll';
    const q = new URLSearchParams(location.search);
    q.set('mode', state.mode);
    history.replaceState(null, '', `${location.pathname}?${q}${location.hash}`);
    if (state.ts) startLoop();
  }

  async function boot() {
    state.mode = modeFromUrl();
    $('mode').value = state.mode;
    $('login-form').addEventListener('submit', onLogin);
    $('code-form').addEventListener('submit', onVerify);
    $('resend').addEventListener('click', () => {
      if (state.pending) requestCode(state.pending, [$('resend')]);
    });
    $('start-over').addEventListener('click', () => {
      clearError();
      state.pending = null;
      showView('login');
    });
    $('logout').addEventListener('click', onLogout);
    $('back-home').addEventListener('click', () => { clearError(); goHome(); });
    $('refresh-home').addEventListener('click', () => { clearError(); loadSessions(); });
    $('composer').addEventListener('submit', onSend);
    $('message-input').addEventListener('keydown', onKeyDown);
    $('message-input').addEventListener('input', onInput);
    $('cancel-reply').addEventListener('click', cancelReply);
    $('mode').addEventListener('change', onModeChange);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && state.ts) markVisibleRead();
    });

    let who;
    try {
      who = await loadSession(true); // 401 here: simply not logged in
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) showError(e);
      resetUser();
      showView('login');
      return;
    }
    const m = /^#session-(\d+)$/.exec(location.hash);
    const tsId = m ? Number(m[1]) : 0;
    if (tsId && who.ts_id === tsId) {
      await enterSession(tsId);
    } else {
      await goHome();
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
