// 09_nodes: two switchboard processes (nodes) on one database, as behind a
// load balancer. What one node counts, the other sees: a code checked on both
// at once is consumed once; a phone's codes, resends and failed codes are
// limited across them; a session made on one is good on the other and ends on
// both; a session's action IDs become visible in order, so a poll that goes on
// from last_action_id, on either node, misses nothing (docs/decisions.md,
// "PostgreSQL engine", therapy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startTherapy, cleanup, addUser, addGroup, Browser, browserIn, smsLines, codeFor, req, API, isError, msg,
  checkActions, sleep, sanitizerReports, T,
} from './th.mjs';

const RESEND = 1;
let a; let b;
before(async () => {
  // one secret for both (the hashes of codes and phones must agree); the
  // first node creates the schema before the second starts
  const args = ['--otp-resend', String(RESEND), '--otp-max-codes', '3', '--otp-window', '600'];
  a = await startTherapy({ args });
  const secret = path.join(a.dir, 'therapy-secret');
  b = await startTherapy({ dir: a.dir, args: [...args, '--therapy-secret-file', secret] });
});
after(cleanup);

const tally = (answers) => {
  const by = {};
  for (const r of answers) {
    const k = `${r.status} ${(r.json && r.json.error) || 'ok'}`;
    by[k] = (by[k] || 0) + 1;
  }
  return by;
};

async function pending(server, u) {
  const br = new Browser(server);
  const n = smsLines(server).length;
  const l = await br.post('login', { phone: u.phone, last_name: u.last });
  assert.equal(l.status, 200, l.text);
  return { br, code: await codeFor(server, u.phone, n) };
}

test('one code checked on both nodes at once: consumed once', async () => {
  for (let round = 0; round < 6; round++) {
    const u = addUser(a.db, { last: `Twice${round}` });
    const { br, code } = await pending(round % 2 ? b : a, u);
    const headers = { Cookie: `sb_therapy=${br.cookie}` };
    const answers = await Promise.all([a, b, a, b].map((s) => req(s, `${API}/verifyCode`, { headers, body: { code } })));
    const by = tally(answers);
    assert.equal(by['200 ok'], 1, JSON.stringify(by));
    assert.equal((by['429 TOO_MANY_ATTEMPTS'] || 0) + (by['401 INVALID_CODE'] || 0), 3, JSON.stringify(by));
  }
});

test('a phone\'s codes and resends are limited across nodes', async () => {
  const u = addUser(a.db, { last: 'Sends' });
  // at once on both: one code goes, the other is a resend too soon
  const body = { phone: u.phone, last_name: u.last };
  const both = await Promise.all([a, b].map((s) => req(s, `${API}/login`, { body })));
  assert.deepEqual(tally(both), { '200 ok': 1, '429 CODE_RESEND_TOO_SOON': 1 });
  // two more, alternating nodes; the fourth in the window is refused on both
  for (const s of [b, a]) {
    await sleep(RESEND * 1000 + 100);
    assert.equal((await req(s, `${API}/login`, { body })).status, 200);
  }
  await sleep(RESEND * 1000 + 100);
  for (const s of [a, b]) isError(await req(s, `${API}/login`, { body }), 'TOO_MANY_CODES');
});

test('failed codes lock the phone across nodes', async () => {
  const u = addUser(a.db, { last: 'Fails' });
  // three codes, each sent by one node and failed on the other
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(RESEND * 1000 + 100);
    const { br, code } = await pending(i % 2 ? b : a, u);
    br.server = i % 2 ? a : b;
    isError(await br.post('verifyCode', { code: code === '999999' ? '999998' : '999999' }), 'INVALID_CODE');
  }
  await sleep(RESEND * 1000 + 100);
  for (const s of [a, b]) isError(await req(s, `${API}/login`, { body: { phone: u.phone, last_name: u.last } }), 'TOO_MANY_CODES');
});

test('a session made on one node is good on the other, and ends on both', async () => {
  const u = addUser(a.db, { last: 'Roams' });
  const br = new Browser(a);
  await br.login(u);
  br.server = b;
  const s = await br.get('session');
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.user, u.id);
  const cookie = { Cookie: `sb_therapy=${br.cookie}` };
  const out = await br.post('logout', {});
  assert.equal(out.status, 200, out.text);
  for (const srv of [a, b]) assert.equal((await req(srv, `${API}/session`, { method: 'GET', headers: cookie })).status, 401);
});

test('action IDs of a session become visible in order: polls from last_action_id on both nodes miss nothing', async () => {
  const g = addGroup(a.db, 2, { tag: 'N' });
  const pa = await browserIn(a, g.people[0], g.ts, 'on a');
  const pb = await browserIn(b, g.people[1], g.ts, 'on b');
  const seen = { a: [], b: [] };
  const last = { a: 0, b: 0 };
  let writing = true;
  const poll = async (name, br) => {
    while (writing || last[name] < seen.want) {
      const j = checkActions(await br.actions(last[name]), last[name]);
      for (const x of j.actions) seen[name].push(x.id);
      last[name] = j.max_id;
      if (!writing && j.actions.length === 0 && last[name] >= seen.want) break;
      await sleep(5);
    }
  };
  const polls = [poll('a', pa), poll('b', pb)];
  const write = async (br, tag) => {
    for (let i = 0; i < 40; i++) {
      const r = await br.save([msg(br.user, `${tag} ${i}`), msg(br.user, `${tag} ${i}'`)]);
      assert.equal(r.status, 200, r.text);
    }
  };
  await Promise.all([write(pa, 'a'), write(pb, 'b'), write(pa, 'a2'), write(pb, 'b2')]);
  const all = checkActions(await pa.actions(0), 0).actions.map((x) => x.id);
  assert.equal(all.length, 320);
  seen.want = all[all.length - 1];
  writing = false;
  await Promise.all(polls);
  assert.deepEqual(seen.a, all, 'the poll on a missed or repeated IDs');
  assert.deepEqual(seen.b, all, 'the poll on b missed or repeated IDs');
});

test('both nodes shut down cleanly, with no sanitizer report', async () => {
  for (const s of [a, b]) {
    const { code, signal } = await s.stop('SIGTERM', T(10000));
    assert.deepEqual(sanitizerReports(s), []);
    assert.equal(signal, null);
    assert.equal(code, 0, s.stderr.slice(-3000));
  }
});
