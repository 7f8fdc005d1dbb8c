// 04_otp: the one-time code rules (bad-input table rows 36-41, therapy_login.c).
// Unknown and known phone/last name get byte-identical login answers in similar
// time; a resend within --otp-resend is 429 CODE_RESEND_TOO_SOON (retry_after
// and Retry-After); after a resend only the latest code is valid; more than
// --otp-max-codes in the window is 429 TOO_MANY_CODES; a wrong code ends the
// login (even the right code then gets 429 TOO_MANY_ATTEMPTS); failed codes
// lock the phone; a used code and an expired one are refused; 10 parallel
// checks of one login evaluate exactly one; malformed codes and phones are
// 400 (and cost no try); --otp-ip-limit, --otp-global-limit and
// --verify-ip-limit answer 429 RATE_LIMITED and log therapy_otp_abuse; the
// server's log never holds a code, a cookie value or a CSRF token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTherapy, cleanup, addUser, newPhone, Browser, smsLines, codeFor, req, API, isError, T, sleep, waitLog,
} from './th.mjs';

let s; let lim;
const secrets = new Set(); // every code, cookie value and CSRF token seen
const RESEND = 2;
const TTL = 2;
before(async () => {
  [s, lim] = await Promise.all([
    startTherapy({ args: ['--otp-resend', String(RESEND), '--otp-ttl', String(TTL), '--otp-window', '60', '--otp-max-codes', '3'] }),
    startTherapy({ limits: true, args: ['--otp-ip-limit', '3', '--otp-global-limit', '5', '--verify-ip-limit', '3'] }),
  ]);
});
after(cleanup);

function remember(b) {
  for (const v of [b.cookie, b.preLogin, b.csrf]) if (v) secrets.add(v);
}

async function startLogin(u, server = s) {
  const b = new Browser(server);
  const before1 = smsLines(server).length;
  const l = await b.post('login', { phone: u.phone, last_name: u.last });
  assert.equal(l.status, 200, l.text);
  remember(b);
  const code = await codeFor(server, u.phone, before1);
  secrets.add(code);
  return { b, code };
}

const median = (a) => { const x = [...a].sort((p, q) => p - q); return x[x.length >> 1]; };

test('known and unknown phones get byte-identical answers in similar time', async () => {
  const known = []; const unknown = [];
  for (let i = 0; i < 20; i++) known.push(addUser(s.db, { last: `Known${i}` }));
  for (let i = 0; i < 20; i++) unknown.push({ phone: newPhone(), last: 'Nobody' });
  const wrongName = addUser(s.db, { last: 'Right' });
  const answers = new Set();
  const tk = []; const tu = [];
  // interleaved, so that drift hits both alike
  for (let i = 0; i < 20; i++) {
    for (const [u, times] of [[known[i], tk], [unknown[i], tu]]) {
      const r = await req(s, `${API}/login`, { body: { phone: u.phone, last_name: u.last } });
      assert.equal(r.status, 200, r.text);
      times.push(r.ms);
      answers.add(r.text);
      assert.match(r.setCookies[0], /^sb_therapy=[0-9a-f]{64}; /);
      secrets.add(r.setCookies[0].slice(11, 75));
    }
  }
  const w = await req(s, `${API}/login`, { body: { phone: wrongName.phone, last_name: 'Wrong' } });
  answers.add(w.text);
  assert.deepEqual([...answers], [JSON.stringify({ result: 'If the details match, a code has been sent by SMS', resend_after: RESEND })]);
  const mk = median(tk); const mu = median(tu);
  assert.ok(Math.abs(mk - mu) < T(15), `median known ${mk.toFixed(2)} ms, unknown ${mu.toFixed(2)} ms`);
  // SMS went to the known ones only
  const to = new Set(smsLines(s).map((l) => l.to));
  for (const u of known) assert.ok(to.has(u.phone));
  for (const u of unknown) assert.ok(!to.has(u.phone));
  assert.ok(!to.has(wrongName.phone));
  for (const l of smsLines(s)) secrets.add(l.code);
});

test('resend too soon; only the latest code is valid; too many codes', async () => {
  const u = addUser(s.db, {});
  const first = await startLogin(u);
  const again = await new Browser(s).post('login', { phone: u.phone, last_name: u.last });
  isError(again, 'CODE_RESEND_TOO_SOON');
  assert.ok(again.json.retry_after <= RESEND);
  // an unknown phone is limited alike (no way to tell them apart)
  const ghost = newPhone();
  assert.equal((await req(s, `${API}/login`, { body: { phone: ghost, last_name: 'X' } })).status, 200);
  isError(await req(s, `${API}/login`, { body: { phone: ghost, last_name: 'X' } }), 'CODE_RESEND_TOO_SOON');
  await sleep(RESEND * 1000 + 100);
  const second = await startLogin(u);
  assert.notEqual(second.b.cookie, first.b.cookie);
  // the first browser's code is gone (its pending login was dropped)
  isError(await first.b.post('verifyCode', { code: first.code }), 'INVALID_CODE');
  await sleep(RESEND * 1000 + 100);
  const third = await startLogin(u);
  // the second code on the third login's cookie: wrong (only the latest is valid)
  if (second.code !== third.code) {
    isError(await third.b.post('verifyCode', { code: second.code }), 'INVALID_CODE');
  }
  await sleep(RESEND * 1000 + 100);
  const fourth = await new Browser(s).post('login', { phone: u.phone, last_name: u.last });
  isError(fourth, 'TOO_MANY_CODES');
  assert.ok(fourth.json.retry_after > 50 && fourth.json.retry_after <= 60, `retry_after ${fourth.json.retry_after}`);
});

test('a wrong code ends the login: then even the right one is 429 TOO_MANY_ATTEMPTS', async () => {
  const u = addUser(s.db, {});
  const { b, code } = await startLogin(u);
  const wrong = code === '000000' ? '000001' : '000000';
  isError(await b.post('verifyCode', { code: wrong }), 'INVALID_CODE');
  isError(await b.post('verifyCode', { code }), 'TOO_MANY_ATTEMPTS');
  assert.equal((await b.get('session')).status, 401);
});

test('failed codes lock the phone', async () => {
  const u = addUser(s.db, {});
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(RESEND * 1000 + 100);
    const { b, code } = await startLogin(u);
    isError(await b.post('verifyCode', { code: code === '999999' ? '999998' : '999999' }), 'INVALID_CODE');
  }
  await sleep(RESEND * 1000 + 100);
  isError(await new Browser(s).post('login', { phone: u.phone, last_name: u.last }), 'TOO_MANY_CODES');
});

test('a used code and an expired one are refused', async () => {
  const u = addUser(s.db, {});
  const { b, code } = await startLogin(u);
  const pre = b.cookie;
  const ok = await b.post('verifyCode', { code });
  assert.equal(ok.status, 200);
  remember(b);
  secrets.add(ok.json.csrf_token);
  isError(await b.post('verifyCode', { code }), 'INVALID_CODE');
  isError(await req(s, `${API}/verifyCode`, { headers: { Cookie: `sb_therapy=${pre}` }, body: { code } }), 'INVALID_CODE');
  const v = addUser(s.db, {});
  const late = await startLogin(v);
  await sleep(TTL * 1000 + 300);
  isError(await late.b.post('verifyCode', { code: late.code }), 'INVALID_CODE');
  await waitLog(s, /event=therapy_code_refused ip=\S+ reason=expired/);
});

test('10 parallel checks of one pending login: exactly one is evaluated', async () => {
  for (const withRight of [false, true]) {
    const u = addUser(s.db, {});
    const { b, code } = await startLogin(u);
    const codes = [];
    for (let i = 0; codes.length < 10; i++) {
      const c = String(100000 + i * 7919).slice(0, 6);
      if (c !== code) codes.push(c);
    }
    if (withRight) codes[5] = code;
    const answers = await Promise.all(codes.map((c) => req(s, `${API}/verifyCode`, { headers: { Cookie: `sb_therapy=${b.cookie}` }, body: { code: c } })));
    const by = {};
    for (const r of answers) by[`${r.status} ${r.json.error || 'ok'}`] = (by[`${r.status} ${r.json.error || 'ok'}`] || 0) + 1;
    const evaluated = (by['401 INVALID_CODE'] || 0) + (by['200 ok'] || 0);
    assert.equal(evaluated, 1, JSON.stringify(by));
    assert.equal(by['429 TOO_MANY_ATTEMPTS'], 9, JSON.stringify(by));
    for (const r of answers) if (r.status === 200) secrets.add(r.json.csrf_token), secrets.add(r.setCookies[0].slice(11, 75));
  }
});

test('malformed codes are 400 and cost no try; phone formats', async () => {
  const u = addUser(s.db, { phone: '+15557770001' });
  const b = new Browser(s);
  // spaces, dashes, dots, parentheses; a 10-digit local number is North American
  const l = await b.post('login', { phone: '(555) 777-0001', last_name: `  ${u.last.toUpperCase()} ` });
  assert.equal(l.status, 200);
  remember(b);
  const code = await codeFor(s, '+15557770001');
  secrets.add(code);
  for (const bad of ['12345', '1234567', '', '١٢٣٤٥٦', '12 345', ' 123456', '12345a', '１２３４５６']) {
    isError(await b.post('verifyCode', { code: bad }), 'INVALID_REQUEST', { detail: 'code' });
  }
  isError(await b.post('verifyCode', { code: 123456 }), 'INVALID_REQUEST');
  const ok = await b.post('verifyCode', { code });
  assert.equal(ok.status, 200, 'the malformed ones cost no try');
  remember(b);
  secrets.add(ok.json.csrf_token);
  for (const phone of ['+1 555 ABC 0001', '+١٥٥٥٧٧٧٠٠٠١', '555-0001', '+1555777000100000', '++15557770001', '+1555\u00a07770001', '']) {
    isError(await req(s, `${API}/login`, { body: { phone, last_name: 'x' } }), 'INVALID_REQUEST', { detail: 'phone' });
  }
  const w = await req(s, `${API}/login`, { body: { phone: '+44 20-7946.0958', last_name: 'X' } });
  assert.equal(w.status, 200);
});

test('address, server-wide and verify caps: 429 RATE_LIMITED and a therapy_otp_abuse line', async () => {
  const login = (localAddress) => req(lim, `${API}/login`, { localAddress, body: { phone: newPhone(), last_name: 'X' } });
  for (let i = 0; i < 3; i++) assert.equal((await login('127.0.0.1')).status, 200);
  isError(await login('127.0.0.1'), 'RATE_LIMITED');
  await waitLog(lim, /event=therapy_otp_abuse limit=address ip=127\.0\.0\.1 codes=3/);
  // another address may go on, until the server-wide cap (5)
  for (let i = 0; i < 2; i++) assert.equal((await login('127.0.0.2')).status, 200);
  isError(await login('127.0.0.3'), 'RATE_LIMITED');
  await waitLog(lim, /event=therapy_otp_abuse limit=global codes=5/);
  // verify: 3 checks an address
  const verify = () => req(lim, `${API}/verifyCode`, { localAddress: '127.0.0.4', body: { code: '123456' } });
  for (let i = 0; i < 3; i++) isError(await verify(), 'INVALID_CODE');
  isError(await verify(), 'RATE_LIMITED');
  await waitLog(lim, /event=therapy_otp_abuse limit=verify ip=127\.0\.0\.4 checks=3/);
  for (const l of smsLines(lim)) secrets.add(l.code);
});

test('the logs never hold a code, a cookie value or a CSRF token', async () => {
  await sleep(T(300)); // the last lines through the pipe
  assert.ok(secrets.size > 50, `${secrets.size} secrets collected`);
  for (const srv of [s, lim]) {
    const log = srv.stderr + srv.stdout;
    assert.ok(log.length > 1000);
    for (const v of secrets) {
      // a code as a number of its own (not inside e.g. max_queue=1048576)
      const hit = v.length === 6 ? new RegExp(`(^|\\D)${v}(\\D|$)`).test(log) : log.includes(v);
      assert.ok(!hit, `the log holds ${v}`);
    }
    // and no phone in full (masked as ***1234)
    assert.doesNotMatch(log, /\+1555\d{7}/);
  }
});
