// 03_operator: the operator API. Every endpoint needs an operator API key;
// PUT dashboard is versioned (body version or If-Match; stale: 409 with the
// current version; none: 428) and checked against the layout's slots (422
// naming the field); refresh (default key: the document's timestamp form),
// iframe (stored: a dashboard opened later shows it), component data (kept
// verbatim, served to the fin session, pushed as a refresh), the button and
// FAQ views (refreshing the components that show them), the case's chat
// room and the chat page's access token, which works on /ws/chat. Each
// change is pushed to the case's open dashboards after the commit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDashboard, cleanup, apikey, op, session, openDashboard, isAction, isError, request,
  seedInitData, standardBody, tallBody,
} from './dh.mjs';
import { connect, addUser, dbQuery } from '../integration/harness.mjs';

let s; let key; let fin; let tab;
const D = (c = '1') => `/api/v1/cases/${c}/dashboard`;
const C = (id, what, c = '1') => `/api/v1/cases/${c}/components/${id}/${what}`;

before(async () => {
  s = await startDashboard();
  key = apikey(s);
  fin = await session(s, key, '1', '42');
  tab = await openDashboard(s, '1', fin, '42');
});
after(cleanup);

test('every operator endpoint refuses a request without a valid key', async () => {
  const calls = [
    ['GET', D(), undefined], ['PUT', D(), standardBody(s, 0)],
    ['POST', C('timeline_1', 'refresh'), {}], ['POST', C('chat_1', 'iframe'), { iframe_source: 'https://e.com/' }],
    ['PUT', C('timeline_1', 'data'), { a: 1 }], ['PUT', '/api/v1/cases/1/views/buttons', { title: '', buttons: [] }],
    ['PUT', '/api/v1/cases/1/views/faq', { title: '', items: [] }], ['PUT', '/api/v1/cases/1/chat', { room_id: 1 }],
  ];
  const mark = tab.mark();
  for (const [m, p, b] of calls) {
    for (const k of [null, 'sbk_nope', fin]) {
      const r = await op(s, k, m, p, b);
      assert.ok(isError(r, 'API_KEY_REQUIRED', ''), `${m} ${p} with ${k}: ${r.status} ${r.text}`);
    }
  }
  await tab.ask({ action: 'request_ping' }, isAction('pong'));
  assert.deepEqual(tab.messages.slice(mark).map((m) => m.action), ['pong'], 'nothing pushed');
});

test('GET dashboard: the default (version 0) with its ETag', async () => {
  const r = await op(s, key, 'GET', D('fresh'));
  assert.equal(r.status, 200);
  assert.equal(r.headers.etag, '"0"');
  assert.deepEqual(r.json, { case_id: 'fresh', version: 0, ...seedInitData(s, 'fresh').data });
});

test('PUT dashboard: versioned, pushed as init_data, no lost update', async () => {
  const v0 = (await op(s, key, 'GET', D())).json.version;
  const mark = tab.mark();
  const a = await op(s, key, 'PUT', D(), tallBody(v0));
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.version, v0 + 1);
  assert.equal(a.headers.etag, `"${v0 + 1}"`);
  const pushed = await tab.waitFor(isAction('init_data'), { from: mark });
  assert.deepEqual(pushed.data, { dsettings: tallBody(0).dsettings, components: tallBody(0).components });
  assert.deepEqual(pushed.meta, seedInitData(s).meta);
  // a second operator based on the old version loses, and learns the current one
  const b = await op(s, key, 'PUT', D(), standardBody(s, v0));
  assert.ok(isError(b, 'VERSION_CONFLICT', `based on version ${v0}, the dashboard is at version ${v0 + 1}`), b.text);
  assert.equal(b.json.version, v0 + 1);
  // If-Match works too, and a stale one the same
  const body = standardBody(s, 0);
  delete body.version;
  const c = await op(s, key, 'PUT', D(), body, { 'If-Match': `"${v0 + 1}"` });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.version, v0 + 2);
  assert.ok(isError(await op(s, key, 'PUT', D(), body, { 'If-Match': `"${v0}"` }), 'VERSION_CONFLICT'));
  assert.ok(isError(await op(s, key, 'PUT', D(), body, { 'If-Match': 'nope' }), 'INVALID_REQUEST'));
  assert.ok(isError(await op(s, key, 'PUT', D(), { ...body, version: v0 + 2 }, { 'If-Match': `"${v0}"` }), 'INVALID_REQUEST'));
  assert.ok(isError(await op(s, key, 'PUT', D(), body), 'VERSION_REQUIRED', ''));
  // If-Match: * is an explicit overwrite of whatever is current
  const forced = await op(s, key, 'PUT', D(), body, { 'If-Match': '*' });
  assert.equal(forced.status, 200, forced.text);
  assert.equal(forced.json.version, v0 + 3);
  assert.ok(isError(await op(s, key, 'PUT', D(), { ...body, version: v0 + 3 }, { 'If-Match': '*' }), 'INVALID_REQUEST'));
  assert.ok(isError(await op(s, key, 'PUT', D(), body, { 'If-Match': '* x' }), 'INVALID_REQUEST'));
  // a dashboard opened now shows the current state
  const later = await openDashboard(s, '1', fin, '42', 'later');
  assert.deepEqual(later.messages[0].data, seedInitData(s).data);
  later.close();
});

test('PUT dashboard: a change that does not fit the layout is refused with its path', async () => {
  const v = (await op(s, key, 'GET', D())).json.version;
  const base = () => JSON.parse(JSON.stringify(standardBody(s, v)));
  const cases = [
    [(b) => { b.components[0].position = 'left_full'; }, 'components[0].position: left_full is not a slot of view_standard_3 here'],
    [(b) => { b.components[1].position = 'top_full'; }, 'components[1].position: top_full is taken by another component'],
    [(b) => { b.components[1].id = 'timeline_1'; }, 'components[1].id: timeline_1 is not unique'],
    [(b) => { b.components[0].component_name = 'BarchartComponent'; }, 'components[0].component_name: BarchartComponent does not render type timeline'],
    [(b) => { b.components[2].src = null; }, 'components[2].src: an IFRAMEComponent needs a URL'],
    [(b) => { b.components[0].src = 'https://e.com/'; }, 'components[0].src: only an IFRAMEComponent or a ChatComponent loads a URL (TimelineComponent: null)'],
    [(b) => { b.components.pop(); }, 'components: view_standard_3 takes exactly 3 components'],
    [(b) => { b.dsettings.custom_layout = [1]; }, 'dsettings.custom_layout: must be a JSON object'],
    [(b) => { b.dsettings.layout_type = 'view_tall_3'; }, 'components[0].position: top_full is not a slot of view_tall_3 here'],
  ];
  const mark = tab.mark();
  for (const [edit, detail] of cases) {
    const b = base();
    edit(b);
    const r = await op(s, key, 'PUT', D(), b);
    assert.ok(isError(r, 'INVALID_DASHBOARD', detail), `${detail}: got ${r.status} ${r.text}`);
  }
  // schema-level errors are 400 with the parser's path
  const b = base();
  b.components[0].type = 'pie';
  const r = await op(s, key, 'PUT', D(), b);
  assert.ok(isError(r, 'INVALID_REQUEST'), r.text);
  assert.match(r.json.error, /components\[0\]\.type/);
  assert.ok(isError(await op(s, key, 'PUT', D(), '{"version":'), 'INVALID_REQUEST'));
  // the flipped slot sets are accepted
  const flip = base();
  flip.components[0].position = 'bottom_full';
  flip.components[1].position = 'top_left';
  flip.components[2].position = 'top_right';
  const ok = await op(s, key, 'PUT', D(), flip);
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await op(s, key, 'GET', D())).json.version, v + 1, 'only the valid one counted');
  const pushes = (await tab.waitFor(isAction('init_data'), { from: mark }));
  assert.equal(pushes.data.components[0].position, 'bottom_full');
  assert.equal(tab.messages.slice(mark).filter(isAction('init_data')).length, 1, 'refusals push nothing');
});

test('refresh: the document\'s key form by default, a given key, 404 for an unknown component', async () => {
  const mark = tab.mark();
  const r = await op(s, key, 'POST', C('timeline_1', 'refresh'), '');
  assert.equal(r.status, 200, r.text);
  assert.match(r.json.key, /^\d{20}$/);
  const now = new Date();
  assert.equal(r.json.key.slice(0, 8), now.toISOString().slice(0, 10).replaceAll('-', ''));
  assert.deepEqual(r.json, { case_id: '1', component_id: 'timeline_1', key: r.json.key, pushed: true });
  const m = await tab.waitFor(isAction('request_component_refresh'), { from: mark });
  assert.equal(tab.raw[tab.messages.indexOf(m)], `{"action":"request_component_refresh","data":{"component_id":"timeline_1","key":"${r.json.key}"}}`);
  const given = await op(s, key, 'POST', C('square_1', 'refresh'), { key: '20231130064924408779' });
  assert.equal(given.json.key, '20231130064924408779');
  await tab.waitFor((x) => x.action === 'request_component_refresh' && x.data.key === '20231130064924408779', { from: mark });
  assert.ok(isError(await op(s, key, 'POST', C('nope_1', 'refresh'), {}), 'NOT_FOUND', "component_id: not in the case's dashboard"));
  assert.ok(isError(await op(s, key, 'POST', C('timeline_1', 'refresh'), { key: '' }), 'INVALID_REQUEST'));
});

test('iframe: stored and pushed; only for an IFRAME component', async () => {
  const v = (await op(s, key, 'GET', D())).json.version;
  const mark = tab.mark();
  const src = 'https://core.epventures.com/api/v1/get_chat?case_id=1';
  const r = await op(s, key, 'POST', C('chat_1', 'iframe'), { iframe_source: src });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { case_id: '1', component_id: 'chat_1', iframe_source: src, version: v + 1 });
  const m = await tab.waitFor(isAction('request_iframe_url'), { from: mark });
  assert.equal(tab.raw[tab.messages.indexOf(m)], JSON.stringify({ action: 'request_iframe_url', data: { component_id: 'chat_1', iframe_source: src } }));
  const later = await openDashboard(s, '1', fin, '42', 'later');
  assert.equal(later.messages[0].data.components.find((c) => c.id === 'chat_1').src, src);
  later.close();
  assert.ok(isError(await op(s, key, 'POST', C('timeline_1', 'iframe'), { iframe_source: src }), 'INVALID_DASHBOARD'));
  assert.ok(isError(await op(s, key, 'POST', C('nope', 'iframe'), { iframe_source: src }), 'NOT_FOUND'));
  const bad = await op(s, key, 'POST', C('chat_1', 'iframe'), { iframe_source: 'not a url' });
  assert.ok(isError(bad, 'INVALID_REQUEST'), bad.text);
  assert.match(bad.json.error, /iframe_source/);
});

test('component data: any JSON kept verbatim, served to the session, pushed as a refresh', async () => {
  const path = `/api/v1/components/timeline_1?case_id=1&fin_session_id=${fin}`;
  assert.ok(isError(await request(s, `/api/v1/components/unset_1?case_id=1&fin_session_id=${fin}`), 'NOT_FOUND', 'no data for this component yet'));
  const mark = tab.mark();
  const text = '{"title":"T","events":[{"time":"2023-11-30T06:49:24Z","label":"é ☃"}],"n":1.50}';
  const r = await op(s, key, 'PUT', C('timeline_1', 'data'), text);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.pushed, true);
  const m = await tab.waitFor(isAction('request_component_refresh'), { from: mark });
  assert.deepEqual(m.data, { component_id: 'timeline_1', key: r.json.key });
  const got = await request(s, `${path}&key=${r.json.key}`);
  assert.equal(got.status, 200);
  assert.equal(got.text, text, 'byte for byte');
  assert.match(got.headers['content-type'], /^application\/json/);
  for (const v of ['[1,2]', '"s"', '42', 'null', 'true']) {
    assert.equal((await op(s, key, 'PUT', C('timeline_1', 'data'), v)).status, 200);
    assert.equal((await request(s, path)).text, v);
  }
  // data for a component not on the dashboard is stored, not pushed
  const off = await op(s, key, 'PUT', C('later_1', 'data'), { a: 1 });
  assert.equal(off.json.pushed, false);
  assert.ok(isError(await op(s, key, 'PUT', C('timeline_1', 'data'), '{"a":'), 'INVALID_REQUEST'));
  assert.ok(isError(await op(s, key, 'PUT', C('timeline_1', 'data'), ''), 'INVALID_REQUEST'));
});

test('views: set by the operator, read with the session, refreshing the components that show them', async () => {
  const q = `case_id=1&fin_session_id=${fin}`;
  assert.deepEqual((await request(s, `/api/v1/views/buttons?${q}`)).json, { title: '', buttons: [] });
  assert.deepEqual((await request(s, `/api/v1/views/faq?${q}`)).json, { title: '', items: [] });
  // show the FAQ page in chat_1's place
  const v = (await op(s, key, 'GET', D())).json.version;
  const body = standardBody(s, v);
  body.components[2].src = `http://127.0.0.1:${s.port}/api/v1/faq_view?case_id=1`;
  assert.equal((await op(s, key, 'PUT', D(), body)).status, 200);
  const mark = tab.mark();
  const faq = { title: 'FAQ', items: [{ question: 'Q?', answer: 'A.' }] };
  const r = await op(s, key, 'PUT', '/api/v1/cases/1/views/faq', faq);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.pushed, 1);
  const m = await tab.waitFor(isAction('request_component_refresh'), { from: mark });
  assert.deepEqual(m.data, { component_id: 'chat_1', key: r.json.key });
  assert.deepEqual((await request(s, `/api/v1/views/faq?${q}`)).json, faq);
  const buttons = { title: 'Next', buttons: [{ label: 'Upload', url: 'https://example.com/u' }] };
  const b = await op(s, key, 'PUT', '/api/v1/cases/1/views/buttons', buttons);
  assert.equal(b.json.pushed, 0, 'no component shows the button view');
  assert.deepEqual((await request(s, `/api/v1/views/buttons?${q}`)).json, buttons);
  const bad = await op(s, key, 'PUT', '/api/v1/cases/1/views/buttons', { title: 'x', buttons: [{ label: 'a', url: 'nope' }] });
  assert.ok(isError(bad, 'INVALID_REQUEST'));
  assert.match(bad.json.error, /buttons\[0\]\.url/);
});

test('the case\'s chat room: the chat page\'s token works on /ws/chat for a member only', async () => {
  const q = (f) => `/api/v1/chat_access?case_id=1&fin_session_id=${f}`;
  assert.ok(isError(await request(s, q(fin)), 'NOT_FOUND', 'this case has no chat room'));
  assert.ok(isError(await op(s, key, 'PUT', '/api/v1/cases/1/chat', { room_id: 999 }), 'NOT_FOUND', 'room_id: no such chat room'));
  // a service room with two chat users (switchboard user add), made in SQL as the chat's admin would
  const alice = addUser(s.db, 'Alice Dash', 'TECHNICIAN');
  const carol = addUser(s.db, 'Carol Dash', 'ADMIN');
  const service = Number(dbQuery(s, `INSERT INTO chat_services(created_at, status, customer_full_name, customer_phone, customer_address) VALUES ('2023-11-30T06:49:24Z','IN_PROGRESS','C','1','A') RETURNING id`).trim());
  const room = Number(dbQuery(s, `INSERT INTO chat_rooms(type, service_id, created_at) VALUES ('SERVICE', ${service}, 0) RETURNING id`).trim());
  dbQuery(s, `INSERT INTO chat_room_members(room_id, user_id) VALUES (${room}, ${alice.id}), (${room}, ${carol.id})`);
  const set = await op(s, key, 'PUT', '/api/v1/cases/1/chat', { room_id: room });
  assert.deepEqual(set.json, { case_id: '1', room_id: room });
  // user 42 is no chat member
  assert.ok(isError(await request(s, q(fin)), 'NOT_FOUND', "the user is not in this case's chat room"));
  const finA = await session(s, key, '1', alice.id);
  const r = await request(s, q(finA));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['expires_in', 'room_id', 'token', 'user_id']);
  assert.equal(r.json.room_id, room);
  assert.equal(r.json.user_id, Number(alice.id));
  assert.ok(!dbQuery(s, 'SELECT token_hash FROM chat_access_tokens').includes(r.json.token), 'stored hashed');
  // the token opens /ws/chat as Alice, who talks with Carol in the case's room
  const a = await connect(s, { token: r.json.token, label: 'alice via dashboard' });
  const c = await connect(s, { token: carol.token, label: 'carol' });
  a.send({ action: 'send_message', room_id: String(room), text: 'hello from the dashboard' });
  const got = await c.waitFor((m) => m.type === 'new_message');
  assert.equal(got.data.message.text, 'hello from the dashboard');
  assert.equal(String(got.data.message.sender.id), alice.id);
  const hist = await request(s, `/api/v1/rooms/${room}/messages?token=${r.json.token}`);
  assert.equal(hist.status, 200);
  a.close();
  c.close();
});
