// 01_flow: the happy path end to end, field by field against schema/therapy.lua:
// login -> SMS file -> verifyCode (a new cookie value; Set-Cookie attributes,
// Secure only with --cookie-secure) -> session -> getTherapySessions (url only
// while incomplete) -> enter -> detail -> assessments (own, therapist reads a
// participant's, a participant may not read another's) -> saveActions of every
// kind -> getActions shapes (order, max_id, server_time, callout, scrubbed
// delete, reactions), all-or-nothing batches, refusals naming [i].field, private
// messages and what hangs off them visible only to their audience.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTherapy, cleanup, addUser, addSession, dbOf, tempDir, Browser, browserIn, smsLines, req, API,
  msg, reaction, del, read, isError, checkActions, allActions, cookieValue, head,
} from './th.mjs';

let s; let g; let ts2;
const B = {}; // one logged-in browser per user (a phone gets one code a minute)
before(async () => {
  const dir = tempDir('therapy-flow');
  const db = dbOf(dir);
  const therapist = addUser(db, { id: '123XYZ', name: 'Dr. Rivera', last: 'Rivera', role: 'therapist', phone: '+1 555 010 0001' });
  const a = addUser(db, { id: 'P123', name: 'Sam', last: 'Smith', phone: '+15550100002' });
  const b = addUser(db, { id: 'P456', name: 'Alex', last: 'Doe', phone: '+15550100003' });
  const c = addUser(db, { id: 'P789', name: 'Kim', last: 'Lee', phone: '+15550100004' });
  therapist.phone = '+15550100001';
  const ts = addSession(db, {
    participants: ['P123', 'P456', 'P789'], therapist: '123XYZ',
    assessments: ['location:complete:https://example.com/loc', 'post-session_survey:incomplete:https://example.com/surveys/post-session?ts=1'],
  });
  // a second session with only P123 and the therapist
  ts2 = addSession(db, { name: 'Other group', date: '2023-09-01T18:00:00Z', participants: ['P123'], therapist: '123XYZ' });
  g = { therapist, a, b, c, ts };
  s = await startTherapy({ dir });
  B.alex = await browserIn(s, g.b, 0, 'alex');
  B.kim = await browserIn(s, g.c, 0, 'kim');
  B.dr = await browserIn(s, g.therapist, 0, 'dr');
});
after(cleanup);

test('login, SMS, verifyCode: cookie rotation and attributes, exact bodies', async () => {
  const br = new Browser(s, 'sam');
  const l = await br.post('login', { phone: g.a.phone, last_name: 'smith' }); // last name: any case
  assert.equal(l.status, 200);
  assert.deepEqual(l.json, { result: 'If the details match, a code has been sent by SMS', resend_after: 60 });
  const pre = br.cookie;
  assert.match(pre, /^[0-9a-f]{64}$/);
  const sc = l.setCookies[0];
  assert.match(sc, /; HttpOnly/i);
  assert.match(sc, /; SameSite=Lax/i);
  assert.match(sc, /; Path=\/api\/therapy(;|$)/);
  assert.doesNotMatch(sc, /Secure/i);
  const lines = smsLines(s);
  const mine = lines.filter((x) => x.to === g.a.phone);
  assert.equal(mine.length, 1);
  assert.deepEqual(Object.keys(JSON.parse(mine[0].line)), ['to', 'body']);
  assert.match(mine[0].body, /^Your Switchboard code is \d{6}\. It expires in 10 minutes\.$/);
  const v = await br.post('verifyCode', { code: mine[0].code });
  assert.equal(v.status, 200, v.text);
  assert.deepEqual(Object.keys(v.json), ['result', 'user', 'csrf_token']);
  assert.equal(v.json.result, 'Logged in');
  assert.equal(v.json.user, 'P123');
  assert.match(v.json.csrf_token, /^[0-9a-f]{64}$/);
  assert.notEqual(br.cookie, pre, 'the session cookie is a new value');
  assert.match(v.setCookies[0], /HttpOnly/);
  assert.match(v.setCookies[0], /SameSite=Lax/);
  assert.match(v.setCookies[0], /Path=\/api\/therapy/);
  assert.doesNotMatch(v.setCookies[0], /Secure/);
  br.csrf = v.json.csrf_token;
  B.sam = br;
  const sess = await br.get('session');
  assert.equal(sess.status, 200);
  assert.deepEqual(sess.json, { result: 'ok', user: 'P123', name: 'Sam', role: 'participant', csrf_token: v.json.csrf_token });
  // the pre-login cookie is dead
  const old = await req(s, `${API}/session`, { method: 'GET', headers: { Cookie: `sb_therapy=${pre}` } });
  isError(old, 'AUTH_REQUIRED');
});

test('--cookie-secure marks the cookie Secure', async () => {
  const s2 = await startTherapy({ args: ['--cookie-secure'] });
  const u = addUser(s2.db, {});
  const u2 = addUser(s2.db, {});
  const br = new Browser(s2);
  const l = await br.post('login', { phone: u.phone, last_name: u.last });
  assert.match(l.setCookies[0], /; Secure/);
  const v = await new Browser(s2).login(u2);
  assert.match(v.setCookies[0], /; Secure/);
  await s2.stop('SIGKILL');
});

test('home page, enter, detail, assessments', async () => {
  const sam = B.sam;
  const h = await sam.get('getTherapySessions');
  assert.equal(h.status, 200);
  assert.deepEqual(h.json, {
    result: 'ok',
    therapy_sessions: [
      { id: g.ts, name: 'Tuesday evening group', date: '2023-08-01T18:00:00Z', assessments: [
        { name: 'location', status: 'complete' },
        { name: 'post-session_survey', status: 'incomplete', url: 'https://example.com/surveys/post-session?ts=1' },
      ] },
      { id: ts2, name: 'Other group', date: '2023-09-01T18:00:00Z', assessments: [] },
    ].sort((x, y) => (x.date < y.date ? 1 : -1)), // newest first (schema)
  });
  const e = await sam.post('enterTherapySession', { ts_id: g.ts });
  assert.deepEqual(e.json, { result: 'ok', ts_id: g.ts });
  assert.equal((await sam.get('session')).json.ts_id, g.ts);
  const d = await sam.post('getTherapySessionDetail', { ts_id: g.ts });
  assert.equal(d.status, 200);
  assert.deepEqual(d.json.metadata, { id: g.ts, name: 'Tuesday evening group', date: '2023-08-01T18:00:00Z' });
  assert.deepEqual(Object.keys(d.json), ['result', 'metadata', 'participants']);
  const byId = Object.fromEntries(d.json.participants.map((p) => [p.id, p]));
  assert.deepEqual(byId['123XYZ'], { id: '123XYZ', name: 'Dr. Rivera', role: 'therapist' });
  assert.deepEqual(byId.P456, { id: 'P456', name: 'Alex', role: 'participant' });
  assert.equal(d.json.participants.length, 4);
  const own = await sam.post('getTherapySessionAssessments', { ts_id: g.ts, p_id: 'P123' });
  assert.deepEqual(own.json, { result: 'ok', assessments: h.json.therapy_sessions.find((x) => x.id === g.ts).assessments });
  isError(await sam.post('getTherapySessionAssessments', { ts_id: g.ts, p_id: 'P456' }), 'NOT_ALLOWED_IN_SESSION');
  const { dr } = B;
  const theirs = await dr.post('getTherapySessionAssessments', { ts_id: g.ts, p_id: 'P456' });
  assert.equal(theirs.status, 200);
  assert.equal(theirs.json.assessments.length, 2);
  // the therapist, for someone not in the session
  isError(await dr.post('getTherapySessionAssessments', { ts_id: ts2, p_id: 'P456' }), 'NOT_ALLOWED_IN_SESSION');
  // P456 is not in ts2
  const { alex } = B;
  isError(await alex.post('getTherapySessionDetail', { ts_id: ts2 }), 'NOT_ALLOWED_IN_SESSION');
});

test('saveActions and getActions: every kind, shapes, callouts, deletes, reactions', async () => {
  const { sam, alex, kim, dr } = B;
  for (const b of [sam, alex, kim, dr]) await b.enter(g.ts);
  const start = await head(sam);

  const r1 = await sam.save([msg('P123', 'hello @P456 and @alexander'), msg('P123', 'second')]);
  assert.equal(r1.status, 200, r1.text);
  assert.deepEqual(Object.keys(r1.json), ['result', 'ids', 'max_id']);
  const [m1, m2] = r1.json.ids;
  assert.ok(m1 > start && m2 === m1 + 1, 'ids in request order');
  assert.equal(r1.json.max_id, m2);

  const r2 = await alex.save([
    msg('P456', 'a reply', { target: m1 }),
    reaction('P456', m1, 'heart'),
    read('P456', m1),
  ]);
  assert.equal(r2.status, 200, r2.text);
  const [reply, heart, rd] = r2.json.ids;
  // the same icon again: the existing id; a different icon: a new reaction action
  const r3 = await alex.save([reaction('P456', m1, 'heart'), read('P456', m1), reaction('P456', m1, 'smile')]);
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.json.ids[0], heart);
  assert.equal(r3.json.ids[1], rd, 'a repeated read returns the first');
  assert.ok(r3.json.ids[2] > rd);
  const smile = r3.json.ids[2];
  const r3b = await alex.save([reaction('P456', m1, 'smile')]);
  assert.deepEqual(r3b.json.ids, [smile]);

  const r4 = await sam.save([del(m2)]);
  assert.equal(r4.status, 200, r4.text);
  const delId = r4.json.ids[0];

  const r = checkActions(await kim.actions(start), start);
  const byId = Object.fromEntries(r.actions.map((a) => [a.id, a]));
  assert.deepEqual(r.actions.map((a) => a.id), [m1, m2, reply, heart, rd, smile, delId]);
  const { timestamp: t1, ...m1v } = byId[m1];
  assert.deepEqual(m1v, { id: m1, type: 'message', user: 'P123', body: 'hello @P456 and @alexander', recipients: [], target: null, callout: ['P456'] });
  assert.ok(Math.abs(Date.parse(t1) - Date.now()) < 10000);
  assert.deepEqual({ ...byId[m2], timestamp: 0 }, { id: m2, type: 'message', user: 'P123', body: '', recipients: [], target: null, callout: [], timestamp: 0 }, 'deleted body scrubbed');
  assert.equal(byId[reply].target, m1);
  assert.deepEqual({ ...byId[heart], timestamp: 0 }, { id: heart, type: 'reaction', target: m1, icon: 'heart', user: 'P456', timestamp: 0 });
  assert.deepEqual({ ...byId[smile], timestamp: 0 }, { id: smile, type: 'reaction', target: m1, icon: 'smile', user: 'P456', timestamp: 0 });
  assert.deepEqual({ ...byId[rd], timestamp: 0 }, { id: rd, type: 'message_read', target: m1, user: 'P456', timestamp: 0 });
  assert.deepEqual({ ...byId[delId], timestamp: 0 }, { id: delId, type: 'delete', target: m2, timestamp: 0 });
  assert.equal(r.max_id, delId);
  // max_id semantics: from max_id nothing; from an id in the middle, the rest
  const none = checkActions(await kim.actions(r.max_id), r.max_id);
  assert.deepEqual(none.actions, []);
  assert.equal(none.max_id, r.max_id);
  const mid = checkActions(await kim.actions(heart), heart);
  assert.deepEqual(mid.actions.map((a) => a.id), [rd, smile, delId]);

  // participant deleting another's message: refused; the therapist may
  isError(await alex.save([del(m1)]), 'ACTION_REFUSED', { detail: '[0].target' });
  const drDel = await dr.save([del(reply)]);
  assert.equal(drDel.status, 200, drDel.text);
  // reacting to / replying to a deleted message is refused
  isError(await alex.save([reaction('P456', m2, 'sad')]), 'ACTION_REFUSED', { detail: '[0].target' });
  // a target that does not exist
  isError(await alex.save([read('P456', 999999)]), 'ACTION_REFUSED', { detail: '[0].target' });
  // replying to a deleted message; reading one's own message
  isError(await alex.save([msg('P456', 'late reply', { target: m2 })]), 'ACTION_REFUSED', { detail: '[0].target' });
  isError(await sam.save([read('P123', m1)]), 'ACTION_REFUSED', { detail: '[0].target' });
  // deleting again answers the first delete's id, and stores nothing new
  const again = await dr.save([del(m2)]);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json.ids, [delId]);
  // heart -> smile -> heart: the current icon differs, so a new action again
  const back = await alex.save([reaction('P456', m1, 'heart')]);
  assert.ok(back.json.ids[0] > drDel.json.ids[0]);
  // callouts by display name (any case), not by a prefix of a longer word
  const named = await sam.save([msg('P123', '@kim and @Dr. Rivera, not @Kimberly or me@P456x')]);
  const got = checkActions(await kim.actions(named.json.ids[0] - 1), named.json.ids[0] - 1).actions[0];
  assert.deepEqual([...got.callout].sort(), ['123XYZ', 'P789']);
});

test('repeats within one batch answer the first id; items on a message deleted earlier in the batch are refused', async () => {
  const { sam, alex } = B;
  await sam.enter(g.ts); await alex.enter(g.ts);
  const start = await head(alex);
  const m = (await sam.save([msg('P123', 'double click me')])).json.ids[0];
  const r = await alex.save([reaction('P456', m, 'heart'), reaction('P456', m, 'heart'), read('P456', m), read('P456', m)]);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ids[1], r.json.ids[0], 'the same reaction twice in a batch: one action');
  assert.equal(r.json.ids[3], r.json.ids[2], 'the same read twice in a batch: one action');
  // heart is current: smile then heart again in one batch: the heart is a new action
  const sw = await alex.save([reaction('P456', m, 'smile'), reaction('P456', m, 'heart')]);
  assert.equal(sw.status, 200, sw.text);
  assert.ok(sw.json.ids[1] > sw.json.ids[0] && sw.json.ids[0] > r.json.ids[3], JSON.stringify(sw.json));
  const d = await sam.save([del(m), del(m)]);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.ids[1], d.json.ids[0], 'the same delete twice in a batch: one action');
  const seen = checkActions(await alex.actions(start), start).actions;
  assert.deepEqual(seen.map((a) => a.type), ['message', 'reaction', 'message_read', 'reaction', 'reaction', 'delete']);
  // deleted earlier in the same batch: like a message deleted before it
  const m2 = (await sam.save([msg('P123', 'short-lived')])).json.ids[0];
  const before = await head(alex);
  isError(await sam.save([del(m2), msg('P123', 'reply to it', { target: m2 })]), 'ACTION_REFUSED', { detail: '[1].target' });
  const dr = B.dr; await dr.enter(g.ts);
  isError(await dr.save([del(m2), reaction('123XYZ', m2, 'sad')]), 'ACTION_REFUSED', { detail: '[1].target' });
  assert.deepEqual(checkActions(await alex.actions(before), before).actions, [], 'nothing of those batches is stored');
});

test('getActions answers at most 1000 actions; max_id pages through the rest', async () => {
  const { alex } = B;
  await alex.enter(g.ts);
  const start = await head(alex);
  const ids = [];
  for (let k = 0; k < 11; k++) {
    const r = await alex.save(Array.from({ length: 100 }, (_, i) => msg('P456', `page ${k * 100 + i}`)));
    assert.equal(r.status, 200, r.text);
    ids.push(...r.json.ids);
  }
  const p1 = checkActions(await alex.actions(start), start);
  assert.equal(p1.actions.length, 1000);
  assert.equal(p1.max_id, ids[999]);
  const p2 = checkActions(await alex.actions(p1.max_id), p1.max_id);
  assert.deepEqual(p2.actions.map((a) => a.id), ids.slice(1000));
  assert.deepEqual([...p1.actions, ...p2.actions].map((a) => a.body), ids.map((_, i) => `page ${i}`));
});

test('all or nothing; user mismatch names [i].user; recipients must be in the session', async () => {
  const { sam } = B;
  const before = await head(sam);
  const bad = await sam.save([msg('P123', 'batch-ok-1'), msg('P123', 'batch-ok-2'), msg('P456', 'not me')]);
  isError(bad, 'ACTION_REFUSED', { detail: '[2].user' });
  const bad2 = await sam.save([msg('P123', 'batch-ok-3'), msg('P123', 'x', { recipients: ['P456', 'NOPE'] })]);
  isError(bad2, 'ACTION_REFUSED', { detail: '[1].recipients[1]' });
  // a recipient who exists but is in another session only: still refused
  const bad3 = await sam.save([msg('P123', 'batch-ok-4', { target: 987654 })]);
  isError(bad3, 'ACTION_REFUSED', { detail: '[0].target' });
  const bad4 = await sam.save([msg('P123', 'batch-ok-5'), { client_ts: 'x', type: 'message' }]);
  isError(bad4, 'INVALID_REQUEST');
  const after1 = checkActions(await sam.actions(before), before);
  assert.deepEqual(after1.actions, [], 'nothing of a refused batch is stored');
  assert.equal(after1.max_id, before);
  // an empty batch is fine and stores nothing
  const empty = await sam.save([]);
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.json.ids, []);
});

test('private messages: only author and recipients see them, and what hangs off them', async () => {
  const { sam, alex, kim, dr } = B;
  for (const b of [sam, alex, kim, dr]) await b.enter(g.ts);
  const start = await head(kim);
  const p = await dr.save([msg('123XYZ', 'private to @P456 and @P789', { recipients: ['P456'] })]);
  assert.equal(p.status, 200, p.text);
  const pm = p.json.ids[0];
  const re = await alex.save([reaction('P456', pm, 'sad'), read('P456', pm), msg('P456', 'thanks', { target: pm, recipients: ['123XYZ'] })]);
  assert.equal(re.status, 200, re.text);
  // Kim and Sam may not touch it: same refusal as for a message that does not exist
  isError(await kim.save([reaction('P789', pm, 'heart')]), 'ACTION_REFUSED', { detail: '[0].target: no such message' });
  isError(await sam.save([read('P123', pm)]), 'ACTION_REFUSED', { detail: '[0].target: no such message' });
  // callout only of someone who can read it (P789 is named but not a recipient)
  const pre = checkActions(await alex.actions(start), start).actions.find((x) => x.id === pm);
  assert.deepEqual(pre.callout, ['P456']);
  assert.equal(pre.body, 'private to @P456 and @P789');
  const drDel = await dr.save([del(pm)]);
  assert.equal(drDel.status, 200);
  const pub = await sam.save([msg('P123', 'public after')]);
  const seenBy = async (b) => checkActions(await b.actions(start), start);
  const k = await seenBy(kim);
  assert.deepEqual(k.actions.map((a) => a.id), [pub.json.ids[0]], 'kim sees only the public message');
  assert.equal((await seenBy(sam)).actions.length, 1);
  const a = await seenBy(alex);
  assert.deepEqual(a.actions.map((x) => x.type), ['message', 'reaction', 'message_read', 'message', 'delete', 'message']);
  assert.deepEqual(a.actions[0].recipients, ['P456']);
  assert.deepEqual(a.actions[0].callout, [], 'a deleted message calls nobody out');
  // the deleted private message keeps its recipients, its body is gone
  const d = await seenBy(dr);
  assert.equal(d.actions[0].body, '');
  // the raw text of Kim's answer never holds the private body or id
  const raw = (await kim.actions(start)).text;
  assert.ok(!raw.includes('thanks') && !raw.includes('private to'));
});
