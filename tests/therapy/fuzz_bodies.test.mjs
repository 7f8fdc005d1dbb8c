// fuzz_bodies: mutation fuzzing of request bodies over HTTP, every therapy
// endpoint that reads a body, with a valid session (and the operator key).
// Seeds: generated/fuzz/corpus/therapy/*.json (the schema's examples), fitted
// to this DB's ids. Mutations: byte flips, truncation, duplicate keys, deep
// nesting, huge and odd numbers, invalid UTF-8 and lone surrogates, wrong
// types, splices of two seeds, long strings, junk. Every answer must be a
// 2xx or a 4xx whose body is JSON of the schema's error shape
// {"result", "error": NAME[, "retry_after"]} with a known NAME: never a 5xx,
// never a hang (each request has a deadline). At the end: the server is alive,
// /healthz ok, every action stored by the fuzzer reads back per the schema,
// and the log holds no therapy_action_unreadable line.
// SB_FUZZ_SEED=N replays a run; SB_FUZZ_N sets the request count (default 10000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startTherapy, cleanup, addGroup, browserIn, req, API, ERRORS, checkActions, BIN, T, sanitizerReports,
} from './th.mjs';
import { ROOT } from '../integration/harness.mjs';
import { fuzzer } from '../support/mutate.mjs';

const SEED = Number(process.env.SB_FUZZ_SEED || Date.now() % 1e9);
const N = Number(process.env.SB_FUZZ_N || 10000);

const corpus = []; // filled before the first test
const { rnd, pick, int, mutate } = fuzzer(SEED, corpus);

let s; let g; let b; let key;
before(async () => {
  s = await startTherapy();
  g = addGroup(s.db, 2, { assessments: ['intake:incomplete:https://example.com/i'] });
  b = await browserIn(s, g.people[0], g.ts, 'fuzzer');
  key = execFileSync(BIN, ['apikey', 'add', '--name', 'fuzz', '--db', s.db], { encoding: 'utf8' }).trim().split('\t')[2];
  // a few messages to target
  const r = await b.save([0, 1, 2].map((i) => ({ client_ts: '2023-08-02T22:02:53.375Z', type: 'message', user: b.user, recipients: [], body: `seed ${i}`, character_history: [], time_to_complete: '1ms', target: null })));
  assert.equal(r.status, 200, r.text);
  const dir = path.join(ROOT, 'generated', 'fuzz', 'corpus', 'therapy');
  for (const f of fs.readdirSync(dir).sort()) {
    // fit the examples' ids to this DB, so that some mutants are accepted
    const text = fs.readFileSync(path.join(dir, f), 'utf8')
      .replaceAll('"P456"', JSON.stringify(b.user)).replaceAll('"123XYZ"', JSON.stringify(g.therapist.id))
      .replace(/"ts_id":\s*77/g, `"ts_id":${g.ts}`)
      .replace(/"target":\s*\d+/g, `"target":${r.json.ids[int(3)]}`);
    corpus.push(text);
  }
  assert.ok(corpus.length >= 30);
});
after(cleanup);

// where each seed shape goes
function routeFor(text) {
  let j;
  try { j = JSON.parse(text); } catch { return null; }
  if (j.type && j.client_ts) return 'saveActions';
  const k = Object.keys(j).sort().join(',');
  const map = {
    'last_name,phone': 'login', code: 'verifyCode', ts_id: 'enterTherapySession',
    'p_id,ts_id': 'getTherapySessionAssessments', last_action_id: 'getActions', 'last_action_id,wait': 'getActions',
    'body,sender,ts_id': 'operator/notice', 'ts_id,type': 'operator/signal', 'name,p_id,status,ts_id': 'operator/assessment',
  };
  return map[k] || null;
}

const ENDPOINTS = ['login', 'verifyCode', 'enterTherapySession', 'getTherapySessionDetail', 'getTherapySessionAssessments',
  'getActions', 'saveActions', 'operator/notice', 'operator/signal', 'operator/assessment'];

/** keep held getActions short: a wait the JS parser can see is set to 0 */
function noLongWait(name, body) {
  if (name !== 'getActions') return body;
  try {
    const j = JSON.parse(body.toString('utf8'));
    if (j && typeof j === 'object' && 'wait' in j && typeof j.wait === 'number' && j.wait > 0) {
      return Buffer.from(body.toString('latin1').replace(/"wait"\s*:\s*[^,}]+/g, '"wait":0'), 'latin1');
    }
  } catch { /* not JSON: the server refuses it */ }
  return body;
}

function headersFor(name) {
  if (name.startsWith('operator/')) return { Authorization: `Bearer ${key}` };
  // login and verifyCode without the cookie: a login would end the session
  if (name === 'login' || name === 'verifyCode') return {};
  return { Cookie: `sb_therapy=${b.cookie}`, 'X-CSRF-Token': b.csrf };
}

function checkAnswer(r, name, body) {
  const what = () => `${name} <- ${JSON.stringify(body.toString('latin1').slice(0, 300))} (seed ${SEED}): ${r.status} ${r.text.slice(0, 300)}`;
  assert.ok(r.status >= 200 && r.status < 500, `5xx or odd status: ${what()}`);
  assert.ok(r.json && typeof r.json === 'object' && !Array.isArray(r.json), `not a JSON object: ${what()}`);
  assert.equal(typeof r.json.result, 'string', `no result: ${what()}`);
  if (r.status >= 400) {
    assert.ok(ERRORS[r.json.error], `unknown error name: ${what()}`);
    assert.equal(ERRORS[r.json.error][0], r.status, `status of ${r.json.error}: ${what()}`);
    const keys = Object.keys(r.json).sort().join(',');
    assert.ok(keys === 'error,result' || keys === 'error,result,retry_after', `error keys ${keys}: ${what()}`);
  }
}

test(`${N} mutated bodies against every endpoint: 2xx or a schema-shaped 4xx, never 5xx or a hang`, async () => {
  console.log(`fuzz seed ${SEED} (SB_FUZZ_SEED=${SEED} replays it)`);
  const counts = {};
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      let seed = pick(corpus);
      const name = rnd() < 0.7 ? (routeFor(seed) || pick(ENDPOINTS)) : pick(ENDPOINTS);
      // saveActions' body is the array of items
      if (name === 'saveActions' && seed.startsWith('{')) seed = `[${seed}]`;
      const body = noLongWait(name, mutate(Buffer.from(seed)));
      let r;
      try {
        r = await req(s, `${API}/${name}`, { body, headers: headersFor(name), timeout: T(10000) });
      } catch (e) {
        throw new Error(`request ${i} ${name} <- ${JSON.stringify(body.toString('latin1').slice(0, 300))} (seed ${SEED}): ${e.message}\n${s.stderr.slice(-2000)}`);
      }
      checkAnswer(r, name, body);
      const k = `${name} ${r.status}${r.json.error ? ` ${r.json.error}` : ''}`;
      counts[k] = (counts[k] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  console.log(Object.entries(counts).sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
  // some mutants must have been accepted, most refused: the fuzzer reached both sides
  const ok = Object.entries(counts).filter(([k]) => / 200$/.test(k)).reduce((a, [, v]) => a + v, 0);
  assert.ok(ok > N / 50, `${ok} accepted`);
  assert.ok(counts['saveActions 200'] > 0 && counts['saveActions 400 INVALID_REQUEST'] > 0);
});

test('after the fuzzing: alive, healthy, every stored action reads back per the schema', async () => {
  assert.equal(s.exitCode, undefined, 'the server is running');
  const h = await req(s, '/healthz', { method: 'GET' });
  assert.equal(h.status, 200, h.text);
  // the fuzzer may have moved the session elsewhere or logged nothing out: enter again
  const e = await b.post('enterTherapySession', { ts_id: g.ts });
  assert.equal(e.status, 200, e.text);
  let last = 0; let n = 0;
  for (;;) {
    const j = checkActions(await b.actions(last), last);
    n += j.actions.length;
    if (j.max_id === last) break;
    last = j.max_id;
  }
  assert.ok(n > 3, `${n} actions`);
  assert.doesNotMatch(s.stderr, /therapy_action_unreadable|level=error/);
});

test('a clean shutdown after the fuzzing, and no sanitizer report', async () => {
  const { code, signal } = await s.stop('SIGTERM', T(10000));
  assert.deepEqual(sanitizerReports(s), []);
  assert.equal(signal, null);
  assert.equal(code, 0, s.stderr.slice(-3000));
});
