// 19_async_commit: on PostgreSQL the end of a turn sends COMMIT and goes back
// to the loop; the turn's answers wait (sealed in the outbox) for the
// server's reply, and the loop serves its sockets meanwhile (docs/decisions.md,
// "PostgreSQL engine", "Asynchrony"). A deferred constraint trigger makes
// every COMMIT that stored a chat message take SLOW_MS on the server:
// - a WebSocket ping sent during that COMMIT is answered at once, not after
//   it (with the COMMIT waited for on the loop, the pong came after SLOW_MS);
// - nobody hears of the message before its COMMIT answered;
// - a write that arrives during the COMMIT waits for it, and the answers go
//   out in order (the first message, then the second), both stored.
// And a COMMIT the server refuses (a deferred trigger raising) fails what
// waited for it: its sender alone gets the storage error, nobody hears of
// the message, and the next turn is served.
// PostgreSQL only: SQLite's commit is the local write itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const SLOW_MS = 1500;
let s, tom, ann, eve;

before(async () => {
  if (h.engine !== 'postgres') return;
  s = await h.startServer({ tag: 'async', demo: false });
  tom = h.addUser(s.db, 'Tom Tech', 'TECHNICIAN');
  ann = h.addUser(s.db, 'Ann Admin', 'ADMIN');
  eve = h.addUser(s.db, 'Eve Outsider', 'SUPER_ADMIN');
});
after(h.cleanup);

test('a slow COMMIT does not stop the loop: pings answered during it, answers after it, in order', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  const tom1 = await h.login(s, tom, 'tom1');
  const ann1 = await h.login(s, ann, 'ann1');
  const eve1 = await h.login(s, eve, 'eve1');
  tom1.send({ action: 'send_message', receiver_id: ann.id, text: 'open', client_message_id: 'open' });
  const room = (await ann1.waitFor(h.isType('new_room'))).data.room_id;
  await ann1.waitFor(h.isNewMessage((m) => m.text === 'open'));

  h.dbQuery(s, `
    CREATE FUNCTION sb_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(${SLOW_MS / 1000}); RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER sb_test_slow_commit AFTER INSERT ON chat_messages
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sb_test_slow_commit();`);

  const annMark = ann1.mark();
  const sent = Date.now();
  tom1.send({ action: 'send_message', room_id: room, text: 'slow', client_message_id: 'slow' });
  await h.sleep(200); // the turn has ended: its COMMIT is at the server

  const pongMs = await h.pingMs(eve1);
  t.diagnostic(`pong during the COMMIT: ${pongMs} ms (the COMMIT takes ${SLOW_MS} ms)`);
  assert.ok(pongMs < SLOW_MS / 2, `the pong took ${pongMs} ms: the loop waited for the COMMIT`);
  assert.equal(ann1.messages.slice(annMark).filter(h.isType('new_message')).length, 0,
    'nothing of the message is sent before its COMMIT answered');

  // a write during the COMMIT: its statements wait for the connection
  ann1.send({ action: 'send_message', room_id: room, text: 'behind', client_message_id: 'behind' });

  const slow = await tom1.waitFor(h.isNewMessage((m) => m.text === 'slow'), { ms: h.T(10000) });
  const heardMs = Date.now() - sent;
  assert.ok(heardMs >= SLOW_MS - 50, `the message was heard after ${heardMs} ms, before its COMMIT`);
  const behind = await tom1.waitFor(h.isNewMessage((m) => m.text === 'behind'), { ms: h.T(10000) });
  const order = tom1.messages.filter(h.isNewMessage()).map((m) => m.data.message.text);
  assert.deepEqual(order.slice(-2), ['slow', 'behind']);
  assert.ok(Number(behind.data.message.id) > Number(slow.data.message.id));
  const rows = h.dbQuery(s, `SELECT text FROM chat_messages WHERE room_id = ${room} ORDER BY id`).trim().split('\n');
  assert.deepEqual(rows, ['open', 'slow', 'behind']);
  for (const c of [tom1, ann1, eve1]) c.close();
});

test('a COMMIT that fails on the server: the sealed answers fail (the sender alone hears the storage error), the next turn goes on', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  const tom1 = await h.login(s, tom, 'tom1b');
  const ann1 = await h.login(s, ann, 'ann1b');
  const room = h.dbQuery(s, `SELECT id FROM chat_rooms ORDER BY id LIMIT 1`).trim();
  // refused at COMMIT time (a deferred trigger), after the turn has ended
  h.dbQuery(s, `
    CREATE FUNCTION sb_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.text = 'refused' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER sb_test_refuse AFTER INSERT ON chat_messages
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sb_test_refuse();`);
  const tomMark = tom1.mark();
  const annMark = ann1.mark();
  tom1.send({ action: 'send_message', room_id: room, text: 'refused', client_message_id: 'refused' });
  const err = await tom1.waitFor((m) => m.type === 'error', { from: tomMark, ms: h.T(10000) });
  assert.equal(JSON.stringify(err), h.errorFrame('Message could not be stored'));
  tom1.send({ action: 'send_message', room_id: room, text: 'after', client_message_id: 'after' });
  await ann1.waitFor(h.isNewMessage((m) => m.text === 'after'), { from: annMark, ms: h.T(10000) });
  const heard = ann1.messages.slice(annMark).filter(h.isNewMessage()).map((m) => m.data.message.text);
  assert.deepEqual(heard, ['after'], 'nobody heard of the refused message');
  assert.equal(h.dbQuery(s, `SELECT count(*) FROM chat_messages WHERE text = 'refused'`).trim(), '0');
  tom1.close();
  ann1.close();
});
