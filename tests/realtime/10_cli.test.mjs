// The command line: `switchboard realtime token` mints a JWT that jsonwebtoken
// verifies with the same secret and the server accepts; `switchboard realtime
// update` delivers an UPDATE to a connected client and prints the JSON answer;
// errors end with the documented exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startRt, connect, cleanup, runBin, jwt, SECRET, nowS, tempDir } from './realtime_harness.mjs';

let s;
before(async () => { s = await startRt(); });
after(cleanup);

const token = (...more) => runBin(['realtime', 'token', '--user', 'cli-user', '--company', 'cli-co', '--session', 'cli-s', ...more]);

test('realtime token: a JWT that jsonwebtoken verifies with the secret, with the claims asked for; the server accepts it', async () => {
  const r = await token('--ttl', '120', '--artifacts', 'a1,a2', '--permissions', 'processData,other', '--jwt-secret', SECRET);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const t = r.stdout.trim();
  const { header, payload } = jwt.verify(t, SECRET, { algorithms: ['HS256'], complete: true });
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
  const now = nowS();
  assert.deepEqual(Object.keys(payload).sort(), ['artifacts', 'company_id', 'exp', 'iat', 'permissions', 'sid', 'sub']);
  assert.equal(payload.sub, 'cli-user');
  assert.equal(payload.company_id, 'cli-co');
  assert.equal(payload.sid, 'cli-s');
  assert.deepEqual(payload.artifacts, ['a1', 'a2']);
  assert.deepEqual(payload.permissions, ['processData', 'other']);
  assert.equal(payload.exp - payload.iat, 120);
  assert.ok(Math.abs(payload.iat - now) <= 2);
  assert.throws(() => jwt.verify(t, `${SECRET}x`, { algorithms: ['HS256'] }), /invalid signature/);

  const c = await connect(s, { token: t, sessionId: 'cli-s', artifactId: 'a2' });
  const who = await c.ask('whoami');
  assert.deepEqual(who.data, { userId: 'cli-user', companyId: 'cli-co', sessionId: 'cli-s', artifactId: 'a2', subscriptions: ['a2'], permissions: ['processData', 'other'] });
  c.close();

  // "*" artifacts, the default ttl of an hour, the secret from SB_JWT_SECRET
  const star = await runBin(['realtime', 'token', '--user', 'u', '--company', 'c', '--session', 's', '--artifacts', '*'], { env: { SB_JWT_SECRET: SECRET } });
  assert.equal(star.code, 0, star.stderr);
  const p = jwt.verify(star.stdout.trim(), SECRET, { algorithms: ['HS256'] });
  assert.equal(p.artifacts, '*');
  assert.equal(p.exp - p.iat, 3600);
  assert.equal(p.permissions, undefined);
});

test('realtime token: refusals and their exit codes', async () => {
  let r = await token('--jwt-secret', 'too-short');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'switchboard realtime token: secret: 9 bytes, at least 32 are required\n');
  r = await runBin(['realtime', 'token', '--user', 'u', '--company', 'c', '--jwt-secret', SECRET]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'switchboard realtime token: --user, --company and --session are required\n');
  r = await token('--ttl', '0', '--jwt-secret', SECRET);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad option or value: --ttl 0/);
  r = await token('--jwt-secret-file', '/nonexistent/secret');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/nonexistent\/secret: No such file or directory/);
});

test('realtime update: delivers to a connected client and prints the JSON answer; a bad key exits 1', async () => {
  const c = await connect(s, { token: (await token('--artifacts', 'doc', '--jwt-secret', SECRET)).stdout.trim(), sessionId: 'cli-s', artifactId: 'doc' });
  const key = s.apiKey();
  const r = await runBin(['realtime', 'update', '--company', 'cli-co', '--artifact', 'doc', '--action', 'artifactUpdate',
    '--data', '{"status":"processing","utf8":"é ü € 😀"}', '--request-id', 'cli-upd-1', '--url', s.base, '--key', key]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^\{"requestId":"cli-upd-1","offset":"\d+","delivered":1\}\n$/);
  const answer = JSON.parse(r.stdout);
  const [u] = await c.waitMsgs((m) => m.env.type === 'UPDATE', 1);
  assert.deepEqual(u.env, { type: 'UPDATE', requestId: 'cli-upd-1', action: 'artifactUpdate', data: { status: 'processing', utf8: 'é ü € 😀' } });
  assert.equal(u.offset, answer.offset);

  // the key and the URL from the environment; no request id: the server makes one
  const e = await runBin(['realtime', 'update', '--company', 'cli-co', '--action', 'companyUpdate'], { env: { SB_API_KEY: key, SB_URL: s.base } });
  assert.equal(e.code, 0, e.stderr);
  const ea = JSON.parse(e.stdout);
  assert.match(ea.requestId, /\S/);
  assert.equal(ea.delivered, 1);
  const [u2] = await c.waitMsgs((m) => m.env.action === 'companyUpdate', 1);
  assert.equal(u2.env.requestId, ea.requestId);

  const bad = await runBin(['realtime', 'update', '--company', 'cli-co', '--action', 'x', '--url', s.base, '--key', 'sbk_not_a_key']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '{"code":"UNAUTHORIZED","message":"API key required"}\n');
  const invalid = await runBin(['realtime', 'update', '--company', 'cli-co', '--action', 'x', '--data', '{nope', '--url', s.base, '--key', key]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /^switchboard realtime update: --data: not JSON/);
  const nokey = await runBin(['realtime', 'update', '--company', 'cli-co', '--action', 'x', '--url', s.base], { env: { SB_API_KEY: '' } });
  assert.equal(nokey.code, 2);
  const down = await runBin(['realtime', 'update', '--company', 'cli-co', '--action', 'x', '--url', 'http://127.0.0.1:1', '--key', key]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^switchboard realtime update: no answer/);
  await new Promise((r2) => setTimeout(r2, 100));
  assert.equal(c.updates().length, 2, 'the refused ones delivered nothing');
});

test('realtime token with a postgres:// --db: jwt-secret from --data-dir (SB_DATA_DIR), never the URL', async () => {
  // a PostgreSQL database has no directory beside it; no connection is made
  const dir = tempDir('rtcli');
  fs.writeFileSync(path.join(dir, 'jwt-secret'), `${SECRET}\n`);
  const url = 'postgres://nobody:pw-hidden-1234@127.0.0.1:1/x';
  let r = await token('--db', url, '--data-dir', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(jwt.verify(r.stdout.trim(), SECRET, { algorithms: ['HS256'] }).sub, 'cli-user');
  r = await runBin(['realtime', 'token', '--user', 'u', '--company', 'c', '--session', 's', '--db', url], { env: { SB_DATA_DIR: dir } });
  assert.equal(r.code, 0, r.stderr);
  r = await token('--db', url, '--data-dir', path.join(dir, 'none'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /none\/jwt-secret/);
  assert.ok(!r.stderr.includes('pw-hidden'), r.stderr);
});
