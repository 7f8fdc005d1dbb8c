// differential.test.mjs: the generated C parser against the JSON Schema export.
//
// Every document below goes through both:
//   - the C parser, through `switchboard validate --batch TARGET` (the server's
//     parser and limits; one verdict per line);
//   - ajv (JSON Schema 2020-12, with ajv-formats) on the exported def of the
//     same message or union (generated/jsonschema/<channel>.schema.json), after
//     JSON.parse.
// The documents: every schema-derived case (generated/tests/cases.json: every
// example, and each broken one rule at a time), random valid instances of
// every message and union (random_instances, the generated random-instance
// functions), and random mutations of those.
//
// Where one accepts and the other refuses, the case is either a documented
// difference (docs/schema.md, "Differences from the JSON Schema export"),
// counted by class, or a disagreement: the test fails and prints both verdicts.
// Nothing is skipped: every case ends up "agree", "known: CLASS" or
// "DISAGREE".
//
// Env: SWITCHBOARD_BIN, SB_RANDOM_INSTANCES_BIN (tests/exports/random_instances.c),
// optional SB_JSONSCHEMA_DIR (default generated/jsonschema), SB_DIFF_SEED,
// SB_DIFF_COUNT (random instances per target).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(path.join(root, 'tests/node/package.json'));
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const BIN = process.env.SWITCHBOARD_BIN;
const RANDOM_BIN = process.env.SB_RANDOM_INSTANCES_BIN;
const SCHEMA_DIR = process.env.SB_JSONSCHEMA_DIR || path.join(root, 'generated/jsonschema');
const SEED = Number(process.env.SB_DIFF_SEED || 20261204);
const COUNT = Number(process.env.SB_DIFF_COUNT || 20);

// ---------------------------------------------------------------------------
// A lossless JSON tree: numbers keep their text, objects keep every key in
// order, duplicates included. JSON.parse would round 2^63 and drop duplicates,
// which are exactly the things the two sides may disagree on.
//   object {t:'o', e:[[key, value]...]}, array {t:'a', v:[...]},
//   number {t:'n', s:'text'}, strings, true, false, null as themselves.

function parseLossless(text) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const fail = () => { throw new SyntaxError(`at ${i}`); };
  function str() {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(text.slice(i));
    if (!m) fail();
    i += m[0].length;
    return JSON.parse(m[0]);
  }
  function val() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      const e = [];
      if (text[i] === '}') { i++; return { t: 'o', e }; }
      for (;;) {
        ws(); if (text[i] !== '"') fail();
        const k = str(); ws();
        if (text[i++] !== ':') fail();
        e.push([k, val()]); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] !== '}') fail();
        return { t: 'o', e };
      }
    }
    if (c === '[') {
      i++; ws();
      const v = [];
      if (text[i] === ']') { i++; return { t: 'a', v }; }
      for (;;) {
        v.push(val()); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] !== ']') fail();
        return { t: 'a', v };
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    return { t: 'n', s: m[0] };
  }
  const v = val(); ws();
  if (i !== text.length) fail();
  return v;
}

function stringify(v) {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v); // lone surrogates as \udXXX
  if (v.t === 'n') return v.s;
  if (v.t === 'a') return '[' + v.v.map(stringify).join(',') + ']';
  return '{' + v.e.map(([k, x]) => JSON.stringify(k) + ':' + stringify(x)).join(',') + '}';
}

function hasDuplicateKeys(v) {
  if (v === null || typeof v !== 'object' || v.t === 'n') return false;
  if (v.t === 'a') return v.v.some(hasDuplicateKeys);
  const seen = new Set();
  for (const [k, x] of v.e) {
    if (seen.has(k) || hasDuplicateKeys(x)) return true;
    seen.add(k);
  }
  return false;
}

// The value at a C error path ("$", "a.b", "a[2].c", "$[0]"), in the tree
// (the last of duplicate keys, as JSON.parse would keep); undefined if absent.
function atPath(tree, p) {
  if (p === '$') return tree;
  const steps = [];
  for (const part of p.replace(/^\$/, '').split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return undefined;
    if (m[1] !== '') steps.push(m[1]);
    for (const ix of m[2].matchAll(/\[(\d+)\]/g)) steps.push(Number(ix[1]));
  }
  let node = tree;
  for (const s of steps) {
    if (node === null || typeof node !== 'object') return undefined;
    if (typeof s === 'number') node = node.t === 'a' ? node.v[s] : undefined;
    else node = node.t === 'o' ? node.e.findLast(([k]) => k === s)?.[1] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

// JSON Pointer (ajv's instancePath) into a plain value.
function atPointer(value, ptr) {
  let node = value;
  for (const raw of ptr.split('/').slice(1)) {
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = node[k];
  }
  return node;
}

const utf8Len = (s) => Buffer.byteLength(s, 'utf8');
const cpLen = (s) => [...s].length;
const isAscii = (s) => /^[\x00-\x7f]*$/.test(s);
const hasLoneSurrogate = (s) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

// ---------------------------------------------------------------------------
// The two sides.

function targets() {
  const out = spawnSync(BIN, ['schema'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const list = [];
  const channels = new Set();
  for (const line of out.stdout.trim().split('\n')) {
    const [name, channel] = line.split('\t');
    list.push({ target: name, channel, def: name });
    channels.add(channel);
  }
  return { list, channels: [...channels] };
}

// Runs every input through `switchboard validate --batch TARGET`, one process
// per target; a document with a raw newline gets a process of its own.
function cVerdicts(cases) {
  const byTarget = new Map();
  for (const c of cases) {
    if (!byTarget.has(c.target)) byTarget.set(c.target, []);
    byTarget.get(c.target).push(c);
  }
  for (const [target, list] of byTarget) {
    const lined = list.filter((c) => !c.input.includes('\n'));
    const out = spawnSync(BIN, ['validate', '--batch', target], {
      input: lined.map((c) => c.input + '\n').join(''), encoding: 'utf8', maxBuffer: 1 << 28,
    });
    assert.equal(out.status, 0, `validate --batch ${target}: ${out.stderr}`);
    const lines = out.stdout.split('\n');
    assert.equal(lines.length, lined.length + 1, `validate --batch ${target}: one verdict per line`);
    lined.forEach((c, k) => { c.c = parseCVerdict(lines[k]); });
    for (const c of list.filter((x) => x.input.includes('\n'))) {
      const one = spawnSync(BIN, ['validate', target, '-'], { input: c.input, encoding: 'utf8' });
      assert.ok(one.status === 0 || one.status === 1, `validate ${target}: ${one.stderr}`);
      c.c = parseCVerdict(one.status === 0 ? 'ok ' + one.stdout.trimEnd() : one.stderr.trimEnd());
    }
  }
}

function parseCVerdict(line) {
  if (line.startsWith('ok ')) return { ok: true, text: line.slice(3) };
  const m = /^error: (\S+?|\$): (.*)$/.exec(line);
  assert.ok(m, `a verdict line: ${line}`);
  return { ok: false, path: m[1], reason: m[2], text: line };
}

function jsVerdict(c, validators) {
  let value;
  try {
    value = JSON.parse(c.input);
  } catch (e) {
    return { ok: false, syntax: true, text: `JSON.parse: ${e.message}` };
  }
  const v = validators.get(c.target);
  const ok = v.validate(value);
  return { ok, value, errors: ok ? [] : v.errorsFor(value), text: ok ? 'valid' : '' };
}

// A union's oneOf reports the errors of every branch. Keep those of the branch
// the discriminator names (the one the C parser reads), at every depth: a
// message may hold an array of a union (therapy's GetActionsResponse).
let ajvRef;
function refine(errors, value, doc) {
  const oneOf = errors.filter((e) => e.keyword === 'oneOf')
    .sort((a, b) => a.instancePath.length - b.instancePath.length)[0];
  if (!oneOf) return errors;
  const at = oneOf.instancePath;
  const node = atPointer(value, at);
  const under = (e) => e.instancePath === at || e.instancePath.startsWith(at + '/');
  let branch = null;
  for (const b of oneOf.parentSchema.oneOf || []) {
    const name = (b.$ref || '').replace(/^#\/\$defs\//, '');
    const props = doc.$defs[name]?.properties || {};
    const disc = Object.entries(props).find(([, p]) => p.const !== undefined);
    if (disc && node && typeof node === 'object' && node[disc[0]] === disc[1].const)
      branch = ajvRef.getSchema(`${doc.$id}#/$defs/${name}`);
  }
  if (!branch) return errors.filter((e) => e !== oneOf); // no branch named: the others stay
  branch(node);
  const inner = refine(branch.errors || [], node, doc).map((e) => ({ ...e, instancePath: at + e.instancePath }));
  return refine([...errors.filter((e) => !under(e)), ...inner], value, doc);
}

// ---------------------------------------------------------------------------
// Known differences: the rules of ours JSON Schema cannot say (docs/schema.md,
// "Differences from the JSON Schema export"). Each returns a class name when
// it explains the disagreement, or null.

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

function isIntegralText(s) {
  return Number.isInteger(Number(s));
}

// Our ISO-8601 profile (generator/validate.lua, runtime/pattern.c).
function ourIso8601(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (!m) return false;
  const [mo, d, h, mi, sec] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  return m[7] === 'Z' || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
}
// Our URI profile: a scheme, ':', then one or more bytes of the RFC 3986 set.
const ourUri = (s) => /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/.test(s);

// A format split: the string and which side refused it. Each class is a rule
// of docs/schema.md's list; anything else is a disagreement.
function explainFormat(format, s, cRefused) {
  if (format === 'date-time') {
    if (cRefused) {
      // RFC 3339 forms outside our profile: lower-case t/z, a space, +HHMM or +HH
      const norm = s.replace(/^(\d{4}-\d{2}-\d{2})[t ]/, '$1T').replace(/z$/, 'Z')
        .replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([T:]\d{2}(?:\.\d+)?[+-]\d{2})$/, '$1:00');
      return norm !== s && ourIso8601(norm) ? 'date-time: RFC 3339 spellings our profile refuses' : null;
    }
    // ours checks no calendar, and takes second 60 at any time
    const m = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:(\d{2})/.exec(s);
    if (!m || !ourIso8601(s)) return null;
    const days = new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate();
    if (Number(m[3]) > days || m[4] === '60') return 'date-time: no calendar or leap-second check in ours';
    return null;
  }
  if (format === 'uri') {
    if (cRefused) return /^[A-Za-z][A-Za-z0-9+.-]*:$/.test(s) ? 'uri: ours needs a byte after the scheme' : null;
    return ourUri(s) ? 'uri: ours checks the character set, not RFC 3986\'s grammar' : null;
  }
  return null;
}

// The C parser refuses, JSON Schema accepts.
function explainCRefusal(c, tree) {
  const { reason } = c.c;
  if (/^invalid JSON.*(surrogate|UTF-8)/i.test(reason)) return 'unicode: lone surrogate or invalid UTF-8';
  if (c.c.path === '$' && /^invalid JSON/.test(reason)) {
    if (/surrogate|UTF-8/i.test(reason)) return 'unicode: lone surrogate or invalid UTF-8';
    if (/deep|depth|nest/i.test(reason)) return 'reader limits (depth, size)';
    if (/too large|too long|limit/i.test(reason)) return 'reader limits (depth, size)';
    if (/number|overflow|range/i.test(reason)) return 'number overflows a double';
    return null;
  }
  if (reason === 'duplicate field') return tree && hasDuplicateKeys(tree) ? 'duplicate keys' : null;
  const node = tree === undefined ? undefined : atPath(tree, c.c.path);
  if (node === undefined) return null;
  if (/^expected integer(, got number)?$/.test(reason))
    return node?.t === 'n' && isIntegralText(node.s) ? 'number form: integral number with fraction or exponent' : null;
  if (/out of range$/.test(reason) && node?.t === 'n' && /^-?\d+$/.test(node.s)) {
    const b = BigInt(node.s);
    // outside int64, but no double between the bound and it
    if ((b > INT64_MAX || b < INT64_MIN) && Math.abs(Number(node.s)) === 2 ** 63) return 'int64 range beyond double precision';
    return null;
  }
  if (/out of range$/.test(reason) && node?.t === 'n' && !/^-?\d+$/.test(node.s)) return null;
  let m;
  if ((m = /^longer than (\d+) bytes$/.exec(reason)) && typeof node === 'string')
    return cpLen(node) <= Number(m[1]) ? 'string length: bytes vs characters' : null;
  if (/^does not match pattern/.test(reason) && typeof node === 'string')
    return isAscii(node) ? null : 'pattern: bytes vs code points';
  if (/^expected an ISO-8601 timestamp$/.test(reason) && typeof node === 'string')
    return explainFormat('date-time', node, true);
  if (/^expected a URI$/.test(reason) && typeof node === 'string') return explainFormat('uri', node, true);
  return null;
}

// JSON Schema refuses, the C parser accepts: every ajv error must be explained.
function explainJsRefusal(c) {
  if (c.js.syntax) {
    return null;
  }
  const classes = new Set();
  for (const e of c.js.errors) {
    const node = atPointer(c.js.value, e.instancePath);
    let cls = null;
    if (e.keyword === 'minLength' && typeof node === 'string')
      cls = utf8Len(node) >= e.params.limit && cpLen(node) < e.params.limit ? 'string length: bytes vs characters' : null;
    else if (e.keyword === 'pattern' && typeof node === 'string')
      cls = isAscii(node) ? null : 'pattern: bytes vs code points';
    else if (e.keyword === 'format' && typeof node === 'string')
      cls = explainFormat(e.params.format, node, false);
    else if (e.keyword === 'maxLength' && typeof node === 'string' && hasLoneSurrogate(node))
      cls = 'unicode: lone surrogate or invalid UTF-8';
    if (!cls) return null;
    classes.add(cls);
  }
  return classes.size ? [...classes].sort().join(' + ') : null;
}

// ---------------------------------------------------------------------------
// Random mutations of a valid instance (on the lossless tree).

function rng(seed) {
  let s = BigInt(seed) || 1n;
  return (n) => {
    s ^= s << 13n; s &= (1n << 64n) - 1n; s ^= s >> 7n; s ^= s << 17n; s &= (1n << 64n) - 1n;
    return Number(s % BigInt(n));
  };
}

const REPLACEMENTS = [
  null, true, false, { t: 'n', s: '0' }, { t: 'n', s: '-1' }, { t: 'n', s: '1.5' }, { t: 'n', s: '1.0' },
  { t: 'n', s: '1e2' }, { t: 'n', s: '-0' }, { t: 'n', s: '9223372036854775807' }, { t: 'n', s: '9223372036854775808' },
  { t: 'n', s: '-9223372036854775809' }, { t: 'n', s: '9007199254740993' }, { t: 'n', s: '1e400' },
  '', 'x', 'é', '😀😀', '\ud800', 'abc\udc00', '2023-10-11T21:20:00Z', '2023-02-30T10:00:00Z', '2023-10-11t21:20:00z',
  '2023-10-11T21:20:00', '2023-10-11T23:59:60Z', '2023-10-11T21:20:00.123456789+05:30', 'https://example.com/a b',
  'urn:x', 'http://h/%41', 'a@example.com', 'ftp://é.example', '000000', '12345', '１２３４５６', '1000ms', 'a/b',
  { t: 'a', v: [] }, { t: 'o', e: [] },
];

// strings near the formats' and patterns' edges (docs/schema.md, Formats and patterns)
const STRING_PROBES = [
  '2023-10-11T21:20:00Z', '2023-10-11T21:20:00.5+05:30', '2023-10-11T21:20:00+0530', '2023-10-11T21:20:00+05',
  '2023-10-11 21:20:00Z', '2023-10-11t21:20:00Z', '2023-10-11T21:20:00z', '2023-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z', '2023-04-31T00:00:00Z', '2023-10-11T12:00:60Z', '2023-10-11T23:59:60Z',
  '2023-13-01T00:00:00Z', '2023-10-11T24:00:00Z', '2023-10-11T21:20Z', '2023-10-11', '+2023-10-11T21:20:00Z',
  'https://example.com/a?b=1#c', 'http://h/%41', 'http://h/%zz', 'urn:isbn:0451450523', 'mailto:a@b.c', 'x:',
  'a:[', 'http://[::1]/', 'http://a b', 'http://é.example', '//example.com', '/relative', 'HTTP://X', 'a+b.c-d:x',
  '1a:x', 'http://h/{x}', 'http://h/|', 'a@example.com', 'first.last+tag@sub.example.org', 'a@b', '.a@b.c',
  '123456', '12345', '1234567', '１２３４５６', '12345\u0000', '671ms', 'ms', '0ms', '1.5ms', 'a/b', 'é', 'a\nb',
  'x'.repeat(65), 'é'.repeat(33), '😀'.repeat(17),
];

function nodes(tree) {
  // [parent, key-or-index, node] for every node below the root
  const out = [];
  const walk = (v) => {
    if (v === null || typeof v !== 'object' || v.t === 'n') return;
    if (v.t === 'a') v.v.forEach((x, k) => { out.push([v, k, x]); walk(x); });
    else v.e.forEach((pair, k) => { out.push([v, k, pair[1]]); walk(pair[1]); });
  };
  walk(tree);
  return out;
}

function setChild(parent, k, x) {
  if (parent.t === 'a') parent.v[k] = x; else parent.e[k][1] = x;
}

function mutate(text, r) {
  const tree = parseLossless(text);
  const all = nodes(tree);
  const objects = [tree, ...all.map((n) => n[2])].filter((v) => v && v.t === 'o');
  const arrays = all.map((n) => n[2]).filter((v) => v && v.t === 'a');
  const what = r(9);
  if (what === 0 && objects.length) {
    const o = objects[r(objects.length)];
    if (o.e.length) { const k = r(o.e.length); const [key] = o.e.splice(k, 1)[0]; return [tree, `removed ${key}`]; }
  }
  if (what === 1 && objects.length) {
    const o = objects[r(objects.length)];
    if (o.e.length) {
      const [key, val] = o.e[r(o.e.length)];
      o.e.push([key, r(2) ? JSON.parse(JSON.stringify(val)) : REPLACEMENTS[r(REPLACEMENTS.length)]]);
      return [tree, `duplicated ${key}`];
    }
  }
  if (what === 2 && objects.length) {
    objects[r(objects.length)].e.push(['__unknown__', { t: 'n', s: '1' }]);
    return [tree, 'unknown field'];
  }
  if (what === 3 && arrays.length) {
    const a = arrays[r(arrays.length)];
    if (a.v.length) {
      const n = [1, 2, 10, 100, 1000][r(5)];
      for (let k = 0; k < n; k++) a.v.push(JSON.parse(JSON.stringify(a.v[0])));
      return [tree, `array grown by ${n}`];
    }
    a.v.length = 0;
    return [tree, 'array emptied'];
  }
  if (all.length === 0) return [REPLACEMENTS[r(REPLACEMENTS.length)], 'root replaced'];
  const [parent, k, node] = all[r(all.length)];
  if (what === 4 && typeof node === 'string') {
    const add = ['a', 'é', '😀', '\u0000'][r(4)];
    const n = [1, 2, 64, 256][r(4)];
    setChild(parent, k, node + add.repeat(n));
    return [tree, `string grown by ${n} ${JSON.stringify(add)}`];
  }
  if (what === 5 && node?.t === 'n' && /^-?\d+$/.test(node.s)) {
    const d = [1n, -1n, 1n << 53n, -(1n << 62n)][r(4)];
    setChild(parent, k, { t: 'n', s: String(BigInt(node.s) + d) });
    return [tree, `integer moved by ${d}`];
  }
  if (what === 6 && typeof node === 'string' && node.length) {
    // the same number of characters, some of them multi-byte
    setChild(parent, k, [...node].map((ch, j) => (j % 2 ? 'é' : ch)).join(''));
    return [tree, 'string made multi-byte'];
  }
  if (what === 7 && typeof node === 'string') {
    setChild(parent, k, STRING_PROBES[r(STRING_PROBES.length)]);
    return [tree, 'string replaced by a probe'];
  }
  setChild(parent, k, REPLACEMENTS[r(REPLACEMENTS.length)]);
  return [tree, 'value replaced'];
}

// ---------------------------------------------------------------------------

test('the C parser and the JSON Schema export agree, except for documented differences', () => {
  assert.ok(BIN, 'SWITCHBOARD_BIN is not set');
  assert.ok(RANDOM_BIN, 'SB_RANDOM_INSTANCES_BIN is not set');
  const { list, channels } = targets();

  const ajv = new Ajv2020({ strict: false, allErrors: true, verbose: true });
  ajvRef = ajv;
  addFormats(ajv);
  const docs = new Map();
  for (const ch of channels) {
    const file = path.join(SCHEMA_DIR, `${ch}.schema.json`);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    ajv.addSchema(doc);
    docs.set(ch, doc);
  }
  // CHANNEL:in and CHANNEL:out: the channel's union def (ChatInbound, ...)
  for (const ch of channels) {
    for (const [dir, word] of [['in', 'Inbound'], ['out', 'Outbound']]) {
      const def = Object.keys(docs.get(ch).$defs).find((k) => k.toLowerCase() === ch + word.toLowerCase());
      if (def) list.push({ target: `${ch}:${dir}`, channel: ch, def, union: true });
    }
  }
  const validators = new Map();
  for (const t of list) {
    const doc = docs.get(t.channel);
    assert.ok(doc.$defs[t.def], `${t.target}: no $defs/${t.def} in ${t.channel}.schema.json`);
    const validate = ajv.getSchema(`${doc.$id}#/$defs/${t.def}`);
    assert.ok(validate, `${t.target}: ajv cannot compile $defs/${t.def}`);
    const errorsFor = (value) => {
      validate(value);
      return refine(validate.errors || [], value, doc);
    };
    validators.set(t.target, { validate: (v) => validate(v), errorsFor });
  }
  // the union targets this binary has must all have a def
  const unionsInBinary = list.filter((t) => t.union).length;
  assert.ok(unionsInBinary >= 1, 'no union defs found');

  // 1. the schema-derived cases
  const cases = fs.readFileSync(path.join(root, 'generated/tests/cases.json'), 'utf8').trim().split('\n')
    .map((l) => ({ ...JSON.parse(l), source: 'schema case' }));
  const known = new Set(list.map((t) => t.target));
  for (const c of cases) assert.ok(known.has(c.target), `${c.name}: no target ${c.target}`);

  // 2. random valid instances, 3. random mutations of them
  const rand = spawnSync(RANDOM_BIN, [String(SEED), String(COUNT)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(rand.status, 0, rand.stderr);
  const r = rng(SEED);
  let nRandom = 0, nMutated = 0;
  for (const line of rand.stdout.trim().split('\n')) {
    const tab = line.indexOf('\t');
    const target = line.slice(0, tab), input = line.slice(tab + 1);
    assert.ok(known.has(target), `random instance of unknown target ${target}`);
    cases.push({ target, name: `${target} random #${nRandom}`, input, code: 'ok', source: 'random valid' });
    nRandom++;
    for (let k = 0; k < 3; k++) {
      const [tree, what] = mutate(input, r);
      cases.push({ target, name: `${target} random #${nRandom - 1} ${what}`, input: stringify(tree),
                   source: 'random mutated' });
      nMutated++;
    }
  }

  cVerdicts(cases);
  const tally = { agree: 0, known: new Map(), disagree: [] };
  const bySource = new Map();
  for (const c of cases) {
    c.js = jsVerdict(c, validators);
    const s = bySource.get(c.source) || { run: 0, accepted: 0, known: 0, disagree: 0 };
    bySource.set(c.source, s);
    s.run++;
    if (c.c.ok && c.js.ok) s.accepted++;
    if (c.c.ok === c.js.ok) { tally.agree++; continue; }
    let tree;
    try { tree = parseLossless(c.input); } catch { tree = undefined; }
    const cls = c.c.ok ? explainJsRefusal(c) : explainCRefusal(c, tree);
    if (cls) {
      s.known++;
      const k = tally.known.get(cls) || { n: 0, example: c };
      k.n++;
      tally.known.set(cls, k);
    } else {
      s.disagree++;
      tally.disagree.push(c);
    }
  }

  const show = (c) => {
    const jsText = c.js.ok ? 'valid' : c.js.syntax ? c.js.text
      : c.js.errors.map((e) => `${e.instancePath || '/'} ${e.keyword}: ${e.message}`).join('; ');
    return `  ${c.name} [${c.target}]\n    input: ${c.input.length > 400 ? c.input.slice(0, 400) + '...' : c.input}\n` +
      `    C:   ${c.c.ok ? 'accepts' : c.c.text}\n    ajv: ${c.js.ok ? 'accepts' : 'refuses: ' + jsText}`;
  };
  const lines = [`differential: ${cases.length} documents, ${tally.agree} agree, ` +
    `${[...tally.known.values()].reduce((a, k) => a + k.n, 0)} known differences, ${tally.disagree.length} disagreements`];
  for (const [src, s] of bySource)
    lines.push(`  ${src}: ${s.run} run, ${s.accepted} accepted by both, ${s.known} known, ${s.disagree} disagree`);
  for (const [cls, k] of [...tally.known].sort()) lines.push(`  known: ${cls}: ${k.n}\n  e.g.${show(k.example).slice(1)}`);
  console.log(lines.join('\n'));
  if (tally.disagree.length)
    console.log('DISAGREEMENTS (first 40):\n' + tally.disagree.slice(0, 40).map(show).join('\n'));
  assert.equal(tally.disagree.length, 0, `${tally.disagree.length} documents one side accepts and the other refuses`);
  // the harness must see both verdicts on every case: the valid ones must pass both
  assert.ok(nRandom > 0 && nMutated > 0);
});
