// The real client, socket.io-client 4.8.4, against the conformance server:
// polling with the upgrade to WebSocket, WebSocket only, polling only, two
// namespaces over one connection, a refused namespace, and staying connected
// across heartbeats (the client drops a connection whose pings stop).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  startTarget, cleanup, ioConnect, ioConnected, ioManager, ioNext, T, sleep, withTimeout,
  PING_INTERVAL, PING_TIMEOUT,
} from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

const UTF8 = 'é ü € 😀 ✓ 中文';

/** the echo and the ack with a string, a number, an object and a Buffer */
async function roundTrips(socket) {
  const bin = crypto.randomBytes(1500);
  const back = ioNext(socket, 'message-back');
  socket.emit('message', UTF8, 42, { nested: [true, null] }, bin);
  const args = await back;
  assert.equal(args.length, 4);
  assert.equal(args[0], UTF8);
  assert.equal(args[1], 42);
  assert.deepEqual(args[2], { nested: [true, null] });
  assert.deepEqual(Buffer.from(args[3]), bin);
  // emitWithAck would keep only the first argument: a callback sees them all
  const acked = await new Promise((resolve, reject) => {
    socket.timeout(T(3000)).emit('message-with-ack', 'ack me', UTF8, bin, (err, ...a) => (err ? reject(err) : resolve(a)));
  });
  assert.equal(acked.length, 3);
  assert.equal(acked[0], 'ack me');
  assert.equal(acked[1], UTF8);
  assert.deepEqual(Buffer.from(acked[2]), bin);
}

test('socket.io-client (default: polling, then the upgrade): connects, gets the auth event, echo and ack work, the transport becomes websocket', async () => {
  const m = ioManager(s); // default transports: polling first
  const socket = m.socket('/', { auth: { token: 't-1' } });
  const auth = ioNext(socket, 'auth');
  await ioConnected(socket);
  assert.deepEqual(await auth, [{ token: 't-1' }]);
  const engine = socket.io.engine;
  if (engine.transport.name !== 'websocket') {
    await withTimeout(new Promise((resolve) => engine.once('upgrade', resolve)), T(3000), 'upgrade to websocket');
  }
  assert.equal(engine.transport.name, 'websocket');
  await roundTrips(socket);
  socket.disconnect();
});

test('socket.io-client: the auth payload comes back in the auth event', async () => {
  const m = ioManager(s, { transports: ['websocket'] });
  const socket = m.socket('/', { auth: { token: 'abc', n: 1 } });
  const auth = ioNext(socket, 'auth');
  await ioConnected(socket);
  assert.deepEqual(await auth, [{ token: 'abc', n: 1 }]);
  socket.disconnect();
});

test('socket.io-client (websocket only): echo and ack of strings, numbers, objects, UTF-8 and binary', async () => {
  const socket = await ioConnect(s, '/', { transports: ['websocket'] });
  assert.equal(socket.io.engine.transport.name, 'websocket');
  await roundTrips(socket);
  socket.disconnect();
});

test('socket.io-client (polling only): echo and ack with UTF-8 and binary over base64 polling', async () => {
  const socket = await ioConnect(s, '/', { transports: ['polling'], upgrade: false });
  assert.equal(socket.io.engine.transport.name, 'polling');
  await roundTrips(socket);
  socket.disconnect();
});

test('socket.io-client: / and /custom over one connection, each with its own auth and sid', async () => {
  const m = ioManager(s, { transports: ['websocket'] });
  const main = m.socket('/', { auth: { who: 'main' } });
  const custom = m.socket('/custom', { auth: { who: 'custom' } });
  const authMain = ioNext(main, 'auth');
  const authCustom = ioNext(custom, 'auth');
  await Promise.all([ioConnected(main), ioConnected(custom)]);
  assert.deepEqual(await authMain, [{ who: 'main' }]);
  assert.deepEqual(await authCustom, [{ who: 'custom' }]);
  assert.notEqual(main.id, custom.id);
  custom.disconnect();
  const back = ioNext(main, 'message-back');
  main.emit('message', 'after /custom left');
  assert.deepEqual(await back, ['after /custom left']);
  main.disconnect();
});

test('socket.io-client: an unknown namespace → connect_error "Invalid namespace"', async () => {
  await assert.rejects(ioConnect(s, '/nowhere', { transports: ['websocket'] }), (err) => {
    assert.equal(err.message, 'Invalid namespace');
    return true;
  });
});

for (const transports of [['websocket'], ['polling']]) {
  test(`socket.io-client (${transports[0]}): stays connected over several ping intervals (its ping check would drop it otherwise)`, async () => {
    const socket = await ioConnect(s, '/', { transports, upgrade: false });
    let reason = null;
    socket.on('disconnect', (r) => { reason = r; });
    let pings = 0;
    socket.io.on('ping', () => { pings++; });
    await sleep(4 * PING_INTERVAL + PING_TIMEOUT);
    assert.equal(reason, null, `disconnected: ${reason}`);
    assert.ok(socket.connected);
    assert.ok(pings >= 3, `${pings} pings seen by the client`);
    const back = ioNext(socket, 'message-back');
    socket.emit('message', 'still here');
    assert.deepEqual(await back, ['still here']);
    socket.disconnect();
  });
}
