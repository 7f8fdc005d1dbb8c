// therapy_session.mjs PORT DIR KEY: a short therapy session under valgrind, on the
// demo data: a participant logs in (the code from DIR/sms.jsonl), enters the
// session, holds a long poll that a saveActions of the therapist answers, reacts,
// deletes, is refused (bad body, CSRF), an operator notice goes in, one long poll
// is left held for the shutdown to end, and a login and logout end the rest.
import fs from 'node:fs';
import path from 'node:path';

const [port, dir, key] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}/api/therapy`;
const fail = (why) => { console.error(`therapy session: ${why}`); process.exit(1); };

async function call(jar, method, p, body, extra = {}) {
  const headers = { 'Content-Type': 'application/json', ...extra };
  if (jar.cookie) headers.Cookie = jar.cookie;
  if (jar.csrf) headers['X-CSRF-Token'] = jar.csrf;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const set = r.headers.get('set-cookie');
  if (set) jar.cookie = set.split(';')[0];
  return { status: r.status, json: await r.json() };
}

async function login(phone, last) {
  const jar = {};
  const a = await call(jar, 'POST', '/login', { phone, last_name: last });
  if (a.status !== 200) fail(`login ${a.status}`);
  let code;
  for (let i = 0; i < 100 && !code; i++) {
    const lines = fs.existsSync(path.join(dir, 'sms.jsonl')) ? fs.readFileSync(path.join(dir, 'sms.jsonl'), 'utf8').trim().split('\n') : [];
    const mine = lines.map((l) => JSON.parse(l)).filter((m) => m.to === phone).pop();
    code = mine && /(\d{6})/.exec(mine.body)?.[1];
    if (!code || jar.used === code) { code = undefined; await new Promise((r) => setTimeout(r, 50)); }
  }
  if (!code) fail(`no code for ${phone}`);
  const v = await call(jar, 'POST', '/verifyCode', { code });
  if (v.status !== 200) fail(`verifyCode ${v.status} ${JSON.stringify(v.json)}`);
  jar.csrf = v.json.csrf_token;
  const e = await call(jar, 'POST', '/enterTherapySession', { ts_id: 1 });
  if (e.status !== 200) fail(`enter ${e.status}`);
  return jar;
}

const sam = await login('+15555550101', 'Lee');
const doc = await login('+15555550100', 'Rivera');
const msg = (user, body) => ({ client_ts: new Date().toISOString(), type: 'message', user, recipients: [], body, character_history: [...body], time_to_complete: '10ms', target: null });

const held = call(sam, 'POST', '/getActions', { last_action_id: 0, wait: 20 });
await new Promise((r) => setTimeout(r, 300));
const s1 = await call(doc, 'POST', '/saveActions', [msg('123XYZ', 'hello @P123')]);
if (s1.status !== 200) fail(`saveActions ${s1.status}`);
const got = await held;
if (got.status !== 200 || got.json.actions.length !== 1) fail(`long poll ${JSON.stringify(got.json)}`);
const id = s1.json.ids[0];
const s2 = await call(sam, 'POST', '/saveActions', [
  { client_ts: new Date().toISOString(), type: 'reaction', target: id, user: 'P123', icon: 'heart' },
  { client_ts: new Date().toISOString(), type: 'message_read', target: id, user: 'P123' },
  msg('P123', 'thanks'),
]);
if (s2.status !== 200) fail(`saveActions 2 ${s2.status}`);
const s3 = await call(sam, 'POST', '/saveActions', [{ client_ts: new Date().toISOString(), type: 'delete', target: s2.json.ids[2] }]);
if (s3.status !== 200) fail(`delete ${s3.status}`);
if ((await call(sam, 'POST', '/saveActions', [{ type: 'nope' }])).status !== 400) fail('bad body accepted');
if ((await call({ cookie: sam.cookie }, 'POST', '/saveActions', [])).status !== 403) fail('CSRF not refused');
const n = await fetch(`${base}/operator/notice`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ ts_id: 1, body: 'Break in five minutes' }),
});
if (n.status !== 200) fail(`notice ${n.status}`);
const all = await call(sam, 'POST', '/getActions', { last_action_id: 0 });
if (all.json.actions.length < 5) fail(`getActions ${JSON.stringify(all.json)}`);
if ((await call(doc, 'POST', '/logout')).status !== 200) fail('logout');
// left held: the shutdown ends it
call(sam, 'POST', '/getActions', { last_action_id: all.json.max_id, wait: 25 }).catch(() => {});
await new Promise((r) => setTimeout(r, 300));
console.log('therapy session: ok');
process.exit(0);
