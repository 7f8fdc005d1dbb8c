// view.js: the button view and the FAQ view, one page served at /api/v1/button_view and
// /api/v1/faq_view (the path says which), framed by the dashboard's IFRAME components.
//
//   /api/v1/button_view?case_id=1&fin_session_id=F -> GET /api/v1/views/buttons
//       {title, buttons: [{label, url}]}: links that open in a new tab
//   /api/v1/faq_view?case_id=1&fin_session_id=F    -> GET /api/v1/views/faq
//       {title, items: [{question, answer}]}: one <details> per item
//
// Text reaches the DOM through textContent only; a link is made only of an http(s) URL.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const isStr = (v) => typeof v === 'string';

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

  function fail(text) {
    $('view').setAttribute('data-status', 'error');
    $('view-status').textContent = '';
    $('error').textContent = text;
    $('error').hidden = false;
  }

  /** An absolute http(s) URL, or null (javascript:, data: and the like are not links). */
  function safeUrl(s) {
    if (!isStr(s)) return null;
    try {
      const u = new URL(s, location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch {
      return null;
    }
  }

  function renderButtons(body) {
    const list = Array.isArray(body.buttons) ? body.buttons : [];
    const box = el('div', { class: 'buttons', 'data-testid': 'buttons' });
    for (const b of list) {
      if (!b || typeof b !== 'object') continue;
      const label = isStr(b.label) ? b.label : '';
      const url = safeUrl(b.url);
      box.append(url
        ? el('a', { class: 'link-button', 'data-testid': 'button', href: url, target: '_blank', rel: 'noopener noreferrer', text: label })
        : el('span', { class: 'link-button disabled', 'data-testid': 'button', title: 'not an http(s) link', text: label }));
    }
    return { node: box, count: box.children.length };
  }

  function renderFaq(body) {
    const list = Array.isArray(body.items) ? body.items : [];
    const box = el('div', { class: 'faq', 'data-testid': 'faq' });
    for (const it of list) {
      if (!it || typeof it !== 'object') continue;
      box.append(el('details', { 'data-testid': 'faq-item' },
        el('summary', { text: isStr(it.question) ? it.question : '' }),
        el('p', { text: isStr(it.answer) ? it.answer : '' })));
    }
    return { node: box, count: box.children.length };
  }

  async function start() {
    const kind = location.pathname.endsWith('/faq_view') ? 'faq' : 'buttons';
    $('view').setAttribute('data-kind', kind);
    const params = new URLSearchParams(location.search);
    const caseId = params.get('case_id') || '';
    const session = params.get('fin_session_id') || '';
    if (!caseId || !session) {
      fail('This page needs case_id and fin_session_id: it is opened by the dashboard.');
      return;
    }
    let r;
    let body;
    try {
      r = await fetch(`/api/v1/views/${kind}?${new URLSearchParams({ case_id: caseId, fin_session_id: session })}`,
        { cache: 'no-store' });
      body = await r.json().catch(() => null);
    } catch (e) {
      fail(`The server cannot be reached (${e.message}).`);
      return;
    }
    if (!r.ok || !body || typeof body !== 'object') {
      const why = body && isStr(body.error) ? body.error : `HTTP ${r.status}`;
      if (r.status === 404) fail(`Nothing to show for this case yet (${why}).`);
      else if (r.status === 401 || r.status === 403) fail(`The session has ended (${why}). Open the dashboard again.`);
      else fail(`The view could not be loaded (${why}).`);
      return;
    }
    $('view-title').textContent = isStr(body.title) ? body.title : '';
    const out = kind === 'faq' ? renderFaq(body) : renderButtons(body);
    $('view-body').replaceChildren(out.node);
    $('view-status').textContent = out.count ? '' : 'Nothing to show.';
    $('view').setAttribute('data-count', String(out.count));
    $('view').setAttribute('data-status', 'ready');
  }

  start();
})();
