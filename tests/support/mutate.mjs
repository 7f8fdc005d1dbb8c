// mutate.mjs: the mutation fuzzer of the HTTP and WebSocket body fuzz tests
// (tests/therapy/fuzz_bodies, tests/dashboard/06_fuzz). A run is replayed by
// its seed: `fuzzer(seed, corpus)` gives a seeded generator and `mutate(buf)`,
// which applies 0..3 of: byte flips, truncation, a duplicate key, deep nesting,
// odd numbers, invalid UTF-8 and odd Unicode, a wrong type, a splice with
// another seed of the corpus, a long string, junk, wrapping, a removed field.
// Bodies stay under 256 KiB (the transport's 413 is tested elsewhere).

export function fuzzer(seed, corpus) {
  // xorshift32
  let state = seed || 1;
  const rnd = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 4294967296;
  };
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const int = (n) => Math.floor(rnd() * n);

  const JUNK = ['{', '}', '[', ']', ',', ':', '"', '\\', 'null', 'true', '-', '0', '1e999', '\u0000', '\ud800', 'é', '𝄞', ' '];
  const ODD_NUMBERS = ['1e400', '-1e400', '99999999999999999999999', '9223372036854775807', '9223372036854775808', '-9223372036854775809',
    '-0', '0.5', '1.0', '1e2', '-1', '0x10', '01', '+1', 'NaN', 'Infinity', '1_000'];
  const ODD_VALUES = ['null', 'true', 'false', '[]', '{}', '""', '"x"', '0', '[null]', '{"a":1}', '"\\u0000"', '"\\ud800"', '"\\uDC00\\uD800"'];

  function mutate(buf) {
    let s2 = Buffer.from(buf);
    const text = () => s2.toString('latin1');
    const set = (t) => { s2 = Buffer.from(t, 'latin1'); };
    const n = rnd() < 0.15 ? 0 : 1 + int(3); // some seeds go as they are
    for (let i = 0; i < n; i++) {
      if (s2.length > 256 * 1024) s2 = s2.subarray(0, 256 * 1024); // no exponential growth
      switch (int(12)) {
        case 0: { // flip bytes
          for (let k = 0; k < 1 + int(4) && s2.length; k++) s2[int(s2.length)] ^= 1 << int(8);
          break;
        }
        case 1: s2 = s2.subarray(0, int(s2.length + 1)); break; // truncate
        case 2: { // duplicate a key:value
          const m = [...text().matchAll(/"([a-z_]+)":\s*("[^"]*"|-?\d+|null|true|false|\[\])/g)];
          if (m.length) { const x = pick(m); const t = text(); const at = t.lastIndexOf('}'); if (at > 0) set(`${t.slice(0, at)},${x[0]}${t.slice(at)}`); }
          break;
        }
        case 3: { // deep nesting
          const d = pick([10, 100, 1000, 5000, 20000]);
          const open = pick(['[', '{"a":']);
          const close = open === '[' ? ']' : '}';
          const t = text();
          const m = /:\s*/.exec(t);
          if (m && rnd() < 0.5) set(`${t.slice(0, m.index + 1)}${open.repeat(d)}1${close.repeat(d)}${t.slice(m.index + m[0].length).replace(/^("[^"]*"|[^,}\]]*)/, '')}`);
          else set(open.repeat(d) + (rnd() < 0.5 ? close.repeat(d) : ''));
          break;
        }
        case 4: { // odd numbers
          const t = text(); const m = [...t.matchAll(/-?\d+/g)];
          if (m.length) { const x = pick(m); set(t.slice(0, x.index) + pick(ODD_NUMBERS) + t.slice(x.index + x[0].length)); }
          break;
        }
        case 5: { // invalid UTF-8 / odd Unicode inside a string
          const bad = pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0x00], [0xef, 0xbb, 0xbf]]);
          const at = int(s2.length + 1);
          s2 = Buffer.concat([s2.subarray(0, at), Buffer.from(bad), s2.subarray(at)]);
          break;
        }
        case 6: { // wrong type for a value
          const t = text(); const m = [...t.matchAll(/:\s*("[^"]*"|-?\d+|null|true|false|\[[^\]]*\])/g)];
          if (m.length) { const x = pick(m); set(`${t.slice(0, x.index)}:${pick(ODD_VALUES)}${t.slice(x.index + x[0].length)}`); }
          break;
        }
        case 7: { // splice of two seeds
          const o = Buffer.from(pick(corpus));
          s2 = Buffer.concat([s2.subarray(0, int(s2.length + 1)), o.subarray(int(o.length + 1))]);
          break;
        }
        case 8: { // long string
          const t = text(); const m = [...t.matchAll(/"[^"]*"/g)];
          if (m.length) { const x = pick(m); set(`${t.slice(0, x.index)}"${pick(['x', 'é', '\\u00e9', '\\"', '@'])
            .repeat(pick([100, 5000, 20000]))}"${t.slice(x.index + x[0].length)}`); }
          break;
        }
        case 9: { // junk
          const at = int(s2.length + 1);
          s2 = Buffer.concat([s2.subarray(0, at), Buffer.from(pick(JUNK)), s2.subarray(at)]);
          break;
        }
        case 10: { // wrap in an array / unwrap / batch of many
          const t = text();
          set(pick([`[${t}]`, `[${Array(pick([2, 50, 101, 150])).fill(t).join(',')}]`, t.replace(/^\[|\]$/g, ''), `{"x":${t}}`]));
          break;
        }
        default: { // remove a field
          const t = text(); const m = [...t.matchAll(/"[a-z_]+":\s*("[^"]*"|-?\d+|null|true|false|\[[^\]]*\]),?/g)];
          if (m.length) { const x = pick(m); set(t.slice(0, x.index) + t.slice(x.index + x[0].length)); }
        }
      }
    }
    // under --max-http-body (1m): a 413 is the transport's, tested in 06_limits
    return s2.length > 256 * 1024 ? s2.subarray(0, 256 * 1024) : s2;
  }

  return { rnd, pick, int, mutate };
}
