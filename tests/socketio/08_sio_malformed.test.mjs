// Socket.IO v5 packets that must close the connection: unknown types, JSON
// that does not parse, payloads of the wrong shape, reserved event names,
// non-numeric ack ids, bad attachment counts, binary frames out of place. Each
// case joins /, sends the packet and expects the connection to end with no
// answer; a neighbour connection is unaffected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, cleanup, sioWs, T, placeholder } from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

const ph = (i) => JSON.stringify(placeholder(i));
const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];

// [what, frames to send after joining /]
const CASES = [
  ['unknown packet type 7', ['47["message"]']],
  ['unknown packet type 9', ['49']],
  ['a Socket.IO type that is not a digit', ['4abc']],
  ['EVENT whose JSON does not parse', ['42["message",1']],
  ['EVENT with trailing garbage after the JSON', ['42["message"]x']],
  ['EVENT payload an object', ['42{}']],
  ['EVENT payload a string', ['42"message"']],
  ['EVENT payload an empty array', ['42[]']],
  ['EVENT name null', ['42[null]']],
  ['EVENT name an object', ['42[{"a":1},2]']],
  ['EVENT name a boolean', ['42[true]']],
  ...RESERVED.map((name) => [`reserved event name "${name}"`, [`42["${name}"]`]]),
  ['non-numeric ack id', ['42abc["message-with-ack",1,"2",{"3":[false]}]']],
  ['ACK payload an object', ['431{"a":1}']],
  ['ACK payload a string', ['431"x"']],
  ['DISCONNECT with a payload', ['41{}']],
  ['CONNECT_ERROR sent by the client', ['44{"message":"nope"}']],
  ['BINARY_EVENT with 11 attachments (over the limit of 10)', [`4511-${JSON.stringify(['message', ...Array.from({ length: 11 }, (_, i) => placeholder(i))])}`]],
  ['BINARY_EVENT with 0 attachments', ['450-["message"]']],
  ['BINARY_EVENT with a non-numeric attachment count', ['45x-["message"]']],
  ['BINARY_EVENT without the "-" after the count', [`451["message",${ph(0)}]`]],
  ['BINARY_EVENT payload not an array', [`451-{"a":${ph(0)}}`, Buffer.from([1])]],
  ['BINARY_ACK payload not an array', [`461-1{"a":${ph(0)}}`, Buffer.from([1])]],
  ['placeholder number past the attachments', [`451-["message",${ph(5)}]`, Buffer.from([1])]],
  ['a text packet where an attachment is due', [`451-["message",${ph(0)}]`, '42["message"]']],
  ['a binary frame with no binary packet pending', [Buffer.from([1, 2, 3])]],
  ['an Engine.IO frame that is not a packet', ['x']],
];

for (const [what, frames] of CASES) {
  const shown = frames.map((f) => (typeof f === 'string' ? `'${f.length > 50 ? `${f.slice(0, 50)}...` : f}'` : `<${f.length} bytes binary>`)).join(' + ');
  test(`malformed: ${what} (${shown}) closes the connection, nothing answered`, async () => {
    const neighbour = await sioWs(s, { label: 'neighbour' });
    const c = await sioWs(s, { label: 'offender' });
    const from = c.mark();
    for (const f of frames) c.send(f);
    await c.waitClose(T(1000), 'close after the malformed packet');
    assert.deepEqual(c.packets(from).map((f) => f.text ?? '<binary>'), [], 'nothing answered');
    assert.equal((await neighbour.ask('42["message","unaffected"]')).text, '42["message-back","unaffected"]');
    neighbour.close();
  });
}

test('malformed (control): the well-formed neighbours of those packets do not close the connection', async () => {
  const c = await sioWs(s);
  const from = c.mark();
  c.send('42[1,"event named by a number"]'); // allowed, no handler
  c.send('4399["ack for nothing"]'); // an ack nobody waits for is dropped
  c.send(`451-["message",${ph(0)}]`);
  c.send(Buffer.from([7]));
  const fs = await c.waitFrames(2, { from });
  assert.equal(fs[0].text, `451-["message-back",${ph(0)}]`);
  assert.deepEqual(fs[1].binary, Buffer.from([7]));
  assert.ok(await c.staysOpen(T(200)));
  c.close();
});
