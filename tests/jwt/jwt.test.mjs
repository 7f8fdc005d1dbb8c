// jwt.test.mjs: our verifier (runtime/jwt.c, through tests/jwt/jwt_cli.c)
// against tokens made by an independent implementation, node's
// jsonwebtoken 9 (tests/node), and jsonwebtoken against tokens we mint.
// JWT_CLI_BIN names the CLI (ctest sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
const jwt = require('jsonwebtoken');

const cli = process.env.JWT_CLI_BIN;
assert.ok(cli, 'JWT_CLI_BIN must name the jwt_cli binary');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-jwt-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const now = Math.floor(Date.now() / 1000);
const secret = crypto.randomBytes(32);
const secretFile = path.join(dir, 'secret');
fs.writeFileSync(secretFile, secret);

function keyPair(type, opts) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync(type, opts);
  const file = path.join(dir, `${type}-${crypto.randomUUID()}.pem`);
  fs.writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
  return { file, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}
const rsa = keyPair('rsa', { modulusLength: 2048 });
const ec = keyPair('ec', { namedCurve: 'P-256' });

function verify(alg, keyFile, token, { iss = '-', aud = '-', at = now } = {}) {
  const r = spawnSync(cli, ['verify', alg, keyFile, String(at), iss, aud], { input: token });
  return {
    status: r.status,
    claims: r.status === 0 ? JSON.parse(r.stdout.toString()) : null,
    error: r.stderr.toString().trim(),
  };
}

const claims = { sub: 'alice', company_id: 'acme', sid: 's-1', artifacts: ['a', 'b'] };

test('HS256 tokens from jsonwebtoken verify', () => {
  const token = jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: 600 });
  const r = verify('HS256', secretFile, token);
  assert.equal(r.status, 0, r.error);
  assert.deepEqual(r.claims, {
    user: 'alice', company: 'acme', session: 's-1', artifacts: ['a', 'b'],
    exp: jwt.decode(token).exp,
  });
});

test('RS256 and ES256 tokens from jsonwebtoken verify', () => {
  for (const [alg, k] of [['RS256', rsa], ['ES256', ec]]) {
    const token = jwt.sign({ ...claims, artifacts: '*' }, k.privateKey, {
      algorithm: alg, expiresIn: 600, issuer: 'idp', audience: ['x', 'switchboard'],
    });
    const r = verify(alg, k.file, token, { iss: 'idp', aud: 'switchboard' });
    assert.equal(r.status, 0, `${alg}: ${r.error}`);
    assert.equal(r.claims.user, 'alice');
    assert.equal(r.claims.artifacts, '*');
    const wrongAud = verify(alg, k.file, token, { iss: 'idp', aud: 'y' });
    assert.equal(wrongAud.status, 1);
    assert.match(wrongAud.error, /^audience: aud: not the expected audience$/);
  }
});

test('jsonwebtoken tokens that must be refused are', () => {
  const expired = jwt.sign({ sub: 'a', exp: now - 120 }, secret, { algorithm: 'HS256' });
  assert.match(verify('HS256', secretFile, expired).error, /^expired: exp: expired/);
  const noExp = jwt.sign({ sub: 'a' }, secret, { algorithm: 'HS256' });
  assert.match(verify('HS256', secretFile, noExp).error, /^claims: exp: missing$/);
  const hs512 = jwt.sign({ sub: 'a' }, secret, { algorithm: 'HS512', expiresIn: 60 });
  assert.match(verify('HS256', secretFile, hs512).error, /^alg: alg: expected HS256, got HS512$/);
  const none = jwt.sign({ sub: 'a' }, null, { algorithm: 'none', expiresIn: 60 });
  assert.match(verify('HS256', secretFile, none).error, /^alg: alg: expected HS256, got none$/);
  // key confusion: HS256 keyed with the RSA public key's PEM, to an RS256 verifier
  const confused = jwt.sign({ sub: 'a' }, crypto.createSecretKey(Buffer.from(rsa.publicPem)), {
    algorithm: 'HS256', expiresIn: 60,
  });
  assert.match(verify('RS256', rsa.file, confused).error, /^alg: alg: expected RS256, got HS256$/);
  const otherEc = keyPair('ec', { namedCurve: 'P-256' });
  const forged = jwt.sign({ sub: 'a' }, otherEc.privateKey, { algorithm: 'ES256', expiresIn: 60 });
  assert.match(verify('ES256', ec.file, forged).error, /^signature: signature: does not verify$/);
});

test('tokens we mint verify with jsonwebtoken', () => {
  const r = spawnSync(cli, ['mint', secretFile, String(now), '300', 'bob', 'sb', 'app']);
  assert.equal(r.status, 0, r.stderr.toString());
  const token = r.stdout.toString().trim();
  const payload = jwt.verify(token, secret, {
    algorithms: ['HS256'], issuer: 'sb', audience: 'app',
  });
  assert.equal(payload.sub, 'bob');
  assert.equal(payload.artifacts, '*');
  assert.equal(payload.exp, now + 300);
  assert.equal(payload.iat, now);
  assert.throws(() => jwt.verify(token, crypto.randomBytes(32), { algorithms: ['HS256'] }),
    /invalid signature/);
});
