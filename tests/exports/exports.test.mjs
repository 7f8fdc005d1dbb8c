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
  const ajv = newAjv();
  const v = (pattern) => ajv.compile({ type: 'string', pattern });
  // the schema's own patterns, as emitted
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
  assert.ok(v('^[^/]+$')('case-1'));
  assert.equal(v('^[^/]+$')('a/b'), false);
});
