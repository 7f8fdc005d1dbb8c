// clients.test.mjs (ctest ts_clients): the generated TypeScript clients
// (generated/ts/*.client.ts), compiled with the pinned tsc from tests/node to a
// temporary directory and imported as plain ESM, driven against the real server:
//   chat       send/receive over the WebSocket, a dropped connection that
//              reconnects with ?since= and gets what it missed;
//   realtime   request/response over socket.io-client, a typed ERROR, and an
//              UPDATE pushed through the operator API (RealtimeApi.publishUpdate);
//   therapy    login via the SMS file, verifyCode, a typed 409 before entering,
//              enterTherapySession, saveActions and getActions;
//   dashboard  ticket and handshake, the WebSocket's init_data, a pushed
//              request_component_refresh, a 409 VERSION_CONFLICT as HttpError.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, ROOT, T, WebSocket, startServer, addUser as chatUser, until, cleanup } from '../integration/harness.mjs';
import { io } from '../realtime/rt.mjs';
import { startTherapy, addGroup, codeFor, smsLines, msg } from '../therapy/th.mjs';
import { apikey } from '../dashboard/dh.mjs';

after(cleanup);

// compile the package as `npm run build` would, into a temp dir
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-tsclient-'));
after(() => fs.rmSync(out, { recursive: true, force: true }));
execFileSync(path.join(ROOT, 'tests/node/node_modules/.bin/tsc'),
  ['-p', path.join(ROOT, 'generated/ts/tsconfig.json'), '--outDir', out, '--pretty', 'false'], { stdio: 'inherit' });
fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
const C = await import(pathToFileURL(path.join(out, 'clients.js')).href);

/** resolves with the next message handed to on(type); rejects after ms */
function next(client, type, pred = () => true, ms = T(5000)) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${type} in ${ms} ms`)); }, ms);
    const off = client.on(type, (m) => {
      if (!pred(m)) return;
      clearTimeout(timer);
      off();
      resolve(m);
    });
  });
}

test('chat: send and receive, then a dropped connection resumes with ?since=', async () => {
  const s = await startServer({ demo: false, tag: 'tsclient-chat' });
  const ann = chatUser(s.db, 'Ann Client');
  const ben = chatUser(s.db, 'Ben Client');
  const sockets = [];
  class Tracked extends WebSocket {
    constructor(url) { super(url); sockets.push({ url, ws: this }); }
  }
  const url = `ws://127.0.0.1:${s.port}`;
  const a = new C.ChatClient({ url, WebSocket: Tracked, params: { token: ann.token } });
  const b = new C.ChatClient({ url, WebSocket: Tracked, params: { token: ben.token },
    backoff: { initialMs: 300, jitter: 0 } });
  await Promise.all([a.connect(), b.connect()]);

  const got = next(b, 'new_message');
  const echo = next(a, 'new_message');
  a.send({ action: 'send_message', receiver_id: ben.id, text: 'hello from the typed client' });
  const m = await got;
  assert.equal(m.data.message.text, 'hello from the typed client');
  assert.equal(m.data.message.is_sent, false);
  assert.equal((await echo).data.message.is_sent, true);
  assert.equal(b.lastMessageId, m.data.message.id);
  const room = m.data.room_id;

  // drop b's connection; while it is away, a sends two more
  const closed = new Promise((r) => b.onEvent('close', r));
  const bws = sockets.filter((x) => x.url.includes(ben.token)).at(-1);
  bws.ws.terminate();
  await closed;
  const missed = [];
  b.on('new_message', (x) => missed.push(x.data.message.text));
  for (const t of ['missed one', 'missed two']) {
    const e = next(a, 'new_message', (x) => x.data.message.text === t);
    a.send({ action: 'send_message', room_id: room, text: t });
    await e;
  }
  await until(() => missed.length >= 2, T(5000), 'the replay after reconnecting');
  assert.deepEqual(missed, ['missed one', 'missed two']);
  const again = sockets.filter((x) => x.url.includes(ben.token)).at(-1);
  assert.notEqual(again, bws, 'a new connection');
  assert.match(again.url, new RegExp(`[?&]since=${m.data.message.id}(&|$)`));

  // a heartbeat answers, typed by its type
  const hb = next(a, 'heartbeat_response');
  a.send({ action: 'heartbeat' });
  assert.equal((await hb).type, 'heartbeat_response');

  // the REST history through ChatApi, and a typed 404
  const api = new C.ChatApi({ baseUrl: s.base, headers: { Authorization: `Bearer ${ann.token}` } });
  const hist = await api.roomMessages({ room_id: room }, { limit: 10 });
  assert.equal(hist.messages.length, 3);
  await assert.rejects(api.roomMessages({ room_id: '99999' }), (e) =>
    C.isChatApiError(e, 'ROOM_NOT_FOUND') && e.status === 404);
  a.close();
  b.close();
});

test('realtime: request/response, a typed ERROR, an UPDATE from the operator API', async () => {
  const secret = 'test-secret-0123456789abcdef-0123456789abcdef';
  const s = await startServer({ demo: false, args: ['--jwt-secret', secret], tag: 'tsclient-rt' });
  const token = execFileSync(BIN, ['realtime', 'token', '--user', 'u1', '--company', 'c1', '--session', 's1', '--artifacts', 'a1',
    '--jwt-secret', secret], { encoding: 'utf8' }).trim().split('\n').at(-1).trim();
  const key = /sbk_[0-9a-f]{64}/.exec(execFileSync(BIN, ['apikey', 'add', '--name', 'tsc', '--db', s.db],
    { encoding: 'utf8' }))[0];
  const rt = new C.RealtimeClient({ url: s.base, io, auth: { token }, query: { sessionId: 's1' },
    ioOptions: { forceNew: true, reconnection: false } });
  await rt.ready();
  const before = Date.now();
  const pong = await rt.request('ping');
  assert.ok(pong.time >= before - 5000);
  const who = await rt.request('whoami');
  assert.equal(who.userId, 'u1');
  assert.deepEqual(await rt.request('subscribeArtifact', { artifactId: 'a1' }), { artifactId: 'a1' });
  await assert.rejects(rt.request('processData', { input: 'x' }), (e) =>
    e instanceof C.RealtimeRequestError && e.code === 'ACTION_NOT_ALLOWED' && e.action === 'processData');

  const upd = new Promise((resolve) => rt.onUpdate(resolve));
  const api = new C.RealtimeApi({ baseUrl: s.base, headers: { Authorization: `Bearer ${key}` } });
  const accepted = await api.publishUpdate({ company_id: 'c1', action: 'statusChange', data: { status: 'done' } });
  assert.ok(accepted);
  const u = await upd;
  assert.equal(u.type, 'UPDATE');
  assert.equal(u.action, 'statusChange');
  assert.deepEqual(u.data, { status: 'done' });
  // a refused operator call is a typed HttpError
  const bad = new C.RealtimeApi({ baseUrl: s.base, headers: { Authorization: 'Bearer sbk_nope' } });
  await assert.rejects(bad.publishUpdate({ company_id: 'c1', action: 'x' }), (e) =>
    C.isRealtimeApiError(e, 'UNAUTHORIZED') && e.status === 401);
  rt.close();
});

test('therapy: login by SMS code, a typed 409, enter, saveActions and getActions', async () => {
  const s = await startTherapy();
  const { people, ts } = addGroup(s.db, 1, { tag: 'ts' });
  const u = people[0];
  const api = new C.TherapyApi({ baseUrl: s.base, cookieJar: true });
  const before = smsLines(s).length;
  await api.login({ phone: u.phone, last_name: u.last });
  const code = await codeFor(s, u.phone, before);
  const v = await api.verifyCode({ code });
  assert.equal(api.http.headers['X-CSRF-Token'], v.csrf_token, 'the CSRF token is kept');
  await assert.rejects(api.getActions({ last_action_id: 0 }), (e) =>
    C.isTherapyApiError(e, 'NO_CURRENT_SESSION') && e.status === 409 && e.body.error === 'NO_CURRENT_SESSION');
  await api.enterTherapySession({ ts_id: ts });
  const saved = await api.saveActions([msg(u.id, 'typed hello')]);
  assert.equal(saved.ids.length, 1);
  const got = await api.getActions({ last_action_id: 0 });
  assert.ok(got.actions.some((a) => a.id === saved.ids[0] && a.body === 'typed hello'));
  await api.logout();
  await assert.rejects(api.getSession(), (e) => C.isTherapyApiError(e, 'AUTH_REQUIRED') && e.status === 401);
});

test('dashboard: handshake, init_data, a pushed refresh, a 409 VERSION_CONFLICT', async () => {
  const s = await startServer({ demo: false, tag: 'tsclient-dash' });
  const key = apikey(s);
  const op = new C.DashboardApi({ baseUrl: s.base, headers: { Authorization: `Bearer ${key}` } });
  const { auth_ticket } = await op.requestForAuth({ case_id: '1', user_id: '42' });
  const page = new C.DashboardApi({ baseUrl: s.base });
  const { fin_session_id } = await page.authHandshake({ auth_ticket, case_id: '1', user_id: '42' });
  const d = new C.DashboardClient({ url: `ws://127.0.0.1:${s.port}`, WebSocket,
    params: { case_id: '1', fin_session_id, user_id: '42' } });
  const init = next(d, 'init_data');
  await d.connect();
  const first = await init;
  assert.ok(first.data.components.length > 0);
  const comp = first.data.components[0].id;

  const pushed = next(d, 'request_component_refresh');
  await op.refreshComponent({ case_id: '1', component_id: comp }, { key: 'k1' });
  const r = await pushed;
  assert.deepEqual(r.data, { component_id: comp, key: 'k1' });

  const pong = next(d, 'pong');
  d.send({ action: 'request_ping' });
  assert.equal(typeof (await pong).data.server_time, 'number');

  const state = await op.getDashboard({ case_id: '1' });
  const body = { version: state.version, dsettings: state.dsettings, components: state.components };
  const ok = await op.putDashboard({ case_id: '1' }, body);
  assert.equal(ok.version, state.version + 1);
  await assert.rejects(op.putDashboard({ case_id: '1' }, body), (e) =>
    C.isDashboardApiError(e, 'VERSION_CONFLICT') && e.status === 409 && e.body.version === state.version + 1);
  d.close();
});

test('switchboard gen ts DIR writes generated/ts byte for byte', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-gen-ts-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const target = path.join(dir, 'client');
  const said = execFileSync(BIN, ['gen', 'ts', target], { encoding: 'utf8' });
  const list = (root) => fs.readdirSync(root, { recursive: true })
    .filter((f) => fs.statSync(path.join(root, f)).isFile()).sort();
  const want = list(path.join(ROOT, 'generated/ts'));
  assert.deepEqual(list(target), want);
  assert.ok(want.includes('package.json') && want.includes('chat.client.ts'));
  assert.match(said, new RegExp(`^${want.length} files written`));
  for (const f of want) {
    assert.ok(fs.readFileSync(path.join(target, f)).equals(fs.readFileSync(path.join(ROOT, 'generated/ts', f))), f);
  }
  // usage errors
  const r = spawnSync(BIN, ['gen', 'js', target], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: switchboard gen ts DIR/);
});
