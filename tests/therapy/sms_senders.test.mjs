// sms_senders.test.mjs: the therapy protocol's SMS senders
// (handlers/therapy_sms.c), driven by tests/therapy/sms_tool.c against fake
// providers in this process on 127.0.0.1: a webhook receiver that checks the
// HMAC signature, receivers that fail with 500, 400, 429 or stall, a fake
// Twilio that checks the path, Basic auth and the form, https with a
// certificate made by `openssl req` at test time (trusted through
// --sms-ca-file, or not), and the file sender's lines and mode.
//
// Every run's stderr (the sender's log) is checked never to hold an SMS's
// body, the webhook secret, the Twilio token or a whole phone number.
//
// SMS_TOOL_BIN names the tool (ctest sets it); SMS_TOOL_WRAPPER (e.g.
// "valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite")
// runs it under a checker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

const tool = process.env.SMS_TOOL_BIN;
assert.ok(tool, 'SMS_TOOL_BIN must name the sms_tool binary');
const scale = Number(process.env.SB_TEST_TIMEOUT_SCALE || 1);
const wrapper = (process.env.SMS_TOOL_WRAPPER || '').split(' ').filter(Boolean);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-sms-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const TO = '+15555550123';
const CODE = '804213';
const BODY = `Your Switchboard code is ${CODE}. It expires in 10 minutes.`;
const SECRET = 'whsec_' + crypto.randomBytes(16).toString('hex');
const TWILIO = {
  TWILIO_ACCOUNT_SID: 'AC' + crypto.randomBytes(16).toString('hex'),
  TWILIO_AUTH_TOKEN: 'tok_' + crypto.randomBytes(16).toString('hex'),
  TWILIO_FROM: '+15555550100',
};

// Certificates, made once: one for 127.0.0.1 (what the tests connect to) and
// one for another name only (a hostname mismatch even when trusted).
function makeCert(name, san) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert), file: cert };
}
const local = makeCert('local', 'IP:127.0.0.1,DNS:localhost');
const other = makeCert('other', 'DNS:sms.example.test');

// A fake provider. answers: what each request gets in turn (the last one
// repeats): a status, { status, json }, or 'stall' (never answered).
async function provider(answers, { tls = null, check = null } = {}) {
  const seen = [];
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method, url: req.url, headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'), at: performance.now() };
      seen.push(r);
      if (check) check(r);
      const a = answers[Math.min(seen.length - 1, answers.length - 1)];
      if (a === 'stall') return;
      const { status, json } = typeof a === 'number' ? { status: a } : a;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json ?? { ok: status < 300 }));
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler)
    : http.createServer(handler);
  const tlsErrors = [];
  server.on('tlsClientError', (e) => tlsErrors.push(e));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    seen, tlsErrors,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

// Runs sms_tool; resolves with its exit code, stdout lines and stderr.
function sms(args, env = {}) {
  const argv = [...wrapper, tool, ...args];
  const child = spawn(argv[0], argv.slice(1), {
    env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (code) => {
    const done = out.split('\n').find((l) => l.startsWith('done ')) || '';
    const stats = Object.fromEntries(done.split(' ').slice(1).map((kv) => kv.split('=')));
    for (const k of ['sent', 'failed', 'retried', 'pending']) stats[k] = Number(stats[k]);
    const queued = out.split('\n').filter((l) => l.startsWith('queued '))
      .map((l) => Number(l.split('rc=')[1]));
    noSecrets(err);
    assert.ok(!/Sanitizer|runtime error:/.test(err), err); // an SB_SANITIZE build's reports
    if (wrapper.length) // valgrind's reports start with ==PID==
      assert.ok(code !== 99 && !/^==\d+==/m.test(err), `${wrapper[0]}:\n${err}`);
    resolve({ code, out, err, stats, queued });
  }));
}

function noSecrets(log) {
  assert.ok(!log.includes(CODE), `the log holds the code:\n${log}`);
  assert.ok(!log.includes(SECRET), 'the log holds the webhook secret');
  assert.ok(!log.includes(TWILIO.TWILIO_AUTH_TOKEN), 'the log holds the Twilio token');
  assert.ok(!log.includes(TO), 'the log holds a whole phone number');
}

const common = ['--to', TO, '--body', BODY, '--deadline-ms', String(20000 * scale)];

function verifySignature(r) {
  const ts = r.headers['x-switchboard-timestamp'];
  const sig = r.headers['x-switchboard-signature'];
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 60, 'timestamp within a minute');
  const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want)), 'signature verifies');
}

function webhookBody(r) {
  assert.equal(r.method, 'POST');
  assert.equal(r.headers['content-type'], 'application/json');
  const b = JSON.parse(r.body);
  assert.deepEqual(Object.keys(b), ['id', 'to', 'body', 'created_at']);
  assert.match(b.id, /^sms_[0-9a-f]{16}$/);
  assert.equal(b.to, TO);
  assert.equal(b.body, BODY);
  assert.match(b.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(b.created_at) - Date.now()) < 60000);
  return b;
}

// file: -----------------------------------------------------------------------

test('file: one JSON line per SMS, exactly, appended, mode 0600', async () => {
  const file = path.join(dir, 'sms.jsonl');
  const body = 'Code "42"\\ line\nnext \u00e9 \u{1F600}';
  let r = await sms(['--sms', `file:${file}`, '--to', TO, '--body', body, '--count', '2']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.queued, [0, 0]);
  assert.equal(r.stats.sent, 2);
  r = await sms(['--sms', `file:${file}`, '--to', '+4930123456', '--body', 'x']);
  assert.equal(r.code, 0, r.err);
  const line = JSON.stringify({ to: TO, body }) + '\n';
  assert.equal(fs.readFileSync(file, 'utf8'), line + line + '{"to":"+4930123456","body":"x"}\n');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.match(r.err, /event=sms_sent sender=file to=\*\*\*3456/);
});

test('file: a number that is not E.164 and an empty body are refused', async () => {
  const file = path.join(dir, 'refused.jsonl');
  let r = await sms(['--sms', `file:${file}`, '--to', '5555550123', '--body', 'x']);
  assert.deepEqual(r.queued, [-1]);
  r = await sms(['--sms', `file:${file}`, '--to', TO, '--body', '']);
  assert.deepEqual(r.queued, [-1]);
  assert.equal(fs.readFileSync(file, 'utf8'), '');
});

// webhook ---------------------------------------------------------------------

test('webhook: signed JSON, verified by the receiver', async () => {
  const p = await provider([200], { check: verifySignature });
  const r = await sms(['--sms', `webhook:${p.url}/hooks/sms?x=1`, '--sms-webhook-secret', SECRET, ...common]);
  await p.close();
  assert.equal(r.code, 0, r.err);
  assert.equal(p.seen.length, 1);
  assert.equal(p.seen[0].url, '/hooks/sms?x=1');
  webhookBody(p.seen[0]);
  assert.deepEqual([r.stats.sent, r.stats.failed, r.stats.retried, r.stats.pending], [1, 0, 0, 0]);
  assert.match(r.err, /level=info event=sms_sent sender=webhook id=sms_[0-9a-f]{16} to=\*\*\*0123 tries=1 status=200/);
});

test('webhook: the secret comes from SB_SMS_WEBHOOK_SECRET too, and a wrong one does not verify', async () => {
  const p = await provider([200]);
  const r = await sms(['--sms', `webhook:${p.url}/`, ...common], { SB_SMS_WEBHOOK_SECRET: 'other' });
  await p.close();
  assert.equal(r.stats.sent, 1, r.err);
  assert.throws(() => verifySignature(p.seen[0]));
});

test('webhook: 500, 500, then 200: retried with growing backoff, the same id and body', async () => {
  const p = await provider([500, 500, 200], { check: verifySignature });
  const r = await sms(['--sms', `webhook:${p.url}/`, '--sms-webhook-secret', SECRET,
    '--retry-base-ms', '200', ...common]);
  await p.close();
  assert.equal(r.code, 0, r.err);
  assert.equal(p.seen.length, 3);
  const bodies = p.seen.map(webhookBody);
  assert.equal(new Set(bodies.map((b) => b.id)).size, 1, 'one id on every try');
  assert.equal(new Set(p.seen.map((s) => s.body)).size, 1, 'the same body on every try');
  const g1 = p.seen[1].at - p.seen[0].at;
  const g2 = p.seen[2].at - p.seen[1].at;
  // 200 ms then 400 ms, each +-20%
  assert.ok(g1 >= 150 && g1 < 1000 * scale, `first wait ${g1} ms`);
  assert.ok(g2 >= 310 && g2 > g1, `second wait ${g2} ms after ${g1} ms`);
  assert.deepEqual([r.stats.sent, r.stats.failed, r.stats.retried], [1, 0, 2]);
  assert.match(r.err, /level=warn event=sms_retry sender=webhook .*tries=1 status=500/);
  assert.match(r.err, /event=sms_sent sender=webhook .*tries=3 status=200/);
});

test('webhook: 400 is permanent: no retry, logged as an error', async () => {
  const p = await provider([400, 200]);
  const r = await sms(['--sms', `webhook:${p.url}/`, '--sms-webhook-secret', SECRET,
    '--retry-base-ms', '50', ...common]);
  await new Promise((resolve) => setTimeout(resolve, 200)); // no late retry either
  await p.close();
  assert.equal(p.seen.length, 1);
  assert.deepEqual([r.stats.sent, r.stats.failed, r.stats.retried], [0, 1, 0]);
  assert.match(r.err, /level=error event=sms_failed sender=webhook .*tries=1 status=400 reason="HTTP 400" permanent=true/);
});

test('webhook: a receiver that stalls times out, and the retry succeeds', async () => {
  const p = await provider(['stall', 200]);
  const r = await sms(['--sms', `webhook:${p.url}/`, '--sms-webhook-secret', SECRET,
    '--timeout-ms', '300', '--retry-base-ms', '50', ...common]);
  await p.close();
  assert.equal(r.code, 0, r.err);
  assert.equal(p.seen.length, 2);
  assert.equal(webhookBody(p.seen[0]).id, webhookBody(p.seen[1]).id);
  assert.ok(p.seen[1].at - p.seen[0].at >= 300, 'the second try after the timeout');
  assert.deepEqual([r.stats.sent, r.stats.retried], [1, 1]);
  assert.match(r.err, /event=sms_retry .*tries=1 status=0/);
});

test('webhook: always 503: given up after --max-tries, logged as an error', async () => {
  const p = await provider([503]);
  const r = await sms(['--sms', `webhook:${p.url}/`, '--sms-webhook-secret', SECRET,
    '--retry-base-ms', '20', '--max-tries', '3', ...common]);
  await p.close();
  assert.equal(p.seen.length, 3);
  assert.deepEqual([r.stats.sent, r.stats.failed, r.stats.retried, r.stats.pending], [0, 1, 2, 0]);
  assert.match(r.err, /level=error event=sms_failed sender=webhook .*tries=3 status=503 .*gave_up=true/);
});

test('webhook: a full queue refuses; free drops what is in flight, logged', async () => {
  const p = await provider(['stall']);
  const r = await sms(['--sms', `webhook:${p.url}/`, '--sms-webhook-secret', SECRET,
    '--max-queue', '2', '--count', '4', '--free-after-ms', String(300 * scale), ...common]);
  await p.close();
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.queued, [0, 0, -1, -1]);
  assert.equal(r.stats.pending, 2);
  assert.equal(r.stats.failed, 4); // two refused, two dropped
  assert.equal(r.err.match(/event=sms_dropped sender=webhook/g)?.length, 2);
  assert.match(r.err, /event=sms_refused sender=webhook .*reason=queue_full max=2/);
});

// https -----------------------------------------------------------------------

test('https webhook: a certificate trusted through --sms-ca-file', async () => {
  const p = await provider([200], { tls: local, check: verifySignature });
  const r = await sms(['--sms', `webhook:${p.url}/sms`, '--sms-webhook-secret', SECRET,
    '--sms-ca-file', local.file, ...common]);
  await p.close();
  assert.equal(r.code, 0, r.err);
  assert.equal(p.seen.length, 1);
  webhookBody(p.seen[0]);
  assert.equal(r.stats.sent, 1);
});

test('https webhook: an untrusted certificate fails verification, nothing is sent', async () => {
  const p = await provider([200], { tls: local });
  const r = await sms(['--sms', `webhook:${p.url}/sms`, '--sms-webhook-secret', SECRET,
    '--max-tries', '2', '--retry-base-ms', '20', ...common]);
  await p.close();
  assert.equal(p.seen.length, 0, 'no request reached the server');
  assert.deepEqual([r.stats.sent, r.stats.failed], [0, 1]);
  assert.match(r.err, /event=sms_failed .*reason="certificate verification failed: self[- ]signed certificate/);
});

test('https webhook: a trusted certificate for another name fails the host check', async () => {
  const p = await provider([200], { tls: other });
  const r = await sms(['--sms', `webhook:${p.url}/sms`, '--sms-webhook-secret', SECRET,
    '--sms-ca-file', other.file, '--max-tries', '1', ...common]);
  await p.close();
  assert.equal(p.seen.length, 0);
  assert.equal(r.stats.failed, 1);
  assert.match(r.err, /reason="certificate verification failed: .*(IP address|hostname) mismatch/);
});

// twilio ----------------------------------------------------------------------

function twilioCheck(r, { service = null } = {}) {
  assert.equal(r.method, 'POST');
  assert.equal(r.url, `/2010-04-01/Accounts/${TWILIO.TWILIO_ACCOUNT_SID}/Messages.json`);
  const basic = Buffer.from(`${TWILIO.TWILIO_ACCOUNT_SID}:${TWILIO.TWILIO_AUTH_TOKEN}`).toString('base64');
  assert.equal(r.headers.authorization, `Basic ${basic}`);
  assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
  const form = new URLSearchParams(r.body);
  assert.equal(form.get('To'), TO);
  assert.equal(form.get('Body'), BODY);
  if (service) {
    assert.equal(form.get('MessagingServiceSid'), service);
    assert.equal(form.get('From'), null);
  } else {
    assert.equal(form.get('From'), TWILIO.TWILIO_FROM);
  }
}

// What Twilio answers to a message it accepted (abridged).
const created = (sid) => ({ status: 201, json: {
  sid: 'SM' + crypto.randomBytes(16).toString('hex'), account_sid: sid, to: TO,
  from: TWILIO.TWILIO_FROM, body: BODY, status: 'queued', num_segments: '1',
  date_created: new Date().toUTCString(), error_code: null, error_message: null,
  uri: `/2010-04-01/Accounts/${sid}/Messages/SMxxx.json` } });

test('twilio: the Messages API with Basic auth and a form body; 201 is sent', async () => {
  const p = await provider([created(TWILIO.TWILIO_ACCOUNT_SID)]);
  const r = await sms(['--sms', 'twilio', '--sms-twilio-url', `${p.url}/`, ...common], TWILIO);
  await p.close();
  assert.equal(r.code, 0, r.err);
  assert.equal(p.seen.length, 1);
  twilioCheck(p.seen[0]);
  assert.deepEqual([r.stats.sent, r.stats.failed], [1, 0]);
  assert.match(r.err, /event=sms_sent sender=twilio .*to=\*\*\*0123 tries=1 status=201/);
});

test('twilio: a Messaging Service instead of From; the URL from SB_SMS_TWILIO_URL', async () => {
  const service = 'MG' + crypto.randomBytes(16).toString('hex');
  const p = await provider([created(TWILIO.TWILIO_ACCOUNT_SID)]);
  const env = { ...TWILIO, TWILIO_FROM: '', TWILIO_MESSAGING_SERVICE_SID: service, SB_SMS_TWILIO_URL: p.url };
  const r = await sms(['--sms', 'twilio', ...common], env);
  await p.close();
  assert.equal(r.stats.sent, 1, r.err);
  twilioCheck(p.seen[0], { service });
});

test('twilio: 429 then 201: retried', async () => {
  const p = await provider([{ status: 429, json: { code: 20429, message: 'Too Many Requests', status: 429 } },
    created(TWILIO.TWILIO_ACCOUNT_SID)]);
  const r = await sms(['--sms', 'twilio', '--sms-twilio-url', p.url, '--retry-base-ms', '50', ...common], TWILIO);
  await p.close();
  assert.equal(p.seen.length, 2);
  p.seen.forEach((s) => twilioCheck(s));
  assert.deepEqual([r.stats.sent, r.stats.retried], [1, 1]);
  assert.match(r.err, /event=sms_retry sender=twilio .*status=429 reason="HTTP 429, Twilio code 20429"/);
});

test("twilio: 400 is permanent, with Twilio's error code logged and its message not", async () => {
  const p = await provider([{ status: 400, json: { code: 21211,
    message: `The 'To' number ${TO} is not a valid phone number.`,
    more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 } }]);
  const r = await sms(['--sms', 'twilio', '--sms-twilio-url', p.url, '--retry-base-ms', '20', ...common], TWILIO);
  await p.close();
  assert.equal(p.seen.length, 1);
  assert.deepEqual([r.stats.sent, r.stats.failed, r.stats.retried], [0, 1, 0]);
  assert.match(r.err, /level=error event=sms_failed sender=twilio .*status=400 reason="HTTP 400, Twilio code 21211" permanent=true/);
});

test('twilio over https with the CA file', async () => {
  const p = await provider([created(TWILIO.TWILIO_ACCOUNT_SID)], { tls: local });
  const r = await sms(['--sms', 'twilio', '--sms-twilio-url', p.url, '--sms-ca-file', local.file, ...common], TWILIO);
  await p.close();
  assert.equal(r.stats.sent, 1, r.err);
  twilioCheck(p.seen[0]);
});

// refusals at start -------------------------------------------------------------

test('bad specs are refused at start with a reason', async () => {
  const cases = [
    [['--sms', 'carrier-pigeon'], {}, /unknown sender/],
    [['--sms', 'file:'], {}, /needs a path/],
    [['--sms', `file:${dir}/no/such/dir/sms.jsonl`], {}, /cannot open/],
    [['--sms', 'webhook:http://127.0.0.1:9/x'], {}, /--sms-webhook-secret/],
    [['--sms', 'webhook:ftp://127.0.0.1/x', '--sms-webhook-secret', SECRET], {}, /http:\/\/ or https:\/\//],
    [['--sms', 'webhook:https://', '--sms-webhook-secret', SECRET], {}, /URL with a host/],
    [['--sms', 'webhook:https://127.0.0.1:9/x', '--sms-webhook-secret', SECRET,
      '--sms-ca-file', `${dir}/missing.pem`], {}, /CA file/],
    [['--sms', 'twilio'], {}, /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/],
    [['--sms', 'twilio'], { ...TWILIO, TWILIO_FROM: '' }, /TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID/],
    [['--sms', 'twilio'], { ...TWILIO, TWILIO_ACCOUNT_SID: 'AC/../x' }, /not an account SID/],
  ];
  for (const [args, env, why] of cases) {
    const r = await sms([...args, ...common], env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, why, args.join(' '));
  }
});

test('no sender: sends are refused', async () => {
  const r = await sms([...common]); // no --sms: the default, none
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.queued, [-1]);
  assert.match(r.out, /done kind=none/);
});
