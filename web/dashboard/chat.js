// chat.js: the case's chat room, the page the dashboard's chat component frames
// (served at /api/v1/get_chat?case_id=1&fin_session_id=F).
//
// The dashboard session is traded for a chat token (GET /api/v1/chat_access), then it
// is seed 003's chat: the history over REST, live messages over /ws/chat
// (docs/protocols/chat.md). Messages reach the DOM through textContent only.
'use strict';

(function () {
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const HEARTBEAT_MS = 25000;
  const HISTORY_LIMIT = 50;

  const $ = (id) => document.getElementById(id);

  const state = {
    caseId: '',
    session: '',
    token: '',
    roomId: '',
    userId: '',
    ws: null,
    attempt: 0,
    retryTimer: null,
    beatTimer: null,
    lastId: 0n,           // the newest message id seen (ids are decimal strings, growing)
    messages: new Map(),  // id -> li
    pending: new Map(),   // client_message_id -> li (sent, not yet stored)
    seq: 0,
    stopped: false,
  };

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') e.textContent = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  const isStr = (v) => typeof v === 'string';
  const isId = (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0) || (isStr(v) && /^[0-9]+$/.test(v));

  function setStatus(status, text) {
    $('chat').setAttribute('data-status', status);
    $('chat-status').textContent = text;
  }

  function showError(text) {
    $('error').textContent = text;
    $('error').hidden = !text;
  }

  function idOf(s) {
    try { return BigInt(s); } catch { return 0n; }
  }

  // --- access ------------------------------------------------------------------

  /** GET /api/v1/chat_access: {token, room_id, user_id, expires_in}, or an Error to show. */
  async function access() {
    const q = new URLSearchParams({ case_id: state.caseId, fin_session_id: state.session });
    let r;
    try {
      r = await fetch(`/api/v1/chat_access?${q}`, { cache: 'no-store' });
    } catch (e) {
      const err = new Error(`The server cannot be reached (${e.message}).`);
      err.retry = true;
      throw err;
    }
    const body = await r.json().catch(() => ({}));
    // room_id and user_id are integers on this wire (strings in the chat protocol): kept as strings
    if (r.ok && body && isStr(body.token) && isId(body.room_id)) {
      return { ...body, room_id: String(body.room_id), user_id: isId(body.user_id) ? String(body.user_id) : '' };
    }
    const why = body && isStr(body.error) ? body.error : `HTTP ${r.status}`;
    let text;
    if (r.status === 404) text = `No chat room for this case (${why}).`;
    else if (r.status === 401 || r.status === 403) text = `The session has ended (${why}). Open the dashboard again.`;
    else text = `The chat is not available (${why}).`;
    const err = new Error(text);
    err.retry = r.status >= 500;
    throw err;
  }

  // --- messages ----------------------------------------------------------------

  function fmtTime(unix) {
    if (typeof unix !== 'number') return '';
    return new Date(unix * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  /** Add (or confirm) a message, ordered by id; true when it is ours, null when known. */
  function addMessage(m, isSent) {
    if (!m || !isStr(m.id) || state.messages.has(m.id)) return null;
    const mine = isSent || (m.sender && isStr(m.sender.id) && m.sender.id === state.userId);
    const who = mine ? 'You' : (m.sender && isStr(m.sender.full_name) ? m.sender.full_name : 'Someone');
    const li = el('li', { class: `message${mine ? ' mine' : ''}`, 'data-testid': 'message', 'data-message-id': m.id },
      el('div', { class: 'message-head' },
        el('span', { class: 'message-sender', 'data-testid': 'message-sender', text: who }),
        el('time', { text: fmtTime(m.timestamp) })),
      el('div', { class: 'message-text', 'data-testid': 'message-text', text: isStr(m.text) ? m.text : (m.file_id ? '(attachment)' : '') }));
    if (mine) li.append(el('div', { class: 'message-status', 'data-testid': 'message-status', text: 'sent' }));
    // a pending send of ours is replaced by the stored message
    if (isStr(m.client_message_id) && state.pending.has(m.client_message_id)) {
      state.pending.get(m.client_message_id).remove();
      state.pending.delete(m.client_message_id);
    }
    const id = idOf(m.id);
    let before = null;
    for (const other of $('messages').children) {
      const oid = other.getAttribute('data-message-id');
      if (oid && idOf(oid) > id) { before = other; break; }
      if (!oid) { before = other; break; } // pending ones stay last
    }
    $('messages').insertBefore(li, before);
    state.messages.set(m.id, li);
    if (id > state.lastId) state.lastId = id;
    const box = $('messages');
    box.scrollTop = box.scrollHeight;
    return mine;
  }

  function setMessageStatus(id, status) {
    const li = state.messages.get(id);
    if (!li) return;
    const s = li.querySelector('.message-status');
    if (!s) return;
    if (s.textContent === 'read') return; // a status never goes back
    s.textContent = status;
    li.setAttribute('data-status', status);
  }

  async function loadHistory() {
    const q = new URLSearchParams({ token: state.token, limit: String(HISTORY_LIMIT) });
    const r = await fetch(`/api/v1/rooms/${encodeURIComponent(state.roomId)}/messages?${q}`, { cache: 'no-store' });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`The history could not be loaded (${body && isStr(body.error) ? body.error : `HTTP ${r.status}`}).`);
    const list = Array.isArray(body.messages) ? body.messages.slice().reverse() : [];
    for (const m of list) addMessage(m, m.is_sent === true);
  }

  // --- the socket ----------------------------------------------------------------

  function send(obj) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  function connect() {
    if (state.stopped) return;
    state.retryTimer = null;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ token: state.token });
    if (state.lastId > 0n) q.set('since', state.lastId.toString()); // missed messages come first
    const ws = new WebSocket(`${proto}//${location.host}/ws/chat?${q}`);
    state.ws = ws;
    setStatus('connecting', 'Connecting…');
    ws.onopen = () => {
      // The socket opens before the token is checked (a refused one gets an error, then
      // a close): the backoff is reset by the first heartbeat_response, not here.
      // "open" (and the send button) wait for that answer too: by then the server has
      // the connection among the room's listeners, so nothing sent after it is missed.
      send({ action: 'heartbeat' });
      clearInterval(state.beatTimer);
      state.beatTimer = setInterval(() => send({ action: 'heartbeat' }), HEARTBEAT_MS);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && typeof msg === 'object') handle(msg);
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      clearInterval(state.beatTimer);
      $('send').disabled = true;
      if (state.stopped) return;
      reconnect();
    };
  }

  function handle(msg) {
    const data = msg.data && typeof msg.data === 'object' ? msg.data : {};
    switch (msg.type) {
      case 'new_message': {
        if (data.room_id !== state.roomId || !data.message) return;
        const m = data.message;
        const mine = addMessage(m, m.is_sent === true);
        // someone else's message, seen now: delivered and read
        if (mine === false) {
          send({ action: 'mark_delivered', message_id: m.id });
          if (document.visibilityState === 'visible') send({ action: 'mark_read', message_id: m.id });
        }
        break;
      }
      case 'message_status':
        if (isStr(data.message_id) && isStr(data.status)) setMessageStatus(data.message_id, data.status);
        break;
      case 'error': {
        const text = isStr(msg.error) ? msg.error : isStr(data.error) ? data.error : 'error';
        if (text === 'Authentication required') {
          // the chat token ran out: a new one on the next connect
          state.token = '';
        }
        showError(`Chat: ${text}`);
        break;
      }
      case 'heartbeat_response':
        state.attempt = 0;
        if ($('chat').getAttribute('data-status') !== 'open') {
          setStatus('open', 'Connected');
          $('send').disabled = false;
        }
        break;
      default:
        break; // unread_message_count, new_room: nothing to show
    }
  }

  /** Backoff with jitter; each attempt asks for a fresh token (it may have expired). */
  function reconnect() {
    if (state.stopped || state.retryTimer) return;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(state.attempt, 16));
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    state.attempt++;
    setStatus('closed', `Disconnected; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    state.retryTimer = setTimeout(async () => {
      try {
        const a = await access();
        state.token = a.token;
      } catch (e) {
        if (!e.retry) {
          stop(e.message);
          return;
        }
        state.retryTimer = null;
        reconnect();
        return;
      }
      connect();
    }, delay);
  }

  function stop(text) {
    state.stopped = true;
    setStatus('error', 'Chat unavailable');
    showError(text);
    $('composer').hidden = true;
  }

  function onSubmit(ev) {
    ev.preventDefault();
    const input = $('message-input');
    const text = input.value.trim();
    if (!text) return;
    const cid = `c-${Date.now().toString(36)}-${++state.seq}`;
    if (!send({ action: 'send_message', room_id: state.roomId, text, client_message_id: cid })) {
      showError('Not connected: the message was not sent.');
      return;
    }
    showError('');
    input.value = '';
    const li = el('li', { class: 'message mine pending', 'data-testid': 'message-pending' },
      el('div', { class: 'message-text', text }),
      el('div', { class: 'message-status', text: 'sending…' }));
    $('messages').append(li);
    state.pending.set(cid, li);
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    state.caseId = params.get('case_id') || '';
    state.session = params.get('fin_session_id') || '';
    if (!state.caseId || !state.session) {
      stop('This page needs case_id and fin_session_id: it is opened by the dashboard.');
      return;
    }
    $('composer').addEventListener('submit', onSubmit);
    $('message-input').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey) onSubmit(ev);
    });
    try {
      const a = await access();
      state.token = a.token;
      state.roomId = a.room_id;
      state.userId = a.user_id;
      $('chat').setAttribute('data-room-id', state.roomId);
      await loadHistory();
    } catch (e) {
      stop(e.message);
      return;
    }
    $('composer').hidden = false;
    $('send').disabled = true;
    connect();
  }

  start();
})();
