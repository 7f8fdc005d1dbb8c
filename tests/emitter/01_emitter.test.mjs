// The Socket.IO redis-emitter bridge: a Node backend's
// io.of('/realtime').to('company:42').emit(...) through the real
// @socket.io/redis-emitter and a real redis-server reaches the right realtime
// clients of two switchboard nodes, each once; what is malformed is counted and
// dropped and the nodes keep serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startNode, redisClient, Emitter, notepack, connect, mint, recordEvents, cleanup,
  metrics, T, until, h, postUpdate, dropTransport,
} from './emitter_harness.mjs';

after(cleanup);

let redis, nodes, pub, io, all, byLabel;
let seq = 0;

/** a realtime client of company `co` on node n, recording its events */
async function client(n, label, co, opts = {}) {
  const sid = `${label}-s`;
  const c = await connect(nodes[n], {
    label,
    token: mint({ sub: `${label}-user`, company_id: co, sid, artifacts: '*' }),
    sessionId: sid,
    ...opts,
  });
  c.co = co;
  return recordEvents(c);
}

const named = (c, event) => c.events.filter((e) => e.event === event);

/**
 * The arguments as emitted: with recovery on (the default) the server adds
 * the newest UPDATE's offset as a last string argument, as a Node server with
 * connectionStateRecovery adds its own.
 */
function emitted(e) {
  const last = e.args.at(-1);
  assert.ok(typeof last === 'string' && /^\d+$/.test(last), `the offset last: ${JSON.stringify(e.args)}`);
  return e.args.slice(0, -1);
}

/**
 * After an emit: a sentinel to every socket, and wait until every client has
 * it. Each node reads the channel in order, so whatever the emit was to reach
 * has reached by then.
 */
async function settle() {
  const id = ++seq;
  io.emit('sentinel', id);
  await until(() => all.every((c) => c.events.some((e) => e.event === 'sentinel' && e.args[0] === id)),
    T(10000), `sentinel ${id} on every client`);
}

function reset() {
  for (const c of all) c.events.length = 0;
}

before(async () => {
  redis = await startRedis();
  nodes = [await startNode(redis), await startNode(redis)];
  pub = await redisClient(redis.url);
  io = new Emitter(pub).of('/realtime');
  all = [
    await client(0, 'a42', '42', { transports: ['websocket'] }),
    await client(0, 'a42art', '42', { artifactId: 'doc-7', transports: ['polling'] }),
    await client(0, 'a43', '43'),
    await client(1, 'b42', '42', { transports: ['polling'] }),
    await client(1, 'b42art', '42', { artifactId: 'doc-7', transports: ['websocket'] }),
    await client(1, 'b43art', '43', { artifactId: 'doc-7' }),
  ];
  byLabel = Object.fromEntries(all.map((c) => [c.label, c]));
  // the nodes subscribe on their own time: probe until both hear the channel
  await until(() => {
    io.emit('probe');
    return all.every((c) => named(c, 'probe').length > 0);
  }, T(15000), 'both nodes subscribed to the emitter\'s channel', 100);
  await settle();
  reset();
});

const PAYLOAD = {
  text: 'héllo wörld — 你好 👋 "quoted" \\ back\nslash\t\u0001',
  nested: [[1, [2, [3, []]]], { deep: { deeper: [null, true, false] } }],
  numbers: [0, -1, 127, 128, -32, -33, 255, 65535, 65536, 4294967295, 4294967296,
    -2147483649, 9007199254740991, -9007199254740991, 1.5, -0.25, 3.141592653589793, 6.02214076e-23, -1.7976931348623157e-300, 5e-324],
  // (not an integral number past 2^64, 1e300 say: notepack.io itself encodes it as a wrong uint 64)
  empty: { obj: {}, arr: [], str: '' },
  nothing: null,
  yes: true,
  no: false,
};

test('io.of("/realtime").to("company:42").emit: every company-42 client on both nodes gets one message with the exact payload; company 43 nothing', { timeout: T(30000) }, async () => {
  const when = new Date(Date.UTC(2026, 11, 4, 18, 58, 17, 123));
  io.to('company:42').emit('message', PAYLOAD, 'second', 42, { when, gone: undefined });
  await settle();
  for (const c of all) {
    const got = named(c, 'message');
    if (c.co === '42') {
      assert.equal(got.length, 1, `${c.label}: ${JSON.stringify(c.events)}`);
      assert.deepStrictEqual(emitted(got[0]), [PAYLOAD, 'second', 42, { when: when.toISOString() }], c.label);
    } else {
      assert.equal(got.length, 0, `${c.label} is in company 43: ${JSON.stringify(got)}`);
    }
  }
  // the seed's client reads the same object through its own handler
  assert.deepStrictEqual(byLabel.a42.msgs.at(-1).env, PAYLOAD);
  reset();
});

test('.to(company).to(artifact): a client in both rooms gets the event once', { timeout: T(30000) }, async () => {
  io.to('company:42').to('artifact:42:doc-7').emit('both', { n: 1 });
  await settle();
  for (const c of all) assert.equal(named(c, 'both').length, c.co === '42' ? 1 : 0, c.label);
  // the same room twice, and in a list
  io.to(['artifact:42:doc-7', 'artifact:42:doc-7', 'company:42']).emit('twice', 2);
  await settle();
  for (const c of all) assert.equal(named(c, 'twice').length, c.co === '42' ? 1 : 0, c.label);
  reset();
});

test('.except(room) leaves that room\'s clients out', { timeout: T(30000) }, async () => {
  io.to('company:42').except('artifact:42:doc-7').emit('except', 'x');
  await settle();
  assert.deepStrictEqual(all.filter((c) => named(c, 'except').length === 1).map((c) => c.label).sort(), ['a42', 'b42']);
  for (const c of all) assert.ok(named(c, 'except').length <= 1, c.label);
  // no room but an except: everyone else
  io.except('company:42').emit('all-but-42', 1);
  await settle();
  assert.deepStrictEqual(all.filter((c) => named(c, 'all-but-42').length === 1).map((c) => c.label).sort(), ['a43', 'b43art']);
  reset();
});

test('an artifact room is its company\'s: artifact:42:doc-7 does not reach company 43\'s doc-7', { timeout: T(30000) }, async () => {
  io.to('artifact:42:doc-7').emit('art', { id: 'doc-7' });
  io.to('artifact:43:doc-7').emit('art43', { id: 'doc-7' });
  await settle();
  assert.deepStrictEqual(all.filter((c) => named(c, 'art').length === 1).map((c) => c.label).sort(), ['a42art', 'b42art']);
  assert.deepStrictEqual(all.filter((c) => named(c, 'art43').length === 1).map((c) => c.label), ['b43art']);
  for (const c of all) assert.ok(named(c, 'art').length <= 1);
  reset();
});

test('no room: every socket of /realtime on both nodes; flags volatile and compress accepted', { timeout: T(30000) }, async () => {
  io.emit('everyone', [1, 2, 3]);
  io.volatile.compress(false).to('company:43').emit('flags', 'v');
  await settle();
  for (const c of all) {
    assert.equal(named(c, 'everyone').length, 1, c.label);
    assert.deepStrictEqual(emitted(named(c, 'everyone')[0]), [[1, 2, 3]]);
    assert.equal(named(c, 'flags').length, c.co === '43' ? 1 : 0, c.label);
  }
  reset();
});

test('binary arguments arrive as a BINARY_EVENT with their attachments, over WebSocket and polling', { timeout: T(30000) }, async () => {
  const a = Buffer.from([0, 1, 2, 253, 254, 255]);
  const b = Buffer.from('binary in an object', 'utf8');
  io.to('company:42').emit('file', a, { name: 'x.bin', content: b, list: [Buffer.alloc(0)] });
  await settle();
  for (const c of all) {
    const got = named(c, 'file');
    assert.equal(got.length, c.co === '42' ? 1 : 0, c.label);
    if (!got.length) continue;
    const [x, y] = emitted(got[0]);
    assert.ok(Buffer.from(x).equals(a), `${c.label}: ${x}`);
    assert.equal(y.name, 'x.bin');
    assert.ok(Buffer.from(y.content).equals(b), c.label);
    assert.equal(Buffer.from(y.list[0]).length, 0);
  }
  reset();
});

test('namespace /other is not served: its emits reach nobody', { timeout: T(30000) }, async () => {
  const before = await Promise.all(nodes.map(metrics));
  new Emitter(pub).of('/other').to('company:42').emit('other', 1);
  new Emitter(pub).emit('root-namespace', 1); // "/" too: the realtime service is /realtime
  // a packet naming another namespace on /realtime's channel: dropped, counted
  await pub.publish('socket.io#/realtime#', Buffer.from(notepack.encode(['x', { type: 2, data: ['other', 1], nsp: '/other' }, { rooms: [], except: [], flags: {} }])));
  await settle();
  for (const c of all) {
    assert.equal(named(c, 'other').length, 0, c.label);
    assert.equal(named(c, 'root-namespace').length, 0, c.label);
  }
  const after = await Promise.all(nodes.map(metrics));
  for (let i = 0; i < 2; i++) {
    assert.equal(after[i]['switchboard_emitter_dropped_total{reason="namespace"}'] - (before[i]['switchboard_emitter_dropped_total{reason="namespace"}'] || 0), 1);
  }
  reset();
});

/** raw bytes on the broadcast channel */
const raw = (bytes) => pub.publish('socket.io#/realtime#', Buffer.from(bytes));
const envelope = (data, opts = { rooms: ['company:42'], except: [], flags: {} }) =>
  notepack.encode(['emitter', { type: 2, data, nsp: '/realtime' }, opts]);

test('malformed messages are counted and dropped; the nodes keep serving', { timeout: T(60000) }, async () => {
  const before = await Promise.all(nodes.map(metrics));
  const good = envelope(['fine', 1]);
  const deep = Buffer.concat([Buffer.from([0x93, 0xa1, 0x78, 0x83, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92, 0xa4, 0x64, 0x65, 0x65, 0x70]),
    Buffer.alloc(100, 0x91), Buffer.from([0xc0, 0xa3, 0x6e, 0x73, 0x70, 0xa9, ...Buffer.from('/realtime'), 0x80])]);
  const cases = {
    malformed: [
      [0xc1], // never used
      [], // empty
      [0x93, 0xa1], // truncated
      Buffer.from('{"json":"not msgpack"}'),
      [0xdd, 0xff, 0xff, 0xff, 0xff], // an array of 4 billion in no bytes
      notepack.encode({ not: 'an array' }),
      notepack.encode(['emitter', { type: 2, data: [], nsp: '/realtime' }, {}]), // no event
      notepack.encode(['emitter', { type: 2, data: ['connect'], nsp: '/realtime' }, {}]), // reserved
      notepack.encode(['emitter', { type: 2, data: [42], nsp: '/realtime' }, {}]), // not a name
      notepack.encode(['emitter', { type: 2, data: ['x'], nsp: '/realtime' }, { rooms: 'company:42' }]),
      notepack.encode(['emitter', { type: 2, nsp: '/realtime' }, {}]), // no data
      Buffer.concat([good, Buffer.from([0x00])]), // trailing bytes
      good.subarray(0, good.length - 3), // cut short
    ],
    limit: [
      deep,
      notepack.encode(['emitter', { type: 2, data: ['x'], nsp: '/realtime' }, { rooms: Array.from({ length: 300 }, (_, i) => `company:${i}`) }]),
      envelope(['many', ...Array.from({ length: 11 }, () => Buffer.from('x'))]),
    ],
    json: [
      // a map with a boolean key; a string that is not UTF-8
      Buffer.from([0x93, 0xa1, 0x78, 0x83, 0xa4, ...Buffer.from('type'), 0x02, 0xa4, ...Buffer.from('data'), 0x92, 0xa1, 0x6b, 0x81, 0xc3, 0x01, 0xa3, ...Buffer.from('nsp'), 0xa9, ...Buffer.from('/realtime'), 0x80]),
      Buffer.from([0x93, 0xa1, 0x78, 0x83, 0xa4, ...Buffer.from('type'), 0x02, 0xa4, ...Buffer.from('data'), 0x92, 0xa1, 0x6b, 0xa2, 0xff, 0xfe, 0xa3, ...Buffer.from('nsp'), 0xa9, ...Buffer.from('/realtime'), 0x80]),
    ],
    too_large: [envelope(['big', 'x'.repeat((1 << 20) + 10)])],
    unsupported: [
      notepack.encode(['emitter', { type: 2, data: ['acked'], nsp: '/realtime', id: 7 }, {}]),
      notepack.encode(['emitter', { type: 1, nsp: '/realtime', data: ['x'] }, {}]),
    ],
  };
  for (const list of Object.values(cases)) for (const b of list) await raw(b);
  await raw(good);
  await settle();
  for (const c of all) {
    assert.equal(named(c, 'fine').length, c.co === '42' ? 1 : 0, c.label);
    for (const bad of ['deep', 'many', 'k', 'big', 'acked', 'x', 'connect']) assert.equal(named(c, bad).length, 0, `${c.label} got ${bad}`);
  }
  const after = await Promise.all(nodes.map(metrics));
  for (let i = 0; i < 2; i++) {
    for (const [reason, list] of Object.entries(cases)) {
      const k = `switchboard_emitter_dropped_total{reason="${reason}"}`;
      assert.equal(after[i][k] - (before[i][k] || 0), list.length, `node ${i}: ${k}`);
    }
    assert.match(nodes[i].stderr, /event=emitter_dropped reason=malformed channel=socket.io#\/realtime# error="offset 0: byte 0xc1 is never used"/);
    // still serving: a request answered, a fresh client admitted
    const r = await byLabel[i ? 'b42' : 'a42'].ask('ping');
    assert.equal(r.type, 'RESPONSE');
  }
  reset();
});

test('socketsJoin, socketsLeave, disconnectSockets, serverSideEmit: not supported, logged once each, counted every time', { timeout: T(30000) }, async () => {
  const before = await Promise.all(nodes.map(metrics));
  io.to('company:42').socketsJoin('company:43');
  io.socketsLeave('company:42');
  io.disconnectSockets(true);
  io.serverSideEmit('hello');
  io.serverSideEmit('again');
  await pub.publish('socket.io-request#/realtime#', 'not json');
  await settle();
  for (const c of all) assert.ok(c.socket.connected, `${c.label} still connected`);
  const after = await Promise.all(nodes.map(metrics));
  for (let i = 0; i < 2; i++) {
    const k = 'switchboard_emitter_dropped_total{reason="unsupported"}';
    assert.equal(after[i][k] - (before[i][k] || 0), 5, `node ${i}`);
    const m = 'switchboard_emitter_dropped_total{reason="malformed"}';
    assert.equal(after[i][m] - (before[i][m] || 0), 1, `node ${i}`);
    for (const op of ['socketsJoin', 'socketsLeave', 'disconnectSockets', 'serverSideEmit']) {
      const lines = nodes[i].stderr.split('\n').filter((l) => l.includes('event=emitter_unsupported') && l.includes(`operation="${op}"`));
      assert.equal(lines.length, 1, `node ${i}: ${op} logged once`);
    }
  }
  // a company-42 client was not made to join company 43
  io.to('company:43').emit('after-join', 1);
  await settle();
  for (const c of all) assert.equal(named(c, 'after-join').length, c.co === '43' ? 1 : 0, c.label);
  reset();
});

test('with recovery on, an emit that ends with a string does not become the client\'s recovery offset: the client recovers', { timeout: T(30000) }, async () => {
  const c = recordEvents(await connect(nodes[0], {
    label: 'rec', reconnection: true, transports: ['websocket'],
    token: mint({ sub: 'rec-user', company_id: 'rec', sid: 'rec-s' }), sessionId: 'rec-s',
    io: { reconnectionDelay: T(300), reconnectionDelayMax: T(300), randomizationFactor: 0 },
  }));
  all.push(c);
  try {
    const up = await postUpdate(nodes[0], { company_id: 'rec', action: 'before' });
    assert.equal(up.status, 200, up.text);
    await c.until(() => c.msgs.length === 1, T(5000), 'the UPDATE');
    io.to('company:rec').emit('notice', 'a plain string, last');
    await settle();
    const got = named(c, 'notice').at(-1);
    assert.deepStrictEqual(got.args, ['a plain string, last', up.json.offset]);
    assert.equal(c.socket._lastOffset, up.json.offset);
    dropTransport(c);
    await c.until(() => c.connects === 2, T(8000), 'the reconnection');
    assert.equal(c.socket.recovered, true);
  } finally {
    all.splice(all.indexOf(c), 1);
    c.close();
  }
  reset();
});

test('with --realtime-recovery 0 the arguments are exactly the emitted ones', { timeout: T(30000) }, async () => {
  const n = await startNode(redis, ['--realtime-recovery', '0']);
  const c = recordEvents(await connect(n, { label: 'norec', token: mint({ sub: 'nr', company_id: '42', sid: 'nr-s' }), sessionId: 'nr-s' }));
  await until(() => {
    io.to('company:42').emit('probe-norec', 'x', { y: [1] });
    return named(c, 'probe-norec').length > 0;
  }, T(15000), 'the third node subscribed', 100);
  assert.deepStrictEqual(named(c, 'probe-norec')[0].args, ['x', { y: [1] }]);
  c.close();
  await n.stop();
  await settle();
  reset();
});

test('metrics: messages, deliveries and unknown rooms', { timeout: T(30000) }, async () => {
  const before = await Promise.all(nodes.map(metrics));
  io.to('company:42').emit('counted', 1); // 2 sockets per node
  io.to('room-nobody-has').emit('nowhere', 1); // a Socket.IO room that is no topic here
  io.to('company:').emit('nowhere', 2);
  await settle(); // + 1 message, 3 sockets per node
  for (const c of all) assert.equal(named(c, 'nowhere').length, 0);
  const after = await Promise.all(nodes.map(metrics));
  for (let i = 0; i < 2; i++) {
    const d = (k) => after[i][k] - (before[i][k] || 0);
    assert.equal(d('switchboard_emitter_messages_total'), 4, `node ${i}`);
    assert.equal(d('switchboard_emitter_delivered_total'), 2 + 3, `node ${i}`);
    assert.equal(d('switchboard_emitter_unknown_rooms_total'), 2, `node ${i}`);
  }
  for (const n of nodes) assert.deepStrictEqual(h.sanitizerReports(n), []);
});

test('the nodes stop cleanly (no leak or sanitizer report at exit)', { timeout: T(30000) }, async () => {
  for (const c of all) c.close();
  for (const n of nodes) {
    const r = await n.stop('SIGTERM');
    assert.equal(r.code, 0, n.stderr.slice(-2000));
    assert.deepStrictEqual(h.sanitizerReports(n), []);
  }
});
