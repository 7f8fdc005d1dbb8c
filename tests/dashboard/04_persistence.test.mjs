// 04_persistence: what the operator API set survives a restart (a SIGTERM,
// and a SIGKILL right after the answers: answered means committed): the
// dashboard and its version, component data, views, the chat room link,
// and the fin sessions (an open page reconnects with the one it has).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDashboard, cleanup, apikey, op, session, openDashboard, isAction, request, tallBody, tempDir,
} from './dh.mjs';

after(cleanup);

for (const signal of ['SIGTERM', 'SIGKILL']) {
  test(`everything set survives a restart after ${signal}`, async () => {
    const dir = tempDir('dash-persist');
    let s = await startDashboard({ dir });
    const key = apikey(s);
    const fin = await session(s, key, '9', 'u1');
    const tab = await openDashboard(s, '9', fin, 'u1');
    assert.equal((await op(s, key, 'PUT', '/api/v1/cases/9/dashboard', tallBody(0))).status, 200);
    assert.equal((await op(s, key, 'POST', '/api/v1/cases/9/components/chat_1/iframe', { iframe_source: 'https://example.com/after' })).status, 200);
    assert.equal((await op(s, key, 'PUT', '/api/v1/cases/9/components/barchart_1/data', { bars: [{ label: 'a', value: 1 }] })).status, 200);
    assert.equal((await op(s, key, 'PUT', '/api/v1/cases/9/views/faq', { title: 'F', items: [] })).status, 200);
    await tab.waitFor(isAction('request_iframe_url'));
    await s.stop(signal);
    await tab.waitClose();

    s = await startDashboard({ dir });
    const got = await op(s, key, 'GET', '/api/v1/cases/9/dashboard');
    assert.equal(got.json.version, 2);
    const want = tallBody(2).components.map((c) => (c.id === 'chat_1' ? { ...c, src: 'https://example.com/after' } : c));
    assert.deepEqual(got.json.components, want);
    // the page's fin_session_id still opens the dashboard, which shows the current state
    const again = await openDashboard(s, '9', fin, 'u1', 'after restart');
    assert.deepEqual(again.messages[0].data.components, want);
    const q = `case_id=9&fin_session_id=${fin}`;
    assert.deepEqual((await request(s, `/api/v1/components/barchart_1?${q}`)).json, { bars: [{ label: 'a', value: 1 }] });
    assert.deepEqual((await request(s, `/api/v1/views/faq?${q}`)).json, { title: 'F', items: [] });
    again.close();
    await s.stop();
  });
}
