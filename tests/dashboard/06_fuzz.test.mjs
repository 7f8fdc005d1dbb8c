// 06_fuzz: mutation fuzzing of everything a client or an operator sends.
// Over the WebSocket: the inbound union's examples (generated/fuzz/corpus/
// dashboard) mutated and sent as text frames on several dashboards; the
// server answers only valid ones (init_data, pong), ignores the rest, and
// closes only with 1008 (--max-invalid) or 1009 (too big). Over HTTP: the
// handshake and every operator body mutated; every answer is a 2xx or a
// schema-shaped 4xx {"error"[, "version"]}, never a 5xx or a hang. At the
// end: alive, healthy, each case's dashboard reads back per the schema,
// no error logged, a clean shutdown and no sanitizer report.
// SB_FUZZ_SEED=N replays a run; SB_FUZZ_N sets the counts (default 3000 each).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startDashboard, cleanup, apikey, op, session, ticket, openDashboard, ERRORS, META, T, request,
} from './dh.mjs';
import { ROOT, sanitizerReports } from '../integration/harness.mjs';
import { fuzzer } from '../support/mutate.mjs';

const SEED = Number(process.env.SB_FUZZ_SEED || Date.now() % 1e9);
const N = Number(process.env.SB_FUZZ_N || 3000);
const corpus = [];
const { rnd, pick, mutate } = fuzzer(SEED, corpus);

let s; let key; let fin;
before(async () => {
  s = await startDashboard({ args: ['--max-invalid', '1000000'] });
  key = apikey(s);
  fin = await session(s, key, '1', '42');
  const dir = path.join(ROOT, 'generated', 'fuzz', 'corpus', 'dashboard');
  for (const f of fs.readdirSync(dir).sort()) corpus.push(fs.readFileSync(path.join(dir, f), 'utf8'));
  assert.ok(corpus.length >= 10);
  console.log(`fuzz seed ${SEED} (SB_FUZZ_SEED=${SEED} replays it)`);
});
after(cleanup);

test(`${N} mutated frames over the WebSocket: answered, ignored, or closed with 1008/1009`, async () => {
  const inbound = corpus.filter((t) => /"action":\s*"request_/.test(t));
  assert.ok(inbound.length >= 2);
  let sent = 0; let answered = 0;
  const worker = async (w) => {
    let c = await openDashboard(s, '1', fin, '42', `fuzz ${w}`);
    while (sent < N) {
      sent++;
      const seed = rnd() < 0.8 ? pick(inbound) : pick(corpus);
      const frame = mutate(Buffer.from(seed)).subarray(0, 4096);
      // text frames must be UTF-8: the runtime closes with 1007 otherwise (tested in 13_protocol)
      const text = frame.toString('utf8');
      const mark = c.mark();
      c.send(text);
      // a ping after each frame: its pong proves the frame was handled
      c.send({ action: 'request_ping' });
      try {
        await c.waitFor((m) => m.action === 'pong', { from: mark, what: `pong after ${JSON.stringify(text.slice(0, 200))} (seed ${SEED})` });
      } catch (e) {
        if (!c.closeInfo) throw e;
        assert.ok([1008, 1009].includes(c.closeInfo.code), `closed ${c.closeInfo.code} after ${JSON.stringify(text.slice(0, 200))} (seed ${SEED})`);
        c = await openDashboard(s, '1', fin, '42', `fuzz ${w}`);
        continue;
      }
      for (const m of c.messages.slice(mark)) {
        assert.ok(['pong', 'init_data'].includes(m.action), `unexpected ${JSON.stringify(m)} (seed ${SEED})`);
        if (m.action === 'init_data') { answered++; assert.deepEqual(m.meta, META); }
      }
    }
    c.close();
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  console.log(`${sent} frames, ${answered} answered with init_data`);
  assert.ok(answered > 0, 'some mutants were valid requests');
});

const ROUTES = [
  ['PUT', '/api/v1/cases/1/dashboard', /"dsettings"/],
  ['POST', '/api/v1/cases/1/components/chat_1/iframe', /"iframe_source"/],
  ['POST', '/api/v1/cases/1/components/timeline_1/refresh', /^\{\}$|"key"/],
  ['PUT', '/api/v1/cases/1/components/timeline_1/data', /./],
  ['PUT', '/api/v1/cases/1/views/buttons', /"buttons"/],
  ['PUT', '/api/v1/cases/1/views/faq', /"items"/],
  ['PUT', '/api/v1/cases/1/chat', /"room_id"/],
  ['POST', '/request_for_auth', /"case_id"/],
  ['POST', '/auth_handshake', /"auth_ticket"/],
];

test(`${N} mutated bodies against the handshake and the operator API: 2xx or a schema-shaped 4xx`, async () => {
  const t = await ticket(s, key, '1', '42');
  const counts = {};
  let next = 0;
  const worker = async () => {
    while (next < N) {
      next++;
      let seed = pick(corpus);
      let route = ROUTES.find(([, , re]) => re.test(seed) && rnd() < 0.7) || pick(ROUTES);
      if (route[1] === '/auth_handshake') seed = seed.replace(/"t-[0-9a-f]+"/, JSON.stringify(t));
      // the PUT bodies start from the current version, so that some pass
      if (route[1].endsWith('/dashboard')) seed = seed.replace(/"version":\s*\d+/, `"version":${(await op(s, key, 'GET', '/api/v1/cases/1/dashboard')).json.version}`);
      const body = mutate(Buffer.from(seed));
      const r = await op(s, key, route[0], route[1], body.toString('latin1') === body.toString('utf8') ? body.toString('utf8') : body);
      const what = `${route[0]} ${route[1]} <- ${JSON.stringify(body.toString('latin1').slice(0, 300))} (seed ${SEED}): ${r.status} ${r.text.slice(0, 300)}`;
      assert.ok(r.status >= 200 && r.status < 500, `5xx: ${what}`);
      if (r.status >= 400) {
        assert.ok(r.json && typeof r.json.error === 'string', `error body: ${what}`);
        const known = Object.values(ERRORS).some(([st, text]) => st === r.status && r.json.error.startsWith(text));
        const transport = [411, 413, 415].includes(r.status);
        assert.ok(known || transport, `unknown error: ${what}`);
        const keys = Object.keys(r.json).sort().join(',');
        assert.ok(keys === 'error' || keys === 'error,version', `keys ${keys}: ${what}`);
      }
      const k = `${route[0]} ${route[1]} ${r.status}`;
      counts[k] = (counts[k] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  console.log(Object.entries(counts).sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
  const ok = Object.entries(counts).filter(([k]) => / 200$/.test(k)).reduce((a, [, v]) => a + v, 0);
  assert.ok(ok > N / 50, `${ok} accepted`);
});

test('after the fuzzing: alive, healthy, the dashboard reads back per the schema, a clean exit', async () => {
  assert.equal(s.exitCode, undefined, 'the server is running');
  assert.equal((await request(s, '/healthz')).status, 200);
  const c = await openDashboard(s, '1', fin, '42', 'after');
  assert.deepEqual(c.messages[0].meta, META);
  assert.equal(c.messages[0].data.components.length, 3);
  c.close();
  const r = await op(s, key, 'GET', '/api/v1/cases/1/dashboard');
  assert.equal(r.status, 200);
  assert.doesNotMatch(s.stderr, /level=error/);
  const { code, signal } = await s.stop('SIGTERM', T(10000));
  assert.deepEqual(sanitizerReports(s), []);
  assert.equal(signal, null);
  assert.equal(code, 0, s.stderr.slice(-3000));
});
