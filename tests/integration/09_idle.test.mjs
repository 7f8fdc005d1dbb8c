// --idle-timeout: a silent connection is closed with 1001 after the timeout
// (the check runs every second); any message, a heartbeat, keeps it open.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

after(h.cleanup);

const IDLE = 'switchboard_connections_closed_total{reason="idle"}';

// the tests wait on clocks, not on each other: run them side by side
describe('idle timeout', { concurrency: true }, () => {
  test('--idle-timeout 2: a silent connection is closed with 1001 after 2-3 s; heartbeats keep one open', async () => {
    // two servers side by side, one connection each
    const [s1, s2] = await Promise.all([
      h.startServer({ tag: 'idle', args: ['--idle-timeout', '2'] }),
      h.startServer({ tag: 'idle-hb', args: ['--idle-timeout', '2'] }),
    ]);
    const t0 = Date.now();
    const silent = await h.connect(s1, { token: s1.users.alice.token, label: 'silent' });
    const beating = await h.connect(s2, { token: s2.users.bob.token, label: 'beating' });
    const timer = setInterval(() => beating.send({ action: 'heartbeat' }), 700);
    try {
      const close = await silent.waitClose(h.T(6000));
      const dt = Date.now() - t0;
      assert.deepEqual(close, { code: 1001, reason: 'idle timeout' });
      // whole seconds: up to 1 s early today (see the todo test below)
      assert.ok(dt >= 950 && dt <= h.T(3600), `closed after ${dt} ms`);
      assert.deepEqual(silent.raw, [], 'no message before the close');
      assert.equal((await h.metrics(s1))[IDLE], 1);
      await h.sleep(Math.max(0, 4200 - (Date.now() - t0)));
      assert.equal(beating.closeInfo, null, 'heartbeats keep it open past twice the timeout');
      assert.ok(beating.count(h.isType('heartbeat_response')) >= 5);
      assert.equal((await h.metrics(s2))[IDLE], 0);
    } finally {
      clearInterval(timer);
    }
  });

  test('--idle-timeout 2: every silent connection is closed, not only the newest',
    async () => {
      const s = await h.startServer({ tag: 'idle-many', args: ['--idle-timeout', '2'] });
      const u = s.users;
      const t0 = Date.now();
      const silent1 = await h.connect(s, { token: u.alice.token, label: 'silent 1' });
      const silent2 = await h.connect(s, { token: u.dan.token, label: 'silent 2' });
      const beating = await h.connect(s, { token: u.bob.token, label: 'beating' });
      const receiving = await h.connect(s, { token: u.carol.token, label: 'only receives' });
      const timer = setInterval(() => {
        beating.send({ action: 'heartbeat' });
        beating.send({ action: 'send_message', receiver_id: u.carol.id, text: 'for carol' });
      }, 700);
      try {
        for (const c of [silent1, silent2, receiving]) {
          // clock-driven: a slow (sanitizer) build needs little extra
          assert.deepEqual(await c.waitClose(4500 + (h.SCALE - 1) * 500 - (Date.now() - t0)), { code: 1001, reason: 'idle timeout' }, c.label);
        }
        assert.ok(receiving.count(h.isType('new_message')) >= 1, 'receiving is not activity');
        assert.equal(beating.closeInfo, null);
        assert.equal((await h.metrics(s))[IDLE], 3);
      } finally {
        clearInterval(timer);
      }
    });

  test('--idle-timeout 1: no connection is closed before 1 s of silence',
    async () => {
      // four servers, one connection each, opened a quarter second apart:
      // some open just after a whole second, where the early close shows
      const servers = await Promise.all([0, 1, 2, 3].map((i) => h.startServer({ tag: `idle1-${i}`, args: ['--idle-timeout', '1'] })));
      const times = await Promise.all(servers.map(async (srv, i) => {
        await h.sleep(250 * i);
        const t0 = Date.now();
        const c = await h.connect(srv, { token: srv.users.alice.token, label: `idle1-${i}` });
        await c.waitClose(h.T(4000));
        return Date.now() - t0;
      }));
      for (const t of times) assert.ok(t >= 1000, `closed after ${t} ms of silence (all: ${times})`);
    });

  test('--idle-timeout 0 never closes', async () => {
    const s = await h.startServer({ tag: 'idle0', args: ['--idle-timeout', '0'] });
    const c = await h.connect(s, { token: s.users.alice.token, label: 'quiet' });
    await h.sleep(1200);
    assert.equal(c.closeInfo, null);
    assert.equal((await c.ask({ action: 'heartbeat' })).type, 'heartbeat_response');
  });
});
