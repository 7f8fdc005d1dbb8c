// 05_cli: `switchboard dashboard set|refresh|iframe|data|get|buttons|faq|chat|open`
// against a running server, each change seen by an open dashboard; the key
// from --key, SB_API_KEY or the demo's operator-key file; usage errors exit 2,
// refusals 1 with the server's answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  startDashboard, cleanup, apikey, cli, session, openDashboard, isAction, handshake, BIN, T,
} from './dh.mjs';
import { dbArgs } from '../integration/harness.mjs';

let s; let key; let tab;

before(async () => {
  s = await startDashboard();
  key = apikey(s);
  tab = await openDashboard(s, '1', await session(s, key, '1', '42'), '42');
});
after(cleanup);

test('set --layout moves the components into the new layout\'s slots', async () => {
  const mark = tab.mark();
  const r = cli(s, ['set', '--case', '1', '--layout', 'view_tall_3'], key);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.version, 1);
  const m = await tab.waitFor(isAction('init_data'), { from: mark });
  assert.equal(m.data.dsettings.layout_type, 'view_tall_3');
  assert.deepEqual(m.data.components.map((c) => [c.id, c.position]),
    [['timeline_1', 'left_full'], ['square_1', 'bottom_right'], ['chat_1', 'top_right']]);
});

test('set --type changes a component\'s type and renderer (Barchart <> Waterfall)', async () => {
  const mark = tab.mark();
  assert.equal(cli(s, ['set', '--case', '1', '--type', 'square_1=barchart'], key).status, 0);
  let m = await tab.waitFor(isAction('init_data'), { from: mark });
  assert.deepEqual(m.data.components[1], { type: 'barchart', id: 'square_1', position: 'bottom_right', component_name: 'BarchartComponent', src: null });
  const mark2 = tab.mark();
  assert.equal(cli(s, ['set', '--case', '1', '--type', 'square_1=waterfall'], key).status, 0);
  m = await tab.waitFor(isAction('init_data'), { from: mark2 });
  assert.equal(m.data.components[1].component_name, 'WaterfallComponent');
});

test('set --json: a stale --version is refused with 409 (exit 1), nothing pushed', async () => {
  const body = { dsettings: { layout_type: 'view_standard_3', custom_layout: {} }, components: [] };
  const r = cli(s, ['set', '--case', '1', '--json', JSON.stringify(body), '--version', '0'], key);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /Version conflict/);
  const bad = cli(s, ['set', '--case', '1', '--type', 'nope=barchart'], key);
  assert.equal(bad.status, 2);
  // the body is checked with the server's parser before anything is sent
  const typo = cli(s, ['set', '--case', '1', '--json', JSON.stringify({ ...body, dsetings: {} })], key);
  assert.equal(typo.status, 1);
  assert.match(typo.stderr, /--json: .*dsetings/);
  // a body without a version is based on the current one
  const v = JSON.parse(cli(s, ['get', '--case', '1'], key).stdout);
  const same = cli(s, ['set', '--case', '1', '--json', JSON.stringify({ dsettings: v.dsettings, components: v.components })], key);
  assert.equal(same.status, 0, same.stderr);
  assert.equal(JSON.parse(same.stdout).version, v.version + 1);
});

test('refresh, iframe, data, buttons, faq, get', async () => {
  let mark = tab.mark();
  let r = cli(s, ['refresh', '--case', '1', '--component', 'timeline_1', '--refresh-key', 'k-cli'], key);
  assert.equal(r.status, 0, r.stderr);
  await tab.waitFor((m) => m.action === 'request_component_refresh' && m.data.key === 'k-cli', { from: mark });
  mark = tab.mark();
  r = cli(s, ['refresh', '--case', '1', '--component', 'timeline_1'], key);
  assert.match(JSON.parse(r.stdout).key, /^\d{20}$/);
  mark = tab.mark();
  r = cli(s, ['iframe', '--case', '1', '--component', 'chat_1', '--url', 'https://example.com/cli'], key);
  assert.equal(r.status, 0, r.stderr);
  const i = await tab.waitFor(isAction('request_iframe_url'), { from: mark });
  assert.equal(i.data.iframe_source, 'https://example.com/cli');
  mark = tab.mark();
  r = cli(s, ['data', '--case', '1', '--component', 'timeline_1', '--json', '{"events":[]}'], key);
  assert.equal(r.status, 0, r.stderr);
  await tab.waitFor(isAction('request_component_refresh'), { from: mark });
  const file = path.join(s.dir, 'faq.json');
  fs.writeFileSync(file, JSON.stringify({ title: 'F', items: [{ question: 'q', answer: 'a' }] }));
  assert.equal(cli(s, ['faq', '--case', '1', '--file', file], key).status, 0);
  assert.equal(cli(s, ['buttons', '--case', '1', '--json', '{"title":"","buttons":[]}'], key).status, 0);
  r = cli(s, ['get', '--case', '1'], key);
  assert.equal(JSON.parse(r.stdout).components[2].src, 'https://example.com/cli');
  r = cli(s, ['refresh', '--case', '1', '--component', 'nope'], key);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /Not found/);
  assert.equal(cli(s, ['refresh', '--case', '1'], key).status, 2, 'missing --component');
  assert.equal(cli(s, ['bogus', '--case', '1'], key).status, 2);
});

test('IDs with ? & # % + and spaces reach the server intact, and the default chat src encodes them', async () => {
  const id = 'a b?c&d#e%f+g'; // not '/': the transport decodes the path before routing (docs/protocols/dashboard.md, Limits)
  let r = cli(s, ['get', '--case', id], key);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.equal(got.case_id, id);
  assert.equal(new URL(got.components[2].src).searchParams.get('case_id'), id);
  r = cli(s, ['set', '--case', id, '--layout', 'view_tall_3'], key);
  assert.equal(r.status, 0, r.stderr);
  r = cli(s, ['data', '--case', id, '--component', 'x?y z', '--json', '[1]'], key);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).component_id, 'x?y z');
  r = cli(s, ['open', '--case', id, '--user', 'u&1'], key);
  const url = new URL(r.stdout.split('\n')[0]);
  assert.equal(url.searchParams.get('case_id'), id);
  assert.equal(url.searchParams.get('user_id'), 'u&1');
});

test('open prints the page URL with a ticket that the handshake takes once', async () => {
  const r = cli(s, ['open', '--case', '1', '--user', '42'], key);
  assert.equal(r.status, 0, r.stderr);
  const url = new URL(r.stdout.split('\n')[0]);
  assert.equal(url.pathname, '/dashboard/');
  assert.equal(url.searchParams.get('case_id'), '1');
  const t = url.searchParams.get('auth_ticket');
  assert.equal((await handshake(s, t, '1', '42')).status, 200);
  assert.equal((await handshake(s, t, '1', '42')).status, 401);
});

test('the key: SB_API_KEY, else operator-key beside --db; none: exit 2', () => {
  const env = { ...process.env, SB_API_KEY: key };
  let r = spawnSync(BIN, ['dashboard', 'get', '--case', '1', '--server', s.base], { encoding: 'utf8', env, timeout: T(10000) });
  assert.equal(r.status, 0, r.stderr);
  const dir = fs.mkdtempSync(path.join(s.dir, 'k'));
  fs.writeFileSync(path.join(dir, 'operator-key'), `${key}\n`);
  r = spawnSync(BIN, ['dashboard', 'get', '--case', '1', '--server', s.base, '--db', path.join(dir, 'x.db')], { encoding: 'utf8', env: { ...process.env, SB_API_KEY: '' }, timeout: T(10000) });
  assert.equal(r.status, 0, r.stderr);
  // a PostgreSQL URL has no directory: the key is in --data-dir, as for serve (no connection made)
  r = spawnSync(BIN, ['dashboard', 'get', '--case', '1', '--server', s.base, '--db', 'postgres://nobody:secret@127.0.0.1:1/x', '--data-dir', dir], { encoding: 'utf8', env: { ...process.env, SB_API_KEY: '' }, timeout: T(10000) });
  assert.equal(r.status, 0, r.stderr);
  r = spawnSync(BIN, ['dashboard', 'get', '--case', '1', '--server', s.base, '--db', 'postgres://nobody:secret@127.0.0.1:1/x', '--data-dir', path.join(s.dir, 'none')], { encoding: 'utf8', env: { ...process.env, SB_API_KEY: '' }, timeout: T(10000) });
  assert.equal(r.status, 2);
  assert.ok(!r.stderr.includes('secret'), 'no password in the message');
  r = spawnSync(BIN, ['dashboard', 'get', '--case', '1', '--server', s.base, '--db', path.join(s.dir, 'none', 'x.db')], { encoding: 'utf8', env: { ...process.env, SB_API_KEY: '' }, timeout: T(10000) });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /operator API key is required/);
  r = spawnSync(BIN, ['dashboard', 'get', '--case', '1', '--server', s.base, '--key', 'sbk_wrong'], { encoding: 'utf8', timeout: T(10000) });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /Operator API key required/);
});

test('the demo start writes operator-key and case 1, so that the commands work at once', async () => {
  const d = await startDashboard({ demo: true });
  const k = fs.readFileSync(path.join(d.dir, 'operator-key'), 'utf8').trim();
  assert.match(k, /^sbk_[0-9a-f]{64}$/);
  assert.equal((fs.statSync(path.join(d.dir, 'operator-key')).mode & 0o777), 0o600);
  const r = spawnSync(BIN, ['dashboard', 'open', '--case', '1', '--user', '1', '--server', d.base, ...dbArgs(d.db, d.dir)], { encoding: 'utf8', env: { ...process.env, SB_API_KEY: '' }, timeout: T(10000) });
  assert.equal(r.status, 0, r.stderr);
  const fin = await session(d, k, '1', '1');
  const c = await openDashboard(d, '1', fin, '1', 'demo');
  assert.equal(c.messages[0].data.components.length, 3);
  const q = `case_id=1&fin_session_id=${fin}`;
  const { request } = await import('./dh.mjs');
  assert.equal((await request(d, `/api/v1/components/timeline_1?${q}`)).json.events.length, 4);
  assert.equal((await request(d, `/api/v1/chat_access?${q}`)).status, 200, 'user 1 is in the demo room');
  c.close();
  await d.stop();
});
