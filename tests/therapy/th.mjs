// th.mjs: helpers of the therapy suite (tests/therapy/README.md).
//
// A server on a fresh DB without demo data, the SMS file beside it; people and
// therapy sessions added with the real CLI; a Browser that keeps the sb_therapy
// cookie and the CSRF token like a page would; raw HTTP requests with Buffer
// bodies, per-request timeouts and abort (for long polls and the fuzzer).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BIN, T, startServer, tempDir, withTimeout, sleep, dbFor } from '../integration/harness.mjs';

export { BIN, T, sleep, withTimeout, tempDir };
export { cleanup, sqlite, sanitizerReports, dbQuery, sqliteOnly, engine } from '../integration/harness.mjs';

export const API = '/api/therapy';
export const COOKIE = 'sb_therapy';

/** Every error name of schema/therapy.lua with its status and text. */
export const ERRORS = {
  AUTH_REQUIRED: [401, 'Authentication required'],
  CODE_RESEND_TOO_SOON: [429, 'Please wait one minute before requesting a new code'],
  TOO_MANY_CODES: [429, 'Too many codes requested, try again later'],
  INVALID_CODE: [401, 'Invalid code, please start over'],
  NOT_ALLOWED_IN_SESSION: [403, 'You are not allowed in this session'],
  NO_CURRENT_SESSION: [409, 'No therapy session entered'],
  INVALID_REQUEST: [400, 'Invalid request: '],
  TOO_MANY_ATTEMPTS: [429, 'Too many attempts, please start over later'],
  RATE_LIMITED: [429, 'Too many requests, try again later'],
  CSRF_FAILED: [403, 'Request refused: '],
  ACTION_REFUSED: [403, 'Action refused: '],
  NOT_FOUND: [404, 'Not found: '],
  UNAVAILABLE: [503, 'Service temporarily unavailable, please retry'],
};

/**
 * Start `serve --no-demo --sms file:DIR/sms.jsonl` plus args; opts.dir reuses
 * a DB (and its therapy-secret). Login limits are off unless a test sets them
 * (all our clients share 127.0.0.1).
 */
export async function startTherapy(opts = {}) {
  const dir = opts.dir || tempDir('therapy');
  const sms = path.join(dir, 'sms.jsonl');
  const args = ['--sms', `file:${sms}`, '--log-level', 'debug'];
  if (!opts.limits) args.push('--otp-ip-limit', '0', '--otp-global-limit', '0', '--verify-ip-limit', '0');
  args.push(...(opts.args || []));
  const s = await startServer({ dir, demo: false, args, tag: 'therapy' });
  s.sms = sms;
  return s;
}

/** the database a server on dir uses (an SQLite file, or with SB_TEST_DB=postgres a URL) */
export function dbOf(dir) {
  return dbFor(dir, 'therapy');
}

/** `switchboard therapy ARGS --db DB`: {status, stdout, stderr}. */
export function cli(db, args) {
  const r = spawnSync(BIN, ['therapy', ...args, '--db', db], { encoding: 'utf8', timeout: T(10000) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let phoneSeq = 0;
/** a fresh E.164 number in the fictional 555 range */
export function newPhone() {
  phoneSeq++;
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(phoneSeq).padStart(4, '0')}`;
}

/** `therapy user add`: {id, phone, last, name, role} */
export function addUser(db, { id, phone = newPhone(), last = 'Doe', name = 'Alex', role = 'participant' } = {}) {
  const args = ['user', 'add', '--phone', phone, '--last-name', last, '--name', name, '--role', role];
  if (id) args.push('--id', id);
  const r = cli(db, args);
  if (r.status !== 0) throw new Error(`user add failed (${r.status}): ${r.stderr}`);
  return { id: r.stdout.trim(), phone, last, name, role };
}

/** `therapy session add`: the new ts_id (a number) */
export function addSession(db, { name = 'Tuesday evening group', date = '2023-08-01T18:00:00Z', participants, therapist, assessments = [] }) {
  const args = ['session', 'add', '--name', name, '--date', date, '--participants', participants.join(','), '--therapist', therapist];
  for (const a of assessments) args.push('--assessment', a);
  const r = cli(db, args);
  if (r.status !== 0) throw new Error(`session add failed (${r.status}): ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** a therapist T, participants P1..Pn and one session with all of them */
export function addGroup(db, n = 2, { assessments = [], tag = '' } = {}) {
  const therapist = addUser(db, { name: `Dr. Rivera${tag}`, last: 'Rivera', role: 'therapist' });
  const people = [];
  for (let i = 0; i < n; i++) people.push(addUser(db, { name: `Pat${i}${tag}`, last: `Last${i}` }));
  const ts = addSession(db, { participants: people.map((p) => p.id), therapist: therapist.id, assessments });
  return { therapist, people, ts };
}

// HTTP -----------------------------------------------------------------------

/**
 * One request: opts.method, headers, body (string, Buffer or object: JSON),
 * timeout (ms), signal (AbortSignal). Resolves {status, headers, text, json,
 * setCookies, ms}.
 */
export function req(server, p, { method = 'POST', headers = {}, body, timeout = T(5000), signal, localAddress } = {}) {
  const t0 = performance.now();
  let data = body;
  const h = { ...headers };
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    data = JSON.stringify(body);
  }
  if (data !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
    h['Content-Type'] = 'application/json';
  }
  return withTimeout(new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port: server.port, path: p, method, headers: h, agent: false, signal, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        const sc = res.headers['set-cookie'] || [];
        resolve({ status: res.statusCode, headers: res.headers, text, json, setCookies: sc, ms: performance.now() - t0 });
      });
    });
    r.on('error', reject);
    r.end(data);
  }), timeout, `${method} ${p}`);
}

/** the value of our cookie in a list of Set-Cookie headers (undefined: none) */
export function cookieValue(setCookies) {
  for (const c of setCookies || []) {
    const m = new RegExp(`^${COOKIE}=([^;]*)`).exec(c);
    if (m) return m[1];
  }
  return undefined;
}

/** the SMS lines of the file: [{to, body, code}] */
export function smsLines(server) {
  let text = '';
  try { text = fs.readFileSync(server.sms, 'utf8'); } catch { return []; }
  return text.split('\n').filter(Boolean).map((l) => {
    const j = JSON.parse(l);
    const m = /(\d{6})/.exec(j.body);
    return { ...j, code: m && m[1], line: l };
  });
}

/** the latest code sent to phone (normalized form), waiting for it to appear */
export async function codeFor(server, phone, after = 0) {
  const deadline = Date.now() + T(3000);
  for (;;) {
    const lines = smsLines(server).slice(after).filter((l) => l.to === phone);
    if (lines.length) return lines[lines.length - 1].code;
    if (Date.now() > deadline) throw new Error(`no SMS to ${phone}`);
    await sleep(10);
  }
}

/** A browser: the cookie jar of sb_therapy and the CSRF token. */
export class Browser {
  constructor(server, label = 'browser') {
    this.server = server;
    this.label = label;
    this.cookie = undefined;
    this.csrf = undefined;
    this.user = undefined;
  }

  headers(extra = {}, { csrf = true, cookie = true } = {}) {
    const h = {};
    if (cookie && this.cookie !== undefined) h.Cookie = `${COOKIE}=${this.cookie}`;
    if (csrf && this.csrf) h['X-CSRF-Token'] = this.csrf;
    return { ...h, ...extra };
  }

  absorb(r) {
    const v = cookieValue(r.setCookies);
    if (v !== undefined) this.cookie = v === '' ? undefined : v;
    return r;
  }

  async post(name, body, opts = {}) {
    const r = await req(this.server, `${API}/${name}`, {
      method: 'POST', body, headers: this.headers(opts.headers, opts), timeout: opts.timeout, signal: opts.signal, localAddress: opts.localAddress,
    });
    return this.absorb(r);
  }

  async get(name, opts = {}) {
    const r = await req(this.server, `${API}/${name}`, { method: 'GET', headers: this.headers(opts.headers, opts), timeout: opts.timeout });
    return this.absorb(r);
  }

  /** login + the SMS code + verifyCode; returns the verifyCode answer */
  async login(u) {
    const before = smsLines(this.server).length;
    const l = await this.post('login', { phone: u.phone, last_name: u.last });
    if (l.status !== 200) throw new Error(`${this.label}: login ${l.status} ${l.text}`);
    this.preLogin = this.cookie;
    const code = await codeFor(this.server, u.phone, before);
    const v = await this.post('verifyCode', { code });
    if (v.status !== 200) throw new Error(`${this.label}: verifyCode ${v.status} ${v.text}`);
    this.csrf = v.json.csrf_token;
    this.user = v.json.user;
    return v;
  }

  async enter(ts) {
    const r = await this.post('enterTherapySession', { ts_id: ts });
    if (r.status !== 200) throw new Error(`${this.label}: enter ${ts}: ${r.status} ${r.text}`);
    return r;
  }

  async actions(last = 0, { signal, ...extra } = {}) {
    return this.post('getActions', { last_action_id: last, ...extra }, { signal, timeout: extra.wait ? T(extra.wait * 1000 + 5000) : undefined });
  }

  async save(items, opts = {}) {
    return this.post('saveActions', items, opts);
  }
}

/** login and enter in one go */
export async function browserIn(server, u, ts, label) {
  const b = new Browser(server, label || u.name);
  await b.login(u);
  if (ts) await b.enter(ts);
  return b;
}

// Items ----------------------------------------------------------------------

let clientTs = 0;
const ts = () => new Date(Date.UTC(2023, 7, 2, 22, 0, 0, clientTs++)).toISOString();

export function msg(user, body, { recipients = [], target = null } = {}) {
  return { client_ts: ts(), type: 'message', user, recipients, body, character_history: [...body].slice(0, 50), time_to_complete: '671ms', target };
}
export const reaction = (user, target, icon = 'heart') => ({ client_ts: ts(), type: 'reaction', target, user, icon });
export const del = (target) => ({ client_ts: ts(), type: 'delete', target });
export const read = (user, target) => ({ client_ts: ts(), type: 'message_read', target, user });

// Checks -----------------------------------------------------------------------

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** assert-style check of an error answer: status, exact body keys, text, header */
export function isError(r, name, { detail } = {}) {
  const [status, text] = ERRORS[name];
  const why = `${r.status} ${r.text}`;
  if (r.status !== status) throw new Error(`want ${status} ${name}, got ${why}`);
  if (!r.json || r.json.error !== name) throw new Error(`want error ${name}, got ${why}`);
  const keys = Object.keys(r.json).sort().join(',');
  if (keys !== 'error,result' && keys !== 'error,result,retry_after') throw new Error(`error keys ${keys}: ${why}`);
  if (!r.json.result.startsWith(text)) throw new Error(`error text: ${why}`);
  if (detail !== undefined && !(detail instanceof RegExp ? detail.test(r.json.result) : r.json.result.includes(detail))) {
    throw new Error(`detail ${detail} not in ${why}`);
  }
  if (!/^application\/json/.test(r.headers['content-type'] || '')) throw new Error(`content-type ${r.headers['content-type']}`);
  if (status === 429) {
    if (!(Number.isInteger(r.json.retry_after) && r.json.retry_after >= 1)) throw new Error(`retry_after: ${why}`);
    if (r.headers['retry-after'] !== String(r.json.retry_after)) throw new Error(`Retry-After ${r.headers['retry-after']} vs ${r.json.retry_after}`);
  }
  return true;
}

/** the keys each out action has, in the schema's field order */
export const OUT_KEYS = {
  message: ['id', 'type', 'user', 'body', 'recipients', 'target', 'callout', 'timestamp'],
  delete: ['id', 'type', 'target', 'timestamp'],
  notice: ['id', 'type', 'body', 'sender', 'recipients', 'timestamp'],
  message_read: ['id', 'type', 'target', 'user', 'timestamp'],
  reaction: ['id', 'type', 'target', 'icon', 'user', 'timestamp'],
  whiteboard: ['id', 'type', 'timestamp'],
  update_assessments: ['id', 'type', 'timestamp'],
  update_chat_details: ['id', 'type', 'timestamp'],
};

/** a getActions answer checked against the schema; returns it */
export function checkActions(r, last) {
  if (r.status !== 200) throw new Error(`getActions ${r.status} ${r.text}`);
  const j = r.json;
  const keys = Object.keys(j).join(',');
  if (keys !== 'result,server_time,max_id,actions') throw new Error(`getActions keys ${keys}`);
  if (j.result !== 'ok') throw new Error(`result ${j.result}`);
  const nowUs = Date.now() * 1000;
  if (!Number.isInteger(j.server_time) || Math.abs(j.server_time - nowUs) > 5e6) throw new Error(`server_time ${j.server_time} vs ${nowUs}`);
  let prev = last;
  for (const a of j.actions) {
    const want = OUT_KEYS[a.type];
    if (!want) throw new Error(`unknown type ${a.type}`);
    if (Object.keys(a).join(',') !== want.join(',')) throw new Error(`${a.type} keys ${Object.keys(a)} want ${want}`);
    if (!(Number.isInteger(a.id) && a.id > prev)) throw new Error(`ids not increasing: ${a.id} after ${prev}`);
    prev = a.id;
    if (!ISO.test(a.timestamp)) throw new Error(`timestamp ${a.timestamp}`);
  }
  // max_id may pass actions the user cannot see (the cursor moves past them)
  if (j.actions.length && j.max_id < j.actions[j.actions.length - 1].id) throw new Error(`max_id ${j.max_id}`);
  if (j.max_id < last) throw new Error(`max_id ${j.max_id} < ${last}`);
  return j;
}

/** every action the browser can see from 0 */
export async function allActions(b) {
  const r = await b.actions(0);
  return checkActions(r, 0).actions;
}

/** wait until the server's stderr matches re (log lines arrive through a pipe) */
export async function waitLog(server, re, ms = T(3000)) {
  const deadline = Date.now() + ms;
  while (!re.test(server.stderr)) {
    if (Date.now() > deadline) throw new Error(`no log line ${re} in:\n${server.stderr.slice(-3000)}`);
    await sleep(10);
  }
}

/** the newest action id the browser can page to (getActions answers 1000 at most) */
export async function head(b) {
  let last = 0;
  for (;;) {
    const j = checkActions(await b.actions(last), last);
    if (j.max_id === last) return last;
    last = j.max_id;
  }
}
