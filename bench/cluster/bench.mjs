// bench/cluster/bench.mjs: what the bus costs (bench/README.md, "bench/cluster").
// Started by bench/cluster/run.sh; the deployment is tests/cluster/cluster.mjs's
// (redis-server, PostgreSQL or one SQLite file, the nodes of docs/deployment/).
//
//   (a) bus cost: CPU seconds of one node per 1,000 delivered chat messages,
//       the same load with and without --redis; ratio.
//   (b) latency: a sender on n1, one receiver connection on n1 (same node) and
//       one on n2 (across the bus), same messages; p50/p99 of each, ratio.
//   (c) throughput: delivered chat messages a second with two nodes against
//       one (both with the bus), the same clients spread over the nodes; ratio.
//   (d) PostgreSQL only: a node whose statements wait on the loop (--pg-wait
//       loop, handler calls on a coroutine) against one whose statements
//       block it (--pg-wait block), the same load: CPU per 1,000 delivered
//       messages, messages a second, and the WebSocket ping round trip of an
//       idle client meanwhile (p50/p99); ratios loop / block.
//
// Options: --pairs N (20), --messages N per sender (1000), --window N in flight
// per sender (20), --latency N messages (3000), --rate N/s (200), --rounds N (5),
// --only a,b,c,d. Prints Markdown; --json FILE also writes the numbers.
import fs from 'node:fs';
import os from 'node:os';
import { Cluster, chatSocket, sleep, until, T, features } from '../../tests/cluster/cluster.mjs';

const argv = process.argv.slice(2);
const opt = (name, d) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : d; };
const PAIRS = Number(opt('pairs', 20));
const MESSAGES = Number(opt('messages', 1000));
const WINDOW = Number(opt('window', 20));
const LAT_N = Number(opt('latency', 3000));
const RATE = Number(opt('rate', 200));
const ROUNDS = Number(opt('rounds', 5));
const ONLY = new Set(String(opt('only', 'a,b,c,d')).split(','));
const JSON_OUT = opt('json', null);
const NODE_ARGS = ['--max-message-rate', '0', '--max-byte-rate', '0'];

const log = (...a) => console.error('#', ...a);
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pct = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

/** pairs of users with their direct room: [{a, b, room}] */
async function makePairs(c, n, tag) {
  const pairs = [];
  for (let i = 0; i < n; i++) {
    const a = c.addUser(`${tag}a${i}`), b = c.addUser(`${tag}b${i}`);
    const ca = await chatSocket(c.nodes[0], a.token);
    ca.send({ action: 'send_message', receiver_id: b.id, text: 'open' });
    const m = await ca.waitFor((x) => x.type === 'new_message', { ms: T(10000) });
    ca.ws.terminate();
    pairs.push({ a, b, room: m.data.room_id });
  }
  return pairs;
}

/**
 * Every pair's sender sends `messages` with `window` in flight (acks pace it);
 * the sender on nodes[i % n], its receiver on nodes[floor(i / 2) % n] (one
 * node: both on it). Resolves {delivered, seconds}.
 */
async function load(c, nodes, pairs, messages, window) {
  const conns = [];
  for (const [i, p] of pairs.entries()) {
    const s = await chatSocket(nodes[i % nodes.length], p.a.token);
    // receivers: nodes[floor(i / 2)]: with two nodes half the pairs cross
    const r = await chatSocket(nodes[Math.floor(i / 2) % nodes.length], p.b.token);
    conns.push({ p, s, r });
  }
  let delivered = 0;
  const want = pairs.length * messages;
  const t0 = process.hrtime.bigint();
  await Promise.all(conns.map(({ p, s, r }) => new Promise((resolve) => {
    let sent = 0, acked = 0;
    r.ws.on('message', (d) => { if (d.toString().includes('"new_message"')) delivered++; });
    const pump = () => {
      while (sent < messages && sent - acked < window) {
        s.send({ action: 'send_message', room_id: p.room, text: `m${sent}` });
        sent++;
      }
    };
    s.ws.on('message', (d) => {
      if (!d.toString().includes('"new_message"')) return;
      acked++;
      if (acked >= messages) resolve(); else pump();
    });
    pump();
  })));
  await until(() => delivered >= want, T(60000), `${want} delivered (${delivered})`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const { s, r } of conns) { s.ws.terminate(); r.ws.terminate(); }
  return { delivered, seconds };
}

async function busCost() {
  const out = {};
  for (const bus of [false, true]) {
    const c = await new Cluster({ nodes: 1, nginx: false, bus, args: NODE_ARGS }).start();
    try {
      const pairs = await makePairs(c, PAIRS, 'cost');
      await load(c, c.nodes, pairs.slice(0, 2), 50, WINDOW); // warm up
      const per = [];
      for (let r = 0; r < ROUNDS; r++) {
        const cpu0 = c.nodes[0].cpuSeconds();
        const { delivered } = await load(c, c.nodes, pairs, MESSAGES, WINDOW);
        per.push(((c.nodes[0].cpuSeconds() - cpu0) / delivered) * 1000);
      }
      out[bus ? 'with' : 'without'] = { cpuPer1000: median(per), rounds: per, db: c.dbKind };
      log(`bus cost ${bus ? 'with' : 'without'} Redis: ${per.map((x) => x.toFixed(3)).join(' ')} CPU-s / 1000`);
    } finally { await c.stop(); }
  }
  out.ratio = out.with.cpuPer1000 / out.without.cpuPer1000;
  return out;
}

async function latency() {
  const c = await new Cluster({ nodes: 2, nginx: false, bus: true, args: NODE_ARGS }).start();
  try {
    const [p] = await makePairs(c, 1, 'lat');
    const s = await chatSocket(c.nodes[0], p.a.token);
    const same = await chatSocket(c.nodes[0], p.b.token);
    const cross = await chatSocket(c.nodes[1], p.b.token);
    const sentAt = new Map();
    const lat = { same: [], cross: [] };
    const on = (ws, key) => ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type !== 'new_message') return;
      const t = sentAt.get(m.data.message.text);
      if (t !== undefined) lat[key].push(Number(process.hrtime.bigint() - t) / 1e6);
    });
    on(same.ws, 'same'); on(cross.ws, 'cross');
    const gap = 1000 / RATE;
    for (let i = 0; i < LAT_N; i++) {
      const text = `L${i}`;
      sentAt.set(text, process.hrtime.bigint());
      s.send({ action: 'send_message', room_id: p.room, text });
      await sleep(gap);
    }
    await until(() => lat.same.length >= LAT_N && lat.cross.length >= LAT_N, T(30000), 'all received');
    const r = {
      same: { p50: pct(lat.same, 0.5), p99: pct(lat.same, 0.99) },
      cross: { p50: pct(lat.cross, 0.5), p99: pct(lat.cross, 0.99) },
      n: LAT_N, rate: RATE, db: c.dbKind,
    };
    r.ratio = { p50: r.cross.p50 / r.same.p50, p99: r.cross.p99 / r.same.p99 };
    for (const x of [s, same, cross]) x.ws.terminate();
    return r;
  } finally { await c.stop(); }
}

async function throughput() {
  const c = await new Cluster({ nodes: 2, nginx: false, bus: true, args: NODE_ARGS }).start();
  try {
    const pairs = await makePairs(c, PAIRS, 'tp');
    await load(c, c.nodes, pairs.slice(0, 2), 50, WINDOW);
    const res = { one: [], two: [] };
    for (let r = 0; r < ROUNDS; r++) { // alternate, so drift hits both alike
      for (const k of ['one', 'two']) {
        const nodes = k === 'one' ? [c.nodes[0]] : c.nodes;
        const { delivered, seconds } = await load(c, nodes, pairs, MESSAGES, WINDOW);
        res[k].push(delivered / seconds);
        log(`throughput ${k} node(s): ${(delivered / seconds).toFixed(0)} msg/s`);
      }
    }
    return { one: median(res.one), two: median(res.two), ratio: median(res.two) / median(res.one), rounds: res, db: c.dbKind };
  } finally { await c.stop(); }
}

/** WebSocket pings every `every` ms until stop(): their round trips in ms. */
function pinger(ws, every = 20) {
  const rtts = [];
  let sentAt = null, stopped = false;
  ws.on('pong', () => { if (sentAt !== null) rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6); sentAt = null; });
  const tick = () => {
    if (stopped) return;
    if (sentAt === null) { sentAt = process.hrtime.bigint(); ws.ping(); }
    setTimeout(tick, every);
  };
  tick();
  return { rtts, stop: () => { stopped = true; } };
}

async function pgWait() {
  const out = {};
  for (const mode of ['block', 'loop']) {
    // pings every 20 ms: past the default --max-ping-rate
    const args = [...NODE_ARGS, '--max-ping-rate', '0', '--pg-wait', mode];
    const c = await new Cluster({ nodes: 1, nginx: false, bus: false, args }).start();
    try {
      if (c.dbKind !== 'postgres') { log('(d) needs PostgreSQL: skipped'); return null; }
      const pairs = await makePairs(c, PAIRS, `pw${mode}`);
      const idle = c.addUser(`pw${mode}idle`);
      const watcher = await chatSocket(c.nodes[0], idle.token);
      await load(c, c.nodes, pairs.slice(0, 2), 50, WINDOW); // warm up
      const cpu = [], rate = [], rtts = [];
      for (let r = 0; r < ROUNDS; r++) {
        const cpu0 = c.nodes[0].cpuSeconds();
        const ping = pinger(watcher.ws);
        const { delivered, seconds } = await load(c, c.nodes, pairs, MESSAGES, WINDOW);
        ping.stop();
        cpu.push(((c.nodes[0].cpuSeconds() - cpu0) / delivered) * 1000);
        rate.push(delivered / seconds);
        rtts.push(...ping.rtts);
        log(`pg-wait ${mode}: ${(delivered / seconds).toFixed(0)} msg/s, ${cpu.at(-1).toFixed(3)} CPU-s / 1000, ` +
          `ping p99 ${(pct(ping.rtts, 0.99) ?? NaN).toFixed(2)} ms (${ping.rtts.length})`);
      }
      watcher.ws.terminate();
      out[mode] = { cpuPer1000: median(cpu), rate: median(rate), ping: { p50: pct(rtts, 0.5), p99: pct(rtts, 0.99), n: rtts.length } };
    } finally { await c.stop(); }
  }
  out.ratio = {
    cpu: out.loop.cpuPer1000 / out.block.cpuPer1000,
    rate: out.loop.rate / out.block.rate,
    p50: out.loop.ping.p50 / out.block.ping.p50,
    p99: out.loop.ping.p99 / out.block.ping.p99,
  };
  return out;
}

const F = features();
if (!F.bus && process.env.SB_CLUSTER_FORCE !== '1') { console.error('bench/cluster: this binary has no --redis (the bus branch): nothing to measure'); process.exit(2); }
const results = { when: new Date().toISOString(), host: `${os.cpus().length} cores`, load_before: os.loadavg()[0] };
if (ONLY.has('a')) results.busCost = await busCost();
if (ONLY.has('b')) results.latency = await latency();
if (ONLY.has('c')) results.throughput = await throughput();
if (ONLY.has('d')) results.pgWait = await pgWait();
results.load_after = os.loadavg()[0];

const f = (x, d = 2) => (x === undefined ? '-' : x.toFixed(d));
console.log(`bench/cluster: ${results.when}, ${results.host}, load ${f(results.load_before)} -> ${f(results.load_after)}, ` +
  `${PAIRS} pairs x ${MESSAGES} messages, window ${WINDOW}, ${ROUNDS} rounds (medians)\n`);
console.log('| measure | value |');
console.log('| --- | --- |');
if (results.busCost) {
  const b = results.busCost;
  console.log(`| (a) node CPU per 1,000 delivered chat messages, without Redis | ${f(b.without.cpuPer1000, 3)} CPU-s (${b.without.db}) |`);
  console.log(`| (a) the same with \`--redis\` | ${f(b.with.cpuPer1000, 3)} CPU-s |`);
  console.log(`| (a) **bus cost ratio** (with / without) | **${f(b.ratio)}** |`);
}
if (results.latency) {
  const l = results.latency;
  console.log(`| (b) delivery latency, same node, p50 / p99 | ${f(l.same.p50)} / ${f(l.same.p99)} ms (${l.n} messages at ${l.rate}/s) |`);
  console.log(`| (b) across nodes (through Redis), p50 / p99 | ${f(l.cross.p50)} / ${f(l.cross.p99)} ms |`);
  console.log(`| (b) **cross / same ratio**, p50 / p99 | **${f(l.ratio.p50)} / ${f(l.ratio.p99)}** |`);
}
if (results.throughput) {
  const t = results.throughput;
  console.log(`| (c) delivered messages/s, one node | ${f(t.one, 0)} |`);
  console.log(`| (c) two nodes (clients spread, half the pairs across) | ${f(t.two, 0)} |`);
  console.log(`| (c) **two / one ratio** | **${f(t.ratio)}** |`);
}
if (results.pgWait) {
  const w = results.pgWait;
  console.log(`| (d) PostgreSQL, \`--pg-wait block\`: CPU per 1,000 / msg/s / idle ping p50, p99 | ${f(w.block.cpuPer1000, 3)} CPU-s / ${f(w.block.rate, 0)} / ${f(w.block.ping.p50)}, ${f(w.block.ping.p99)} ms |`);
  console.log(`| (d) \`--pg-wait loop\` (the default) | ${f(w.loop.cpuPer1000, 3)} CPU-s / ${f(w.loop.rate, 0)} / ${f(w.loop.ping.p50)}, ${f(w.loop.ping.p99)} ms |`);
  console.log(`| (d) **loop / block ratios**: CPU, msg/s, ping p50, ping p99 | **${f(w.ratio.cpu)} / ${f(w.ratio.rate)} / ${f(w.ratio.p50)} / ${f(w.ratio.p99)}** |`);
}
if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
