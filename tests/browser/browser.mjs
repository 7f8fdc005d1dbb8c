// browser.mjs: what the Chromium page tests share: where Debian's chromium is
// (and the skip when it is absent), where screenshots go, playwright-core from
// tests/node, the binary's CLI, and named scenario steps.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, T } from '../integration/harness.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = process.env.SB_TEST_ARTIFACTS || path.join(ROOT, 'build', 'test-artifacts');
export const haveChromium = fs.existsSync(CHROMIUM);
/** node:test's skip option: false, or why (scripts/deps.sh installs chromium). */
export const skipWithoutChromium = haveChromium ? false : `${CHROMIUM} is absent (scripts/deps.sh installs Debian's chromium)`;

const require = createRequire(path.join(ROOT, 'tests', 'node', 'package.json'));
/** playwright-core's chromium launcher (tests/node/node_modules). */
export const playwright = () => require('playwright-core');

/** `switchboard ARGS`: its stdout, trimmed. */
export function cli(args) {
  return execFileSync(BIN, args, { encoding: 'utf8', timeout: T(10000) }).trim();
}

/** One step of the scenario: its name goes with its error, and the scenario stops there. */
export async function step(t, name, fn) {
  try {
    await fn();
  } catch (e) {
    e.message = `${name}: ${e.message}`;
    throw e;
  }
  t.diagnostic(`ok: ${name}`);
}
