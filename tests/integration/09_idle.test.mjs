// --idle-timeout: a silent connection is closed with 1001 after the timeout
// (the check runs every second); any message, a heartbeat, keeps it open.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

after(h.cleanup);

test('--idle-timeout 2: silence is closed with 1001 after 2-3 s; heartbeats keep a connection open', async () => {
  const s = await h.startServer({ tag: 'idle', args: ['--idle-timeout', '2'] });
  const u = s.users;
  const silent = await h.connect(s, { token: u.alice.token, label: 'silent' });
  const t0 = Date.now();
  const beating = await h.connect(s, { token: u.bob.token, label: 'beating' });
  const receiving = await h.connect(s, { token: u.carol.token, label: 'only receives' });
  const timer = setInterval(() => beating.send({ action: 'heartbeat' }), 700);
  try {
    const close = await silent.waitClose(h.T(6000));
    const dt = Date.now() - t0;
    assert.deepEqual(close, { code: 1001, reason: 'idle timeout' });
    assert.ok(dt >= 1900 && dt <= h.T(3600), `closed after ${dt} ms`);
    // receiving is not activity: carol got messages but said nothing
    const rc = await receiving.waitClose(h.T(3000));
    assert.equal(rc.code, 1001);
    // the beating one outlives both by more than a timeout
    await h.sleep(2500);
    assert.equal(beating.closeInfo, null, 'heartbeats keep it open');
    assert.ok(beating.count(h.isType('heartbeat_response')) >= 5);
    const m = await h.metrics(s);
    assert.equal(m['switchboard_connections_closed_total{reason="idle"}'], 2);
    assert.equal(m.switchboard_connections, 1);
  } finally {
    clearInterval(timer);
  }
});

test('--idle-timeout 0 never closes', async () => {
  const s = await h.startServer({ tag: 'idle0', args: ['--idle-timeout', '0'] });
  const c = await h.connect(s, { token: s.users.alice.token, label: 'quiet' });
  await h.sleep(1500);
  assert.equal(c.closeInfo, null);
  assert.equal((await c.ask({ action: 'heartbeat' })).type, 'heartbeat_response');
});
