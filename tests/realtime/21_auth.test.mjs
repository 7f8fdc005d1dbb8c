// CONNECT refusals: every JWT case the issue lists, the session and the artifact,
// RS256 and ES256 keys, the HTTP session check, a token expiring while connected.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { h, jwt, startRealtime, socket, connect, refused, ask, token, closeAll, SECRET } from './rt.mjs';

after(async () => { closeAll(); await h.cleanup(); });

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** HS256 by hand, for claims jsonwebtoken refuses to sign (a string exp). */
const rawSign = (payload, secret = SECRET) => {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
};
const now = () => Math.floor(Date.now() / 1000);

test('HS256: every bad token is a connect_error naming the reason', async () => {
  const s = await startRealtime(['--jwt-issuer', 'rest-api', '--jwt-audience', 'realtime']);
  const ok = (c = {}) => token({ iss: 'rest-api', aud: 'realtime', ...c });
  assert.ok(await connect(s, { tok: ok() }), 'the good token connects');
  const cases = [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u1', company_id: 'c1', sid: 's1', exp: now() + 600, iss: 'rest-api', aud: 'realtime' })}.`, /alg/],
    ['expired', ok({ exp: now() - 3600 }), /exp: expired/],
    ['nbf in the future', ok({ nbf: now() + 3600 }), /nbf/],
    ['wrong aud', ok({ aud: 'other' }), /aud/],
    ['wrong iss', ok({ iss: 'other' }), /iss/],
    ['exp as a string', rawSign({ sub: 'u1', company_id: 'c1', sid: 's1', exp: String(now() + 600), iss: 'rest-api', aud: 'realtime' }), /exp/],
    ['no exp', token({ exp: null, iss: 'rest-api', aud: 'realtime' }), /exp: missing/],
    ['another secret', ok({}) && token({ iss: 'rest-api', aud: 'realtime' }, { secret: 'x'.repeat(40) }), /signature/],
    ['no company', ok({ company_id: null }), /no company/],
  ];
  // a tampered payload: the signature no longer matches
  const [hd, , sig] = ok().split('.');
  cases.push(['tampered payload', `${hd}.${b64({ sub: 'admin', company_id: 'c1', sid: 's1', exp: now() + 600, iss: 'rest-api', aud: 'realtime' })}.${sig}`, /signature/]);
  for (const [what, tok, re] of cases) {
    const msg = await refused(socket(s, { tok }));
    assert.match(msg, /^Authentication failed: /, what);
    assert.match(msg, re, `${what}: ${msg}`);
  }
  const m = await h.metrics(s);
  assert.ok(m.switchboard_realtime_refused_total >= cases.length);
});

test('the session and the artifact must be the token\'s', async () => {
  const s = await startRealtime();
  assert.equal(await refused(socket(s, { sessionId: 'other' })), "Invalid session: sessionId is not the token's session");
  assert.match(await refused(socket(s, { sessionId: null })), /^Invalid query: sessionId: /);
  assert.equal(await refused(socket(s, { artifactId: 'a9', tok: token({ artifacts: ['a1'] }) })),
    'Access denied: artifactId a9 is not allowed by the token');
  assert.equal(await refused(socket(s, { artifactId: 'a1' })), 'Access denied: artifactId a1 is not allowed by the token');
  assert.ok(await connect(s, { artifactId: 'a1', tok: token({ artifacts: ['a1'] }) }));
  assert.ok(await connect(s, { artifactId: 'any', tok: token({ artifacts: '*' }) }));
  assert.match(await refused(socket(s, { tok: '' })), /^Authentication failed: auth\.token: /);
});

function keys(type) {
  const opts = type === 'rsa' ? { modulusLength: 2048 } : { namedCurve: 'P-256' };
  const { publicKey, privateKey } = crypto.generateKeyPairSync(type, opts);
  const dir = h.tempDir('keys');
  const file = path.join(dir, 'pub.pem');
  fs.writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
  return { file, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

for (const [alg, type] of [['RS256', 'rsa'], ['ES256', 'ec']]) {
  test(`${alg}: a token signed with the private key connects; HS256 with the public key as secret does not`, async () => {
    const k = keys(type);
    const s = await startRealtime(['--jwt-alg', alg, '--jwt-public-key', k.file]);
    const claims = { sub: 'u1', company_id: 'c1', sid: 's1', exp: now() + 600 };
    const c = await connect(s, { tok: jwt.sign(claims, k.privateKey, { algorithm: alg, noTimestamp: true }) });
    assert.equal((await ask(c, 'whoami')).data.userId, 'u1');
    // the classic confusion: HMAC with the public key's PEM as the secret
    const forged = jwt.sign(claims, k.publicPem, { algorithm: 'HS256', noTimestamp: true });
    assert.match(await refused(socket(s, { tok: forged })), /^Authentication failed: alg: expected/);
  });
}

test('a blank or short secret: the server starts, refuses every CONNECT and says why in its log', async () => {
  const s = await h.startServer({ demo: false, args: ['--jwt-secret', 'short'] });
  assert.match(s.stderr, /no JWT key: every connection is refused/);
  assert.match(s.stderr, /secret: 5 bytes/);
  assert.equal(await refused(socket(s)), 'Authentication failed: the server has no JWT key configured');
});

test('a token that expires while connected: ERROR AUTH_REQUIRED, then a server disconnect', async () => {
  const s = await startRealtime();
  // valid for 2 s more thanks to the 60 s leeway
  const c = await connect(s, { tok: token({ exp: now() - 58 }) });
  const reason = await h.withTimeout(new Promise((r) => c.once('disconnect', r)), h.T(10000), 'disconnect');
  assert.equal(reason, 'io server disconnect');
  const err = c.messages.find((m) => m.env.type === 'ERROR');
  assert.deepEqual(err.env, { type: 'ERROR', requestId: '', error: { code: 'AUTH_REQUIRED', message: 'Authentication required: the token expired' } });
  const m = await h.metrics(s);
  assert.equal(m.switchboard_realtime_expired_total, 1);
});

test('the HTTP session check settles what the claims do not, and is cached', async () => {
  const seen = [];
  const rest = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    seen.push({ auth: req.headers.authorization, sessionId: u.searchParams.get('sessionId'), artifactId: u.searchParams.get('artifactId') });
    res.statusCode = u.searchParams.get('sessionId') === 'live' && u.searchParams.get('artifactId') !== 'secret' ? 200 : 403;
    res.end();
  });
  await new Promise((r) => rest.listen(0, '127.0.0.1', r));
  try {
    const s = await startRealtime(['--realtime-session-check', `http://127.0.0.1:${rest.address().port}/sessions/check`]);
    const tok = token();
    const c = await connect(s, { tok, sessionId: 'live', artifactId: 'a7' });
    assert.deepEqual(seen, [{ auth: `Bearer ${tok}`, sessionId: 'live', artifactId: 'a7' }]);
    assert.deepEqual((await ask(c, 'whoami')).data.subscriptions, ['a7']);
    // cached: a second connection asks nothing
    await connect(s, { tok, sessionId: 'live', artifactId: 'a7' });
    assert.equal(seen.length, 1);
    assert.equal(await refused(socket(s, { tok, sessionId: 'dead' })), 'Access denied: the session check answered 403');
    assert.equal(await refused(socket(s, { tok, sessionId: 'live', artifactId: 'secret' })), 'Access denied: the session check answered 403');
    // the token's own sid needs no check
    await connect(s, { tok, sessionId: 's1' });
    assert.equal(seen.length, 3);
  } finally {
    rest.close();
  }
});

test('--max-handshake-rate: a burst of connections is partly refused, and counted', async () => {
  const s = await startRealtime(['--max-handshake-rate', '2']);
  const results = await Promise.allSettled(Array.from({ length: 12 }, () => connect(s)));
  const refusedOnes = results.filter((r) => r.status === 'rejected');
  assert.ok(refusedOnes.length >= 6, `${refusedOnes.length} refused`);
  for (const r of refusedOnes) assert.equal(r.reason.message, 'Too many connections: retry later');
  const m = await h.metrics(s);
  assert.equal(m['switchboard_realtime_limited_total{limit="handshakes"}'], refusedOnes.length);
});
