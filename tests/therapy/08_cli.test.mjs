// 08_cli: `switchboard therapy user add` / `session add` (therapy_cli.c).
// Each prints the new ID alone on stdout (exit 0); bad phone, role, ID, blank
// last name, a taken ID or phone+last name, a bad date, an unknown therapist
// or participant, a bad assessment: a clear message on stderr naming the flag,
// exit 1, nothing on stdout, nothing written; a usage error: exit 2. What the
// CLI writes is what a running server serves (login, home page).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  cli, tempDir, cleanup, dbQuery, dbOf, startTherapy, browserIn,
} from './th.mjs';

after(cleanup);

const dir = tempDir('therapy-cli');
const db = dbOf(dir);
const user = (extra) => cli(db, ['user', 'add', '--phone', '+15550001111', '--last-name', 'Doe', '--name', 'Alex', '--role', 'participant', ...extra]);
const session = (extra) => cli(db, ['session', 'add', '--name', 'Group', '--date', '2023-08-01T18:00:00Z', ...extra]);

function refused(r, re, code = 1) {
  assert.equal(r.status, code, `${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, re);
}

test('user add prints the new ID; refusals name the flag', () => {
  const gen = cli(db, ['user', 'add', '--phone', '+1 (555) 000-2222', '--last-name', 'Roe', '--name', 'Sam', '--role', 'therapist']);
  assert.equal(gen.status, 0, gen.stderr);
  assert.match(gen.stdout, /^T\d{6}\n$/);
  const p = user(['--id', 'P1']);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stdout, 'P1\n');
  const auto = cli(db, ['user', 'add', '--phone', '+15550003333', '--last-name', 'Poe', '--name', 'Kim', '--role', 'participant']);
  assert.match(auto.stdout, /^P\d{6}\n$/);
  assert.equal(dbQuery(db, "SELECT count(*) FROM therapy_users;").trim(), '3');
  refused(user(['--id', 'P1']), /taken/);
  refused(cli(db, ['user', 'add', '--phone', '+15550001111', '--last-name', 'doe', '--name', 'X', '--role', 'participant']), /taken/);
  for (const phone of ['12ab', '+1555ABC0000', '+١٥٥٥٠٠٠١١١١', '123', '+1234567890123456']) {
    refused(cli(db, ['user', 'add', '--phone', phone, '--last-name', 'X', '--name', 'X', '--role', 'participant']), /--phone: .* is not a phone number/);
  }
  refused(cli(db, ['user', 'add', '--phone', '+15550004444', '--last-name', 'X', '--name', 'X', '--role', 'admin']), /--role: participant or therapist/);
  refused(cli(db, ['user', 'add', '--phone', '+15550004444', '--last-name', '  ', '--name', 'X', '--role', 'participant']), /--last-name/);
  refused(cli(db, ['user', 'add', '--phone', '+15550004444', '--last-name', 'X', '--name', 'X', '--role', 'participant', '--id', 'bad id']), /--id/);
  refused(cli(db, ['user', 'add', '--phone', '+15550004444', '--last-name', 'X', '--name', 'X', '--role', 'participant', '--id', 'x'.repeat(65)]), /--id/);
  refused(cli(db, ['user', 'add', '--phone', '+15550004444']), /usage:/, 2);
  refused(cli(db, ['user', 'add', '--phone', '+15550004444', '--last-name', 'X', '--name', 'X', '--role', 'participant', '--bogus', '1']), /unknown option --bogus/, 2);
  assert.equal(dbQuery(db, "SELECT count(*) FROM therapy_users;").trim(), '3', 'nothing written by a refusal');
});

test('session add prints the new ID; refusals name the flag', () => {
  const t = dbQuery(db, "SELECT id FROM therapy_users WHERE role = 'therapist';").trim();
  const r = session(['--participants', 'P1', '--therapist', t, '--assessment', 'intake:incomplete:https://example.com/i', '--assessment', 'location:complete']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\n$/);
  const r2 = session(['--participants', 'P1', '--therapist', t]);
  assert.equal(Number(r2.stdout), Number(r.stdout) + 1);
  const before = dbQuery(db, 'SELECT count(*) FROM therapy_sessions;').trim();
  refused(session(['--participants', 'P1', '--therapist', 'NOPE']), /--therapist: no therapist 'NOPE'/);
  refused(session(['--participants', 'P1', '--therapist', 'P1']), /--therapist: no therapist 'P1'/);
  refused(session(['--participants', 'P1,NOPE', '--therapist', t]), /--participants: no user 'NOPE'/);
  refused(cli(db, ['session', 'add', '--name', 'G', '--date', 'yesterday', '--participants', 'P1', '--therapist', t]), /--date: 'yesterday' is not an ISO-8601/);
  refused(cli(db, ['session', 'add', '--name', 'G', '--date', '2023-13-45T99:00:00Z', '--participants', 'P1', '--therapist', t]), /--date/);
  refused(cli(db, ['session', 'add', '--name', '', '--date', '2023-08-01T18:00:00Z', '--participants', 'P1', '--therapist', t]), /--name/);
  refused(session(['--participants', 'P1', '--therapist', t, '--assessment', 'x:done']), /--assessment/);
  refused(session(['--participants', 'P1', '--therapist', t, '--assessment', 'x:incomplete:not a url']), /--assessment/);
  refused(cli(db, ['session', 'add', '--name', 'G']), /usage:/, 2);
  assert.equal(dbQuery(db, 'SELECT count(*) FROM therapy_sessions;').trim(), before, 'nothing written by a refusal');
});

test('what the CLI wrote is what the server serves', async () => {
  const s = await startTherapy({ dir });
  const b = await browserIn(s, { phone: '+15550001111', last: 'DOE' });
  assert.equal(b.user, 'P1');
  const home = await b.get('getTherapySessions');
  assert.equal(home.json.therapy_sessions.length, 2);
  const withA = home.json.therapy_sessions.find((x) => x.assessments.length);
  assert.deepEqual(withA.assessments, [
    { name: 'intake', status: 'incomplete', url: 'https://example.com/i' },
    { name: 'location', status: 'complete' },
  ]);
  // a user added while the server runs can log in at once
  const late = cli(db, ['user', 'add', '--phone', '+15550005555', '--last-name', 'Late', '--name', 'L', '--role', 'participant', '--id', 'P9']);
  assert.equal(late.status, 0, late.stderr);
  const l = await browserIn(s, { phone: '+15550005555', last: 'Late' });
  assert.equal(l.user, 'P9');
});
