// Load: 200 socket.io-client connections (a fifth of them polling only) each
// pipelining 50 REQUESTs without waiting: every answer matches its request
// exactly once (by a globally unique requestId), no answer is missing, none is
// extra, each is of the kind its action calls for, and a connection's answers
// come in the order of its requests. A fifth of the requests also ask for an
// ack, which must come exactly once with the same text.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRt, connect, cleanup, metrics, mint, T, sleep, h } from './realtime_harness.mjs';

after(cleanup);

const CLIENTS = 200;
const PER_CLIENT = 50;

/** what request j of a client asks, and what its answer must be */
function plan(j) {
  switch (j % 10) {
    case 3: return { action: 'whoami', expect: 'RESPONSE' };
    case 6: return { action: 'noSuchAction', expect: 'ERROR', code: 'UNKNOWN_ACTION' };
    case 8: return { action: 'subscribeArtifact', data: { artifactId: 12 }, expect: 'ERROR', code: 'INVALID_DATA' };
    default: return { action: 'ping', expect: 'RESPONSE' };
  }
}

test(`${CLIENTS} clients × ${PER_CLIENT} pipelined REQUESTs: each answered exactly once, in order, nothing extra`, { timeout: T(90000) }, async () => {
  const s = await startRt({ args: ['--max-request-rate', '0', '--max-user-connections', '0'] });
  const t0 = Date.now();
  const clients = [];
  for (let b = 0; b < CLIENTS; b += 50) {
    clients.push(...await Promise.all(Array.from({ length: 50 }, (_, i) => connect(s, {
      label: `L${b + i}`,
      transports: (b + i) % 5 === 0 ? ['polling'] : ['websocket'],
      // 7 users over 200 connections: past the default 32 per user, hence --max-user-connections 0
      token: mint({ sub: `user-${(b + i) % 7}`, sid: `s-${b + i}` }),
      sessionId: `s-${b + i}`,
    }))));
  }
  const tConnected = Date.now();

  const acks = new Map(); // requestId -> [ack texts]
  const sent = new Map(); // client -> [requestIds in order]
  for (const c of clients) {
    const ids = [];
    for (let j = 0; j < PER_CLIENT; j++) {
      const { action, data } = plan(j);
      const requestId = `${c.label}.${j}.${Math.random().toString(36).slice(2, 8)}`;
      ids.push(requestId);
      const env = JSON.stringify({ type: 'REQUEST', requestId, action, ...(data ? { data } : {}) });
      if (j % 5 === 4) {
        acks.set(requestId, []);
        c.socket.emit('message', env, (text) => acks.get(requestId).push(text));
      } else {
        c.socket.emit('message', env);
      }
    }
    sent.set(c, ids);
  }
  await Promise.all(clients.map((c) => c.until((x) => x.msgs.length >= PER_CLIENT, T(60000), `${PER_CLIENT} answers`)));
  // a last ping per client, answered after all the others: nothing can still be on its way
  await Promise.all(clients.map((c) => c.ask('ping', undefined, `${c.label}.barrier`)));
  await sleep(50);
  const tAnswered = Date.now();

  const all = new Set();
  for (const c of clients) {
    const ids = sent.get(c);
    const got = c.msgs.map((m) => m.env.requestId);
    assert.deepEqual(got, [...ids, `${c.label}.barrier`], `${c.label}: every answer once, in request order`);
    for (let j = 0; j < PER_CLIENT; j++) {
      const env = c.msgs[j].env;
      const p = plan(j);
      assert.equal(env.type, p.expect, `${c.label} #${j} (${p.action}): ${JSON.stringify(env)}`);
      assert.equal(env.action, p.action);
      if (p.code) assert.equal(env.error.code, p.code);
      if (p.action === 'whoami') assert.equal(env.data.sessionId, `s-${c.label.slice(1)}`, 'its own session');
      // the recovery offset goes last, so that socket.io-client keeps a number, not the envelope
      assert.equal(c.msgs[j].nargs, 2, 'an answer carries the recovery offset');
    }
    for (const id of ids) all.add(id);
  }
  assert.equal(all.size, CLIENTS * PER_CLIENT, 'requestIds were unique');
  for (const [id, texts] of acks) {
    assert.equal(texts.length, 1, `ack of ${id} exactly once`);
    assert.equal(JSON.parse(texts[0]).requestId, id);
  }
  assert.equal(acks.size, CLIENTS * PER_CLIENT / 5);

  const m = await metrics(s);
  assert.equal(m.switchboard_realtime_requests_total, CLIENTS * (PER_CLIENT + 1));
  assert.equal(m.switchboard_realtime_errors_total, CLIENTS * PER_CLIENT / 5, 'the UNKNOWN_ACTION and INVALID_DATA ones');
  assert.equal(m.switchboard_realtime_connections_total, CLIENTS);
  assert.equal(m.switchboard_realtime_sockets, CLIENTS);
  assert.equal(m['switchboard_realtime_limited_total{limit="requests"}'], 0);
  console.error(`# load: ${CLIENTS} connected in ${tConnected - t0} ms, ${CLIENTS * PER_CLIENT} answered in ${tAnswered - tConnected} ms, server RSS ${s.rssKb()} kB`);
  for (const c of clients) c.close();
  await h.until(async () => (await metrics(s)).switchboard_realtime_sockets === 0, T(5000), 'every socket gone');
});
