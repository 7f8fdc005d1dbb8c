// mint_token.mjs: one HS256 JWT for bench/realtime, with jsonwebtoken (the Node reference's
// verifier), printed on stdout.
//
//   node bench/realtime/mint_token.mjs --secret-file F [--sub bench-user] [--company c1]
//        [--sid bench-session] [--ttl 3600]
//
// Claims: sub, company_id, sid, iat and exp = now + ttl (the claims Switchboard's realtime
// endpoint reads: see docs/jwt.md). The secret is read from a file so that it is not in ps.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'tests', 'node', 'package.json'));
const jwt = require('jsonwebtoken');

const o = { secretFile: '', sub: 'bench-user', company: 'c1', sid: 'bench-session', ttl: '3600' };
const names = { '--secret-file': 'secretFile', '--sub': 'sub', '--company': 'company', '--sid': 'sid', '--ttl': 'ttl' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = names[argv[i]];
  if (!key || i + 1 >= argv.length) {
    process.stderr.write(`mint_token: unknown option or missing value: ${argv[i]}\n`);
    process.exit(2);
  }
  o[key] = argv[++i];
}
if (!o.secretFile) {
  process.stderr.write('mint_token: --secret-file F is required\n');
  process.exit(2);
}
const secret = fs.readFileSync(o.secretFile, 'utf8').split(/\r?\n/)[0];
const token = jwt.sign({ sub: o.sub, company_id: o.company, sid: o.sid }, secret, {
  algorithm: 'HS256',
  expiresIn: Number(o.ttl),
});
process.stdout.write(`${token}\n`);
