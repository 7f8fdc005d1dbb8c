// dashboard_session.mjs PORT DIR: a short dashboard session under valgrind, on the
// demo data (case 1, user 1, the operator key in DIR/operator-key): the handshake,
// two tabs, a ping, a malformed frame, a replayed ticket, a refused upgrade, the
// operator API (a layout change, a stale version, a refresh, an iframe, data, a
// view), the component endpoints and the chat page's token; one tab is left open
// for the shutdown to close.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node', 'package.json'));
const WebSocket = require('ws');
const [port, dir] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const key = fs.readFileSync(path.join(dir, 'operator-key'), 'utf8').trim();
const fail = (why) => { console.error(`dashboard session: ${why}`); process.exit(1); };

async function call(method, p, body, auth = true) {
  const headers = { 'Content-Type': 'application/json' };
  if (auth) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

function tab(fin) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws?case_id=1&fin_session_id=${fin}&user_id=1`);
    const t = { ws, got: [] };
    ws.on('message', (d) => t.got.push(JSON.parse(d.toString())));
    ws.once('error', reject);
    ws.once('unexpected-response', (q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('open', () => resolve(t));
  });
}

async function until(t, pred, what) {
  for (let i = 0; i < 500; i++) {
    if (t.got.some(pred)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  fail(`no ${what}`);
}

const tk = await call('POST', '/request_for_auth', { case_id: '1', user_id: '1' });
if (tk.status !== 200) fail(`request_for_auth ${tk.status}`);
const hs = await call('POST', '/auth_handshake', { auth_ticket: tk.json.auth_ticket, case_id: '1', user_id: '1' }, false);
if (hs.status !== 200) fail(`auth_handshake ${hs.status}`);
if ((await call('POST', '/auth_handshake', { auth_ticket: tk.json.auth_ticket, case_id: '1', user_id: '1' }, false)).status !== 401) fail('replayed ticket accepted');
const fin = hs.json.fin_session_id;
const a = await tab(fin);
const b = await tab(fin);
await until(a, (m) => m.action === 'init_data', 'init_data');
a.ws.send('{"action": "nope"}');
a.ws.send('not json');
a.ws.send(JSON.stringify({ action: 'request_ping' }));
await until(a, (m) => m.action === 'pong', 'pong');
await tab('f'.repeat(64)).then(() => fail('unknown session upgraded'), () => {});
const cur = await call('GET', '/api/v1/cases/1/dashboard');
const put = await call('PUT', '/api/v1/cases/1/dashboard', {
  version: cur.json.version,
  dsettings: { layout_type: 'view_tall_3', custom_layout: {} },
  components: [
    { type: 'waterfall', id: 'waterfall_1', position: 'left_full', component_name: 'WaterfallComponent', src: null },
    { type: 'barchart', id: 'barchart_1', position: 'top_right', component_name: 'BarchartComponent', src: null },
    { type: 'chat', id: 'chat_1', position: 'bottom_right', component_name: 'IFRAMEComponent', src: `${base}/api/v1/faq_view?case_id=1` },
  ],
});
if (put.status !== 200) fail(`PUT dashboard ${put.status}`);
if ((await call('PUT', '/api/v1/cases/1/dashboard', { version: cur.json.version, dsettings: { layout_type: 'view_standard_3', custom_layout: {} }, components: [] })).status !== 409) fail('stale version accepted');
await until(b, (m) => m.action === 'init_data' && m.data.dsettings.layout_type === 'view_tall_3', 'pushed init_data');
if ((await call('POST', '/api/v1/cases/1/components/barchart_1/refresh', {})).status !== 200) fail('refresh');
if ((await call('POST', '/api/v1/cases/1/components/chat_1/iframe', { iframe_source: 'https://example.com/' })).status !== 200) fail('iframe');
if ((await call('PUT', '/api/v1/cases/1/components/barchart_1/data', { bars: [{ label: 'a', value: 1 }] })).status !== 200) fail('data');
if ((await call('PUT', '/api/v1/cases/1/views/faq', { title: 'F', items: [{ question: 'q', answer: 'a' }] })).status !== 200) fail('faq');
await until(b, (m) => m.action === 'request_iframe_url', 'request_iframe_url');
const q = `case_id=1&fin_session_id=${fin}`;
for (const p of [`/api/v1/components/barchart_1?${q}`, `/api/v1/views/faq?${q}`, `/api/v1/chat_access?${q}`, `/api/v1/init_data?${q}&user_id=1`]) {
  const r = await call('GET', p, undefined, false);
  if (r.status !== 200) fail(`GET ${p}: ${r.status}`);
}
b.ws.close();
// `a` stays open: the shutdown closes it
console.log('dashboard session: ok');
process.exit(0);
