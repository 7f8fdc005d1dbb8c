// JWT on CONNECT: every bad token or handshake is refused with a connect_error
// that names the reason (and is counted); RS256 and ES256 with keys made here;
// a server started without a usable HS256 secret refuses every CONNECT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  startRt, connect, refusal, cleanup, metrics, mint, claims, rawToken, nowS, jwt, tempFile, tempDir, SECRET, runBin,
} from './realtime_harness.mjs';
import path from 'node:path';
import fs from 'node:fs';

after(cleanup);

let s;
before(async () => { s = await startRt(); });

/** [name, client opts, the connect_error message] against the HS256 server */
function hsCases() {
  const now = nowS();
  const good = mint();
  const [head, , sig] = good.split('.');
  const forged = Buffer.from(JSON.stringify(claims({ company_id: 'someone-else' }))).toString('base64url');
  return [
    ['alg none, no signature', { token: rawToken({ alg: 'none', typ: 'JWT' }, claims(), { sig: '' }) }, 'Authentication failed: alg: expected HS256, got none'],
    ['alg none, signed anyway', { token: rawToken({ alg: 'none', typ: 'JWT' }, claims()) }, 'Authentication failed: alg: expected HS256, got none'],
    ['alg HS512', { token: jwt.sign(claims(), SECRET, { algorithm: 'HS512', noTimestamp: true }) }, 'Authentication failed: alg: expected HS256, got HS512'],
    ['expired (past the 60 s leeway)', { token: mint({ exp: now - 61 }) }, 'Authentication failed: exp: expired (leeway 60 s)'],
    ['expired long ago', { token: mint({ exp: now - 86400 }) }, 'Authentication failed: exp: expired (leeway 60 s)'],
    ['nbf in the future', { token: mint({ nbf: now + 120 }) }, 'Authentication failed: nbf: not yet valid (leeway 60 s)'],
    ['exp as a string', { token: rawToken({ alg: 'HS256', typ: 'JWT' }, { ...claims(), exp: String(now + 600) }) }, 'Authentication failed: exp: not an integer'],
    ['exp missing', { token: rawToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'u1', company_id: 'c1', sid: 's1' }) }, 'Authentication failed: exp: missing'],
    ['aud present but none configured', { token: mint({ aud: 'someone' }) }, 'Authentication failed: aud: present, but no audience is configured'],
    ['tampered payload, original signature', { token: `${head}.${forged}.${sig}` }, 'Authentication failed: signature: does not verify'],
    ['signed with another secret', { token: mint({}, 'another-secret-of-enough-length-0123456789') }, 'Authentication failed: signature: does not verify'],
    ['not a JWT', { token: 'abc' }, 'Authentication failed: token: expected 3 parts separated by 2 dots, got 0 dots'],
    ['empty token', { token: '' }, 'Authentication failed: auth.token: shorter than 1 bytes'],
    ['no user', { token: mint({ sub: undefined }) }, 'Authentication failed: the token names no user'],
    ['no company', { token: mint({ company_id: undefined }) }, 'Authentication failed: the token names no company'],
    ['sessionId is not the sid claim', { sessionId: 's2' }, 'Invalid session: sessionId is not the token\'s session'],
    ['a token without sid', { token: mint({ sid: undefined }) }, 'Invalid session: sessionId is not the token\'s session'],
    ['sessionId missing', { sessionId: null }, 'Invalid query: sessionId: missing required field'],
    ['sessionId empty', { sessionId: '' }, 'Invalid query: sessionId: shorter than 1 bytes'],
    ['artifactId not in the artifacts claim', { artifactId: 'a9', token: mint({ artifacts: ['a1', 'a2'] }) }, 'Access denied: artifactId a9 is not allowed by the token'],
    ['artifactId with no artifacts claim', { artifactId: 'a1' }, 'Access denied: artifactId a1 is not allowed by the token'],
  ];
}

test('HS256 server: each bad token or handshake is refused with a connect_error naming the reason', async () => {
  const before = (await metrics(s)).switchboard_realtime_refused_total;
  const cases = hsCases();
  for (const [name, opts, message] of cases) {
    for (const transports of [['websocket'], ['polling']]) {
      assert.equal(await refusal(s, { ...opts, transports, label: name }), message, `${name} (${transports})`);
    }
  }
  const m = await metrics(s);
  assert.equal(m.switchboard_realtime_refused_total - before, cases.length * 2, 'each refusal counted');
  assert.equal(m.switchboard_realtime_sockets, 0);
  assert.equal(m.switchboard_realtime_connections_total, 0);
});

test('HS256 server: what is valid connects (iss unchecked when not configured, nbf in the leeway, artifacts "*" and listed)', async () => {
  const now = nowS();
  for (const [name, opts] of [
    ['plain', {}],
    ['iss without --jwt-issuer', { token: mint({ iss: 'anyone' }) }],
    ['nbf within the leeway', { token: mint({ nbf: now + 30 }) }],
    ['exp just past, within the leeway', { token: mint({ exp: now - 30 }) }],
    ['listed artifact', { artifactId: 'a2', token: mint({ artifacts: ['a1', 'a2'] }) }],
    ['"*" artifacts', { artifactId: 'anything', token: mint({ artifacts: '*' }) }],
  ]) {
    const c = await connect(s, { ...opts, transports: ['websocket'], label: name });
    const who = await c.ask('whoami');
    assert.equal(who.type, 'RESPONSE', name);
    assert.equal(who.data.userId, 'u1');
    c.close();
  }
});

test('--jwt-issuer and --jwt-audience: wrong or missing iss/aud refused, right ones (aud string or list) accepted', async () => {
  const t = await startRt({ args: ['--jwt-issuer', 'https://issuer.test', '--jwt-audience', 'switchboard'] });
  const iss = 'https://issuer.test';
  for (const [name, over, message] of [
    ['wrong iss', { iss: 'https://evil.test', aud: 'switchboard' }, 'Authentication failed: iss: not the expected issuer'],
    ['no iss', { aud: 'switchboard' }, 'Authentication failed: iss: missing'],
    ['wrong aud', { iss, aud: 'other' }, 'Authentication failed: aud: not the expected audience'],
    ['wrong aud list', { iss, aud: ['other', 'more'] }, 'Authentication failed: aud: not the expected audience'],
    ['no aud', { iss }, 'Authentication failed: aud: missing'],
  ]) {
    assert.equal(await refusal(t, { token: mint(over), label: name }), message, name);
  }
  for (const aud of ['switchboard', ['other', 'switchboard']]) {
    const c = await connect(t, { token: mint({ iss, aud }) });
    assert.equal((await c.ask('ping')).type, 'RESPONSE');
    c.close();
  }
});

test('RS256 with a generated key pair: accepted; HS256 signed with the public key PEM (key confusion) refused; ES256 and another RSA key refused', async () => {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  const t = await startRt({ jwt: ['--jwt-alg', 'RS256', '--jwt-public-key', tempFile('rsa.pem', pub)] });
  const token = jwt.sign(claims({ permissions: ['processData'] }), rsa.privateKey, { algorithm: 'RS256', noTimestamp: true });
  const c = await connect(t, { token, transports: ['websocket'] });
  const who = await c.ask('whoami');
  assert.deepEqual(who.data, { userId: 'u1', companyId: 'c1', sessionId: 's1', subscriptions: [], permissions: ['processData'] });
  c.close();

  // the classic confusion: HS256 with the server's public key as the HMAC secret
  const confused = rawToken({ alg: 'HS256', typ: 'JWT' }, claims(), { secret: pub });
  assert.equal(await refusal(t, { token: confused }), 'Authentication failed: alg: expected RS256, got HS256');
  assert.equal(await refusal(t, { token: mint() }), 'Authentication failed: alg: expected RS256, got HS256');
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(await refusal(t, { token: jwt.sign(claims(), other.privateKey, { algorithm: 'RS256' }) }), 'Authentication failed: signature: does not verify');
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.equal(await refusal(t, { token: jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256' }) }), 'Authentication failed: alg: expected RS256, got ES256');
  // RS256 rules still apply: expired
  assert.equal(await refusal(t, { token: jwt.sign(claims({ exp: nowS() - 100 }), rsa.privateKey, { algorithm: 'RS256' }) }), 'Authentication failed: exp: expired (leeway 60 s)');
});

test('ES256 with a generated P-256 key: accepted over polling and WebSocket; RS256 and a tampered ES256 token refused', async () => {
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = ec.publicKey.export({ type: 'spki', format: 'pem' });
  const t = await startRt({ jwt: ['--jwt-alg', 'ES256', '--jwt-public-key', tempFile('ec.pem', pub)] });
  const token = jwt.sign(claims({ artifacts: ['a1'] }), ec.privateKey, { algorithm: 'ES256', noTimestamp: true });
  for (const transports of [['polling'], ['websocket']]) {
    const c = await connect(t, { token, transports, artifactId: 'a1' });
    const who = await c.ask('whoami');
    assert.equal(who.data.artifactId, 'a1');
    c.close();
  }
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(await refusal(t, { token: jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256' }) }), 'Authentication failed: alg: expected ES256, got RS256');
  const [hd, , sg] = token.split('.');
  const forged = Buffer.from(JSON.stringify(claims({ artifacts: '*' }))).toString('base64url');
  assert.equal(await refusal(t, { token: `${hd}.${forged}.${sg}` }), 'Authentication failed: signature: does not verify');
});

test('a too short --jwt-secret: serve starts, logs why, and refuses every CONNECT; an empty one is refused at start', async () => {
  const t = await startRt({ jwt: ['--jwt-secret', 'short-secret'] });
  assert.match(t.stderr, /level=warn event=realtime msg="no JWT key: every connection is refused" reason="JWT key: secret: 12 bytes, at least 32 are required"/);
  // a token signed with that same short secret, and one with a proper secret: both refused
  for (const token of [mint({}, 'short-secret'), mint()]) {
    assert.equal(await refusal(t, { token }), 'Authentication failed: the server has no JWT key configured');
  }
  assert.equal((await metrics(t)).switchboard_realtime_refused_total, 2);

  const dir = tempDir('rt-empty');
  const r = await runBin(['serve', '--port', '0', '--db', path.join(dir, 'x.db'), '--no-demo', '--jwt-secret', '']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--jwt-secret: invalid value '': expected a non-empty value/);

  // no secret at all (a --jwt-secret-file that does not exist, no demo to make it)
  const missing = path.join(dir, 'no-such-secret');
  const u = await startRt({ jwt: ['--jwt-secret-file', missing] });
  assert.ok(u.stderr.includes(`reason="${missing}: No such file or directory`), u.stderr);
  assert.equal(await refusal(u, {}), 'Authentication failed: the server has no JWT key configured');
  assert.equal(fs.existsSync(missing), false, 'no secret file is made without --demo');
  // an empty secret file
  const empty = path.join(dir, 'empty-secret');
  fs.writeFileSync(empty, '\n');
  const v = await startRt({ jwt: ['--jwt-secret-file', empty] });
  assert.ok(v.stderr.includes(`reason="${empty}: empty"`), v.stderr);
  assert.equal(await refusal(v, {}), 'Authentication failed: the server has no JWT key configured');
});

// A secret of 32+ bytes that is only whitespace has no entropy at all. The
// secret file's trailing whitespace is trimmed (so such a file is "empty" and
// refused), but the same secret given with --jwt-secret (or SB_JWT_SECRET) is
// taken as is, and tokens HMAC'd with 40 spaces are accepted.
test('a blank (whitespace only) --jwt-secret is refused like an empty secret file', async () => {
  const blank = ' '.repeat(40);
  // either answer is right: serve refuses to start (as for ''), or it starts
  // without a key and refuses every CONNECT (as for a short secret)
  let t;
  try {
    t = await startRt({ jwt: ['--jwt-secret', blank] });
  } catch (e) {
    assert.match(e.message, /server exited \(2\/null\)/);
    return;
  }
  assert.equal(await refusal(t, { token: mint({}, blank) }), 'Authentication failed: the server has no JWT key configured');
});
