// exports.test.mjs: the generated exports (generated/jsonschema, asyncapi,
// openapi) checked by the ecosystem's own tools from tests/node: ajv 2020 in
// strict mode with ajv-formats, @asyncapi/parser, and
// @seriousme/openapi-schema-validator. Every schema example (the defs'
// `examples`, which emit_jsonschema copies from the schema files) must
// validate against its def and, for a union member, its union; broken
// copies of them must not, so a schema that accepted anything would fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..', '..');
const GEN = path.join(ROOT, 'generated');
const require = createRequire(path.join(ROOT, 'tests', 'node', 'package.json'));
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

/** The JSON files of generated/<dir>, sorted, as { name, doc }. */
function documents(dir) {
  const d = path.join(GEN, dir);
  return fs.readdirSync(d).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ name: f, file: path.join(d, f), doc: JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')) }));
}

/** A fresh ajv as a consumer would set it up: 2020-12, strict, formats. */
function newAjv() {
  // strict mode, with union types allowed: a nullable field is type [T, "null"]
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const schemas = documents('jsonschema');

test('every channel has a JSON Schema document', () => {
  const channels = fs.readdirSync(path.join(ROOT, 'schema')).filter((f) => f.endsWith('.lua'))
    .map((f) => f.replace(/\.lua$/, '')).sort();
  assert.deepEqual(schemas.map((s) => s.name), channels.map((c) => `${c}.schema.json`));
});

for (const { name, doc } of schemas) {
  test(`jsonschema/${name}: compiles under ajv 2020 strict and its examples validate`, () => {
    assert.equal(doc.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const ajv = newAjv();
    ajv.addSchema(doc);
    const defs = Object.keys(doc.$defs);
    assert.ok(defs.length > 0);
    const validators = {};
    for (const def of defs) {
      // compiling throws on anything strict mode refuses (unknown keyword,
      // bad pattern for the `u` flag, unknown format, ...)
      validators[def] = ajv.getSchema(`${doc.$id}#/$defs/${def}`);
      assert.ok(validators[def], `${def} compiles`);
    }
    // the unions: member def -> union defs
    const unionsOf = {};
    for (const def of defs) {
      for (const m of doc.$defs[def].oneOf ?? []) {
        const member = m.$ref.replace('#/$defs/', '');
        (unionsOf[member] ??= []).push(def);
        assert.ok(doc.$defs[member], `${def} member ${member} exists`);
      }
    }
    let checked = 0;
    for (const def of defs) {
      for (const ex of doc.$defs[def].examples ?? []) {
        const v = validators[def];
        assert.ok(v(ex), `${def} example ${JSON.stringify(ex)}: ${ajv.errorsText(v.errors)}`);
        for (const u of unionsOf[def] ?? []) {
          assert.ok(validators[u](ex), `${u} example ${JSON.stringify(ex)}: ${ajv.errorsText(validators[u].errors)}`);
        }
        checked++;
        // broken copies must fail: an undeclared key where unknown fields
        // are refused, a required field left out, and the wrong type
        const s = doc.$defs[def];
        if (s.type === 'object' && ex && typeof ex === 'object' && !Array.isArray(ex)) {
          if (s.additionalProperties === false) {
            assert.equal(v({ ...ex, __not_declared__: 1 }), false, `${def}: an undeclared key must fail`);
          }
          for (const r of s.required ?? []) {
            const { [r]: _, ...rest } = ex;
            assert.equal(v(rest), false, `${def}: without ${r} must fail`);
          }
          assert.equal(v([ex]), false, `${def}: an array must fail`);
        }
      }
    }
    if (doc.$defs[Object.keys(doc.$defs)[0]] && Object.values(doc.$defs).some((d) => d.oneOf)) {
      assert.ok(checked > 0, 'a channel with unions has examples');
    }
  });
}

test('patterns: rewritten for ECMA-262 with the u flag, same answers on ASCII', () => {
  // the schema's own patterns, as emitted, compile with the u flag
  const seen = new Set();
  const walk = (s) => {
    if (s && typeof s === 'object') {
      if (typeof s.pattern === 'string') seen.add(s.pattern);
      for (const x of Object.values(s)) walk(x);
    }
  };
  for (const { doc } of schemas) walk(doc);
  assert.ok(seen.size > 0);
  for (const p of seen) assert.doesNotThrow(() => new RegExp(p, 'u'), p);
  // our matcher (generator/pattern.lua) and ajv agree on ASCII strings, for
  // the schema's patterns and for each construct the export rewrites
  const patterns = ['^[^/]+$', '^[0-9]{6}$', '^[0-9]+ms$', '^a.c$', '^\\s+$', '^[\\s-]+$', '^\\S+$',
    '^a\\-b$', '^[a\\-z]+$', '^(ab|cd)*\\.x$', '^\\d{2,3}$', '^\\w+$', '^[^\\s]*$', '^.*$'];
  const strings = ['', 'abc', 'a\nc', 'a\rc', 'a-b', 'a\\-b', ' \t', '\u000b\f', 'x y', 'ab.x', 'abcd.x', '12',
    '1234', 'a_1', 'case-1', 'a/b', '123456', '10ms', 'ms', 'z-a', '-'];
  const lua = process.env.LUA || 'lua5.4';
  const script = `
    package.path = "${path.join(ROOT, 'generator')}/?.lua;" .. package.path
    local pattern, js, json = require("pattern"), require("emit_jsonschema"), require("json")
    local pats, strs = json.decode(arg[1]), json.decode(arg[2])
    for i = 1, pats.n do
      local p = assert(pattern.compile(pats[i]))
      local row = {}
      for j = 1, strs.n do row[j] = pattern.match(p, strs[j]) and "1" or "0" end
      print(js.ecma_pattern(pats[i]) .. "\t" .. table.concat(row))
    end`;
  const out = execFileSync(lua, ['-', JSON.stringify(patterns), JSON.stringify(strings)], { input: script, encoding: 'utf8' });
  const rows = out.trim().split('\n');
  assert.equal(rows.length, patterns.length);
  const ajv = newAjv();
  rows.forEach((row, i) => {
    const [ecma, ours] = row.split('\t');
    const v = ajv.compile({ type: 'string', pattern: ecma });
    strings.forEach((str, j) => {
      assert.equal(v(str), ours[j] === '1', `${patterns[i]} (export ${ecma}) on ${JSON.stringify(str)}`);
    });
  });
});

/** An ESM package of tests/node by name (the validator is ESM only). */
async function importFromNode(name) {
  return import(pathToFileURL(require.resolve(name)).href);
}

/** The JSON Schema document of a channel, by name. */
function jsonSchemaOf(channel) {
  return schemas.find((s) => s.name === `${channel}.schema.json`).doc;
}

/** components.schemas must be the channel's JSON Schema defs, refs rewritten. */
function assertSameDefs(channel, components) {
  const defs = JSON.stringify(jsonSchemaOf(channel).$defs).replaceAll('#/$defs/', '#/components/schemas/');
  assert.deepEqual(components, JSON.parse(defs), `${channel}: components.schemas are the JSON Schema defs`);
}

const openapi = documents('openapi');

test('OpenAPI: a document per channel with endpoints', () => {
  assert.deepEqual(openapi.map((d) => d.name), ['chat.json', 'core.json', 'dashboard.json', 'realtime.json', 'therapy.json']);
});

for (const { name, doc } of openapi) {
  test(`openapi/${name}: a valid OpenAPI 3.1 document`, async () => {
    const { Validator } = await importFromNode('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc));
    assert.equal(validator.version, '3.1');
    assert.ok(res.valid, `${name}: ${JSON.stringify(res.errors, null, 2)}`);
    const channel = name.replace(/\.json$/, '');
    assertSameDefs(channel, doc.components.schemas);
    // every operation: a 200 and each error with the channel's error body;
    // security names declared schemes only
    const schemes = Object.keys(doc.components.securitySchemes ?? {});
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        assert.ok(op.responses['200'], `${method} ${p}: 200`);
        for (const sec of op.security) {
          for (const s of Object.keys(sec)) assert.ok(schemes.includes(s), `${method} ${p}: scheme ${s} declared`);
        }
        for (const m of p.matchAll(/\{([^}]+)\}/g)) {
          assert.ok(op.parameters.some((x) => x.in === 'path' && x.name === m[1]), `${method} ${p}: {${m[1]}}`);
        }
      }
    }
  });
}

test('OpenAPI: the validator refuses a broken document', async () => {
  const { Validator } = await importFromNode('@seriousme/openapi-schema-validator');
  const broken = structuredClone(openapi[0].doc);
  const op = Object.values(Object.values(broken.paths)[0])[0];
  op.responses = 'none'; // must be an object
  const res = await new Validator().validate(broken);
  assert.equal(res.valid, false);
});

test('OpenAPI: security by auth (none, channel default, operator key)', () => {
  const byName = Object.fromEntries(openapi.map((d) => [d.name.replace(/\.json$/, ''), d.doc]));
  const op = (ch, method, p) => byName[ch].paths[p][method];
  assert.deepEqual(op('core', 'get', '/healthz').security, []);
  assert.deepEqual(op('chat', 'get', '/api/v1/rooms').security, [{ chatToken: [] }, { chatTokenQuery: [] }]);
  assert.deepEqual(op('dashboard', 'post', '/request_for_auth').security, [{ operatorKey: [] }]);
  assert.deepEqual(op('dashboard', 'post', '/auth_handshake').security, []);
  assert.deepEqual(byName.dashboard.components.securitySchemes.finSession,
    { type: 'apiKey', in: 'query', name: 'fin_session_id',
      description: byName.dashboard.components.securitySchemes.finSession.description });
  assert.equal(byName.therapy.components.securitySchemes.therapySession.name, 'sb_therapy');
  assert.equal(byName.therapy.components.securitySchemes.therapySession.in, 'cookie');
});

const asyncapi = documents('asyncapi');

test('AsyncAPI: a document per WebSocket and Socket.IO channel', () => {
  assert.deepEqual(asyncapi.map((d) => d.name), ['chat.json', 'dashboard.json', 'realtime.json']);
});

for (const { name, file, doc } of asyncapi) {
  test(`asyncapi/${name}: parses with @asyncapi/parser without errors`, async () => {
    const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
    const parser = new Parser();
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'), { source: file });
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
    assert.deepEqual(errors.map((d) => `${d.path.join('.')}: ${d.message}`), []);
    assert.ok(document, 'a document');
    assert.equal(document.version(), '3.0.0');
    const channel = name.replace(/\.json$/, '');
    assertSameDefs(channel, doc.components.schemas);
    // every message of both unions, with the schema's examples, in operations
    const js = jsonSchemaOf(channel);
    const members = Object.values(js.$defs).filter((d) => d.oneOf).flatMap((d) => d.oneOf.map((m) => m.$ref.split('/').pop()));
    assert.ok(members.length > 0);
    assert.deepEqual(Object.keys(doc.components.messages).sort(), [...new Set(members)].sort());
    const parsedMessages = document.allMessages().all().map((m) => m.name()).sort();
    assert.deepEqual(parsedMessages, [...new Set(members)].sort());
    const actions = document.operations().all().map((o) => o.action()).sort();
    assert.deepEqual(actions, ['receive', 'send']);
    // the examples validate against their payload (ajv, as above)
    const ajv = newAjv();
    ajv.addSchema(js);
    for (const [mname, m] of Object.entries(doc.components.messages)) {
      const v = ajv.getSchema(`${js.$id}#/$defs/${mname}`);
      assert.ok(m.examples.length > 0, `${mname} has examples`);
      for (const ex of m.examples) assert.ok(v(ex.payload), `${mname}: ${ajv.errorsText(v.errors)}`);
    }
  });
}

test('AsyncAPI: the parser reports a broken document', async () => {
  const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
  const broken = structuredClone(asyncapi[0].doc);
  delete broken.info; // required
  const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
  assert.ok(diagnostics.some((d) => d.severity === DiagnosticSeverity.Error));
  // and checks the payload schemas too
  const badSchema = structuredClone(asyncapi[0].doc);
  const first = Object.keys(badSchema.components.schemas)[0];
  badSchema.components.schemas[first].type = 'strin';
  const r = await new Parser().parse(JSON.stringify(badSchema));
  assert.ok(r.diagnostics.some((d) => d.severity === DiagnosticSeverity.Error));
});
