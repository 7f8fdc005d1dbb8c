// dh.mjs: helpers of the dashboard suite (tests/dashboard/README.md).
//
// A server on a fresh DB (demo data off unless asked), an operator API key
// made with the real CLI, the handshake (/request_for_auth then
// /auth_handshake) as the core backend and a browser would do it, dashboard
// WebSockets wrapped in the harness's Client, and the operator API.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  BIN, T, Client, WebSocket, request, startServer, tempDir, withTimeout,
} from '../integration/harness.mjs';

export { BIN, T, request, tempDir, withTimeout };
export { cleanup, sleep, sqlite, metrics } from '../integration/harness.mjs';

/** Every error of schema/dashboard.lua: [status, text]. */
export const ERRORS = {
  AUTH_REQUIRED: [401, 'Authentication required'],
  INVALID_REQUEST: [400, 'Invalid request: '],
  INVALID_TICKET: [401, 'Invalid or expired auth ticket'],
  FORBIDDEN: [403, 'fin_session_id is not for this case and user'],
  NOT_FOUND: [404, 'Not found: '],
  VERSION_CONFLICT: [409, 'Version conflict: '],
  INVALID_DASHBOARD: [422, 'Invalid dashboard: '],
  VERSION_REQUIRED: [428, 'Version required: send the version the change is based on (body version or If-Match)'],
  API_KEY_REQUIRED: [401, 'Operator API key required'],
  UNAVAILABLE: [503, 'Service unavailable'],
};

/** r is the error `name` (its status and its text, followed by `detail` when given). */
export function isError(r, name, detail) {
  const [status, text] = ERRORS[name];
  if (r.status !== status) return false;
  if (!r.json || typeof r.json.error !== 'string') return false;
  return detail === undefined ? r.json.error.startsWith(text) : r.json.error === text + detail;
}

export const META = {
  dashboard_types: ['ChatComponent', 'TimelineComponent', 'SquareComponent', 'IFRAMEComponent',
    'WaterfallComponent', 'ButterflyComponent', 'BarchartComponent'],
  layout_types: ['view_standard_3', 'view_tall_3'],
};

/** The document's init_data (seed 000), the chat src on this server's address. */
export function seedInitData(s, caseId = '1') {
  return {
    action: 'init_data',
    meta: META,
    data: {
      dsettings: { layout_type: 'view_standard_3', custom_layout: {} },
      components: [
        { type: 'timeline', id: 'timeline_1', position: 'top_full', component_name: 'TimelineComponent', src: null },
        { type: 'square', id: 'square_1', position: 'bottom_right', component_name: 'SquareComponent', src: null },
        { type: 'chat', id: 'chat_1', position: 'bottom_left', component_name: 'IFRAMEComponent',
          src: `http://127.0.0.1:${s.port}/api/v1/get_chat?case_id=${caseId}` },
      ],
    },
  };
}

/** `serve --no-demo` plus args (opts.dir reuses a DB, opts.demo keeps the demo). */
export async function startDashboard(opts = {}) {
  const s = await startServer({ dir: opts.dir, demo: opts.demo ?? false, args: ['--log-level', 'debug', ...(opts.args || [])], tag: 'dashboard' });
  return s;
}

/** `switchboard apikey add --name N`: the key. */
export function apikey(s, name = `ops${Math.random().toString(36).slice(2, 8)}`) {
  return execFileSync(BIN, ['apikey', 'add', '--name', name, '--db', s.db], { encoding: 'utf8', timeout: T(10000) }).trim().split('\t')[2];
}

/** `switchboard dashboard ARGS` against s: {status, stdout, stderr}. */
export function cli(s, args, key) {
  const r = spawnSync(BIN, ['dashboard', ...args, '--server', s.base, ...(key ? ['--key', key] : [])],
    { encoding: 'utf8', timeout: T(10000), env: { ...process.env, SB_DB: s.db } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const json = (body) => (body === undefined ? {} : { 'Content-Type': 'application/json' });

/** An operator call: method path body (an object is sent as JSON), key (null: none). */
export function op(s, key, method, path, body, headers = {}) {
  const text = body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body));
  return request(s, path, {
    method,
    body: text,
    headers: { ...json(text), ...(key ? { Authorization: `Bearer ${key}` } : {}), ...headers },
  });
}

export async function ticket(s, key, caseId, userId) {
  const r = await op(s, key, 'POST', '/request_for_auth', { case_id: caseId, user_id: userId });
  if (r.status !== 200) throw new Error(`request_for_auth: ${r.status} ${r.text}`);
  return r.json.auth_ticket;
}

export function handshake(s, t, caseId, userId) {
  return op(s, null, 'POST', '/auth_handshake', { auth_ticket: t, case_id: caseId, user_id: userId });
}

/** A fin_session_id for caseId and userId. */
export async function session(s, key, caseId, userId) {
  const r = await handshake(s, await ticket(s, key, caseId, userId), caseId, userId);
  if (r.status !== 200) throw new Error(`auth_handshake: ${r.status} ${r.text}`);
  return r.json.fin_session_id;
}

export const wsPath = (caseId, fin, userId) =>
  `/api/v1/ws?&case_id=${encodeURIComponent(caseId)}&fin_session_id=${encodeURIComponent(fin)}&user_id=${encodeURIComponent(userId)}`;

/** Open a dashboard WebSocket; resolves once its first init_data is in. */
export async function openDashboard(s, caseId, fin, userId, label = `case ${caseId}`) {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}${wsPath(caseId, fin, userId)}`);
  const c = new Client(ws, label);
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), T(5000), `${label}: open`);
  await c.waitFor((m) => m.action === 'init_data', { what: 'init_data on open' });
  return c;
}

/** An upgrade that must be refused: {status, json}. */
export function refusedUpgrade(s, path) {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}${path}`);
    ws.once('open', () => { ws.terminate(); reject(new Error(`${path}: upgraded`)); });
    ws.once('error', () => {});
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let j;
        try { j = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json: j });
      });
    });
  }), T(5000), `refused upgrade ${path}`);
}

export const isAction = (a) => (m) => m.action === a;

/** A valid PUT body: the document's layout, or view_tall_3 with a waterfall. */
export function standardBody(s, version, caseId = '1') {
  return { version, ...seedInitData(s, caseId).data };
}

export function tallBody(version) {
  return {
    version,
    dsettings: { layout_type: 'view_tall_3', custom_layout: {} },
    components: [
      { type: 'waterfall', id: 'waterfall_1', position: 'left_full', component_name: 'WaterfallComponent', src: null },
      { type: 'barchart', id: 'barchart_1', position: 'top_right', component_name: 'BarchartComponent', src: null },
      { type: 'chat', id: 'chat_1', position: 'bottom_right', component_name: 'IFRAMEComponent', src: 'https://example.com/chat' },
    ],
  };
}
