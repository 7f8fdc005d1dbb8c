// Tenant isolation under load: two companies with clients of their own, some
// following the same artifact id "shared" (by the handshake's artifactId or by
// subscribeArtifact), and many UPDATEs posted to both at once, several POSTs in
// flight: every client gets exactly what its company (and its artifacts) should
// get, nothing of the other company, each once, in offset order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRt, connect, cleanup, postUpdate, mint, T, sleep } from './realtime_harness.mjs';

after(cleanup);

const PER_COMPANY = 24; // clients: 8 company only, 8 with artifactId=shared, 8 subscribing to shared
const COMPANY_UPDATES = 60;
const ARTIFACT_UPDATES = 30;
const PARALLEL = 8;

/** run the tasks (functions returning promises), `width` at a time */
async function pool(tasks, width) {
  const results = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }));
  return results;
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

test('two companies, updates posted to both at once: each client gets exactly its company\'s and its artifact\'s UPDATEs, in offset order', { timeout: T(60000) }, async () => {
  const s = await startRt({ args: ['--max-user-connections', '0'] });
  const clients = [];
  for (const co of ['A', 'B']) {
    for (let i = 0; i < PER_COMPANY; i++) {
      const kind = ['company', 'handshake', 'subscribe'][i % 3];
      const c = await connect(s, {
        label: `${co}${i}-${kind}`,
        transports: i % 4 === 0 ? ['polling'] : ['websocket'],
        token: mint({ sub: `${co}-user-${i}`, company_id: `company-${co}`, sid: `${co}-s${i}`, artifacts: ['shared', 'other'] }),
        sessionId: `${co}-s${i}`,
        ...(kind === 'handshake' ? { artifactId: 'shared' } : {}),
      });
      if (kind === 'subscribe') assert.equal((await c.ask('subscribeArtifact', { artifactId: 'shared' })).type, 'RESPONSE');
      Object.assign(c, { co, kind });
      clients.push(c);
    }
  }

  const posts = [];
  for (const co of ['A', 'B']) {
    for (let i = 0; i < COMPANY_UPDATES; i++) posts.push({ company_id: `company-${co}`, action: 'companyUpdate', requestId: `${co}-c-${i}`, data: { co, i } });
    for (let i = 0; i < ARTIFACT_UPDATES; i++) posts.push({ company_id: `company-${co}`, artifact_id: 'shared', action: 'artifactUpdate', requestId: `${co}-a-${i}`, data: { co, i, art: 'shared' } });
    // an artifact nobody follows: reaches no one
    posts.push({ company_id: `company-${co}`, artifact_id: 'other', action: 'artifactUpdate', requestId: `${co}-o`, data: { co } });
  }
  shuffle(posts);
  const answers = await pool(posts.map((b) => () => postUpdate(s, b)), PARALLEL);
  const offsetOf = new Map();
  for (let i = 0; i < posts.length; i++) {
    const b = posts[i];
    const r = answers[i];
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.requestId, b.requestId);
    const expectDelivered = b.artifact_id === 'other' ? 0 : b.artifact_id ? PER_COMPANY * 2 / 3 : PER_COMPANY;
    assert.equal(r.json.delivered, expectDelivered, `delivered of ${b.requestId}`);
    offsetOf.set(b.requestId, Number(r.json.offset));
  }
  assert.equal(new Set(offsetOf.values()).size, posts.length, 'offsets are unique');

  // what each client must get: its company's updates, and shared's if it follows it, by offset
  const expected = (c) => posts
    .filter((b) => b.company_id === `company-${c.co}` && (!b.artifact_id || (b.artifact_id === 'shared' && c.kind !== 'company')))
    .map((b) => b.requestId)
    .sort((x, y) => offsetOf.get(x) - offsetOf.get(y));
  await Promise.all(clients.map((c) => c.until((x) => x.updates().length >= expected(c).length, T(20000), `${expected(c).length} UPDATEs`)));
  // a last UPDATE to each company: once it is in, nothing else is on its way
  for (const co of ['A', 'B']) assert.equal((await postUpdate(s, { company_id: `company-${co}`, action: 'barrier', requestId: `${co}-barrier` })).json.delivered, PER_COMPANY);
  await Promise.all(clients.map((c) => c.waitMsgs((m) => m.env.action === 'barrier', 1, { ms: T(5000) })));
  await sleep(50);

  for (const c of clients) {
    const ups = c.updates();
    const ids = ups.map((m) => m.env.requestId);
    assert.deepEqual(ids, [...expected(c), `${c.co}-barrier`], `${c.label}: exactly its UPDATEs, once each, in offset order`);
    for (const m of ups) {
      if (m.env.action === 'barrier') continue;
      assert.equal(m.env.data.co, c.co, `${c.label} got ${m.raw}`);
      assert.equal(Number(m.offset), offsetOf.get(m.env.requestId), 'the offset argument is the one the POST answered');
    }
    const offs = ups.map((m) => Number(m.offset));
    for (let i = 1; i < offs.length; i++) assert.ok(offs[i] > offs[i - 1], `${c.label}: offsets increase (${offs[i - 1]}, ${offs[i]})`);
  }
});

// Topic keys are "company:<company>" and "artifact:<company>/<artifact>" with
// nothing escaped (handlers/realtime.c topic_key), so company "acme" artifact
// "x/y" and company "acme/x" artifact "y" are one and the same topic: a user of
// acme allowed every artifact gets another company's artifact UPDATEs.
test('an artifact id with a "/" does not reach into another company\'s artifact topic', async () => {
  const s = await startRt();
  const intruder = await connect(s, { label: 'acme', token: mint({ company_id: 'acme', artifacts: '*' }) });
  assert.equal((await intruder.ask('subscribeArtifact', { artifactId: 'x/y' })).type, 'RESPONSE');
  const owner = await connect(s, { label: 'acme/x', token: mint({ company_id: 'acme/x', artifacts: ['y'] }), artifactId: 'y' });
  const r = await postUpdate(s, { company_id: 'acme/x', artifact_id: 'y', action: 'secret', data: 'for acme/x only' });
  assert.equal(r.status, 200);
  await owner.waitMsgs((m) => m.env.action === 'secret', 1);
  await sleep(200);
  assert.deepEqual(intruder.updates().map((m) => m.raw), [], 'acme got acme/x\'s UPDATE');
  assert.equal(r.json.delivered, 1);
});

test('same artifact id in two companies, subscribe and unsubscribe: an artifact UPDATE reaches only that company\'s followers', async () => {
  const s = await startRt();
  const a = await connect(s, { label: 'a', token: mint({ company_id: 'ca', artifacts: '*' }) });
  const b = await connect(s, { label: 'b', token: mint({ company_id: 'cb', artifacts: '*' }) });
  const a2 = await connect(s, { label: 'a2', token: mint({ company_id: 'ca', artifacts: '*' }) });
  for (const c of [a, b]) assert.equal((await c.ask('subscribeArtifact', { artifactId: 'doc-1' })).type, 'RESPONSE');
  let r = await postUpdate(s, { company_id: 'ca', artifact_id: 'doc-1', action: 'x', requestId: 'ca-1' });
  assert.equal(r.json.delivered, 1);
  await a.waitMsgs((m) => m.env.requestId === 'ca-1', 1);
  // unsubscribed: no more
  assert.deepEqual((await a.ask('unsubscribeArtifact', { artifactId: 'doc-1' })).data, { artifactId: 'doc-1' });
  r = await postUpdate(s, { company_id: 'ca', artifact_id: 'doc-1', action: 'x', requestId: 'ca-2' });
  assert.equal(r.json.delivered, 0);
  r = await postUpdate(s, { company_id: 'cb', artifact_id: 'doc-1', action: 'x', requestId: 'cb-1' });
  assert.equal(r.json.delivered, 1);
  await b.waitMsgs((m) => m.env.requestId === 'cb-1', 1);
  // a company update still reaches both of ca
  r = await postUpdate(s, { company_id: 'ca', action: 'x', requestId: 'ca-3' });
  assert.equal(r.json.delivered, 2);
  await Promise.all([a, a2].map((c) => c.waitMsgs((m) => m.env.requestId === 'ca-3', 1)));
  await sleep(100);
  assert.deepEqual(a.updates().map((m) => m.env.requestId), ['ca-1', 'ca-3']);
  assert.deepEqual(a2.updates().map((m) => m.env.requestId), ['ca-3']);
  assert.deepEqual(b.updates().map((m) => m.env.requestId), ['cb-1']);
  // not allowed: an artifact outside the token's list
  const limited = await connect(s, { label: 'limited', token: mint({ company_id: 'ca', artifacts: ['doc-2'] }) });
  const denied = await limited.ask('subscribeArtifact', { artifactId: 'doc-1' });
  assert.equal(denied.type, 'ERROR');
  assert.equal(denied.error.code, 'ACTION_NOT_ALLOWED');
  assert.deepEqual((await limited.ask('whoami')).data.subscriptions, []);
});

test('256-byte company and artifact ids (topic keys past 128 bytes are hashed): no leak between ids that differ in the last byte', async () => {
  const s = await startRt();
  const co = (ch) => `${'c'.repeat(255)}${ch}`;
  const art = (ch) => `${'a'.repeat(255)}${ch}`;
  const c1 = await connect(s, { label: 'long1', token: mint({ company_id: co('1'), artifacts: [art('1')] }), artifactId: art('1') });
  const c2 = await connect(s, { label: 'long2', token: mint({ company_id: co('2'), artifacts: [art('1'), art('2')] }), artifactId: art('1') });
  assert.equal((await c2.ask('subscribeArtifact', { artifactId: art('2') })).type, 'RESPONSE');
  const sent = [
    [{ company_id: co('1'), action: 'x', requestId: 'co1' }, 1],
    [{ company_id: co('2'), action: 'x', requestId: 'co2' }, 1],
    [{ company_id: co('1'), artifact_id: art('1'), action: 'x', requestId: 'co1-art1' }, 1],
    [{ company_id: co('1'), artifact_id: art('2'), action: 'x', requestId: 'co1-art2' }, 0],
    [{ company_id: co('2'), artifact_id: art('1'), action: 'x', requestId: 'co2-art1' }, 1],
    [{ company_id: co('2'), artifact_id: art('2'), action: 'x', requestId: 'co2-art2' }, 1],
  ];
  for (const [body, delivered] of sent) {
    const r = await postUpdate(s, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.delivered, delivered, body.requestId);
  }
  await c1.waitMsgs((m) => m.env.type === 'UPDATE', 2);
  await c2.waitMsgs((m) => m.env.type === 'UPDATE', 3);
  await sleep(100);
  assert.deepEqual(c1.updates().map((m) => m.env.requestId), ['co1', 'co1-art1']);
  assert.deepEqual(c2.updates().map((m) => m.env.requestId), ['co2', 'co2-art1', 'co2-art2']);
});
