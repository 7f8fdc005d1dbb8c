// Reconnection: the connection is lost under a socket.io-client 4.8 client (its
// TCP connection cut, as a network loss does; the server killed and started
// again on the same port and database) and the client comes back by itself and
// works again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRt, connect, cleanup, postUpdate, metrics, dropTransport, RtClient, T, until,
} from './realtime_harness.mjs';

after(cleanup);

const gauge = async (s) => (await metrics(s)).switchboard_realtime_sockets;

test('WebSocket cut under the client: "transport close", it reconnects by itself, works again, the server holds one socket', async () => {
  const s = await startRt();
  const c = await connect(s, { transports: ['websocket'], reconnection: true, label: 'cut' });
  const p = await postUpdate(s, { company_id: 'c1', action: 'before' });
  assert.equal(p.json.delivered, 1);
  await c.waitMsgs((m) => m.env.action === 'before', 1);
  const firstId = c.socket.id;

  dropTransport(c);
  assert.equal(await c.disconnectNo(1), 'transport close');
  await c.until((x) => x.connects === 2 && x.socket.connected, T(5000), 'the reconnection');
  assert.notEqual(c.socket.id, firstId, 'a new Socket.IO session');
  assert.equal(c.connectErrors.length, 0);

  // works again: whoami, and UPDATEs reach it
  const who = await c.ask('whoami', undefined, 'after-reconnect');
  assert.equal(who.type, 'RESPONSE');
  assert.deepEqual(who.data, { userId: 'u1', companyId: 'c1', sessionId: 's1', subscriptions: [], permissions: [] });
  const q = await postUpdate(s, { company_id: 'c1', action: 'after' });
  assert.equal(q.json.delivered, 1, 'the dead connection no longer counts');
  await c.waitMsgs((m) => m.env.action === 'after', 1);
  await until(async () => (await gauge(s)) === 1, T(3000), 'switchboard_realtime_sockets back to 1');
  c.close();
  await until(async () => (await gauge(s)) === 0, T(3000), 'switchboard_realtime_sockets 0 after the goodbye');
});

test('server killed and started again on the same port and database: polling-only and default clients reconnect by themselves', async () => {
  const s = await startRt();
  const port = s.port;
  const poll = await connect(s, { transports: ['polling'], reconnection: true, label: 'poll' });
  const dflt = await connect(s, { reconnection: true, label: 'default' });
  await dflt.until((x) => x.transports.includes('websocket'), T(3000), 'the upgrade');
  const p1 = await postUpdate(s, { company_id: 'c1', action: 'first' });
  assert.equal(p1.json.delivered, 2);
  await Promise.all([poll, dflt].map((c) => c.waitMsgs((m) => m.env.action === 'first', 1)));

  await s.stop('SIGKILL');
  const reasons = await Promise.all([poll, dflt].map((c) => c.disconnectNo(1, T(8000))));
  for (const r of reasons) assert.ok(['transport close', 'transport error'].includes(r), `lost: ${r}`);
  const s2 = await startRt({ dir: s.dir, args: ['--port', String(port)] });
  assert.equal(s2.port, port);
  await Promise.all([poll, dflt].map((c) => c.until((x) => x.connects === 2 && x.socket.connected, T(8000), 'the reconnection')));

  for (const c of [poll, dflt]) {
    const r = await c.ask('ping', undefined, `${c.label}-after-restart`);
    assert.equal(r.type, 'RESPONSE');
  }
  const p2 = await postUpdate(s2, { company_id: 'c1', action: 'second' });
  assert.equal(p2.status, 200);
  assert.equal(p2.json.delivered, 2);
  assert.ok(Number(p2.json.offset) > Number(p1.json.offset), 'offsets continue from the stored ones');
  await Promise.all([poll, dflt].map((c) => c.waitMsgs((m) => m.env.action === 'second', 1)));
  assert.equal(poll.socket.io.engine.transport.name, 'polling');
});

// socket.io-client 4.6+ takes the last argument of every event that ends with a
// string as the recovery offset (socket.js emitEvent: `_lastOffset = args[args.length - 1]`).
// The server sends RESPONSE and ERROR as the event "message" with the envelope
// text as its only argument, so after any REQUEST the client's "offset" is the
// whole envelope; on the next reconnection the CONNECT carries it and the server
// refuses the connection: connect_error "Authentication failed: auth.offset:
// longer than 32 bytes". The client does not retry a refused CONNECT: it stays
// offline for good after a network blip.
test('a client that has sent a REQUEST still reconnects by itself after the transport is lost', async () => {
  const s = await startRt();
  const c = await connect(s, { transports: ['websocket'], reconnection: true, label: 'asked' });
  assert.equal((await c.ask('ping')).type, 'RESPONSE');
  dropTransport(c);
  assert.equal(await c.disconnectNo(1), 'transport close');
  try {
    await c.until((x) => x.connects === 2 || x.connectErrors.length > 0, T(5000), 'the reconnection');
  } finally {
    // what the client sent as its offset, for the report
    if (c.connectErrors.length) c.lastOffsetSent = c.socket._lastOffset;
  }
  assert.deepEqual(c.connectErrors.map((e) => e.message), [], `the CONNECT was refused (offset sent: ${JSON.stringify(c.lastOffsetSent)?.slice(0, 80)})`);
  assert.equal(c.connects, 2);
  assert.equal((await c.ask('ping')).type, 'RESPONSE');
});

test('reconnection gives up cleanly when the server is gone: no crash, connect_error is a transport error, not a refusal', async () => {
  const s = await startRt();
  const c = new RtClient(s, { transports: ['websocket'], reconnection: true, label: 'gone', io: { reconnectionAttempts: 3 } });
  await c.connected();
  await s.stop('SIGTERM');
  await c.disconnectNo(1);
  const failed = await c.until((x) => x.connectErrors.length >= 1 && x.connectErrors, T(5000), 'a failed attempt');
  assert.equal(failed[0].message, 'websocket error');
  assert.equal(failed[0].type, 'TransportError');
});
