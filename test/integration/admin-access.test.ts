// Who may call the admin API: a token whenever the bind is not the default loopback, read-only
// mode, the loopback-only Host check, cross-origin refusal; and what callers get when etcd is
// unreachable (503 naming it, never 500). Against a real coord store and a real etcd.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startAdmin, type AdminOptions } from '../../src/admin/index.ts';
import { connect } from '../../src/index.ts';
import { startStore } from '../../src/store/index.ts';
import { http, servers, waitFor, type Server } from './admin-fixture.ts';

describe('admin API access control', { concurrency: true }, () => {
  let store: Awaited<ReturnType<typeof startStore>> | undefined;
  let n = 0;
  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
  });
  after(() => store?.close());

  async function admin(t: TestContext, options: AdminOptions = {}) {
    const ns = `/acc-t${++n}/`;
    const a = await startAdmin({ endpoints: store!.endpoint, namespace: ns, dashboard: false, ...options });
    t.after(() => a.close());
    return { ...a, ns };
  }

  it('refuses to serve beyond the default loopback without a token', async () => {
    for (const listen of ['127.0.0.2:0', '0.0.0.0:0']) {
      await assert.rejects(startAdmin({ endpoints: store!.endpoint, listen, dashboard: false }), (e: Error) => {
        assert.match(e.message, /give a token \(--token or COORD_ADMIN_TOKEN\)/);
        return true;
      });
    }
    await assert.rejects(startAdmin({ endpoints: store!.endpoint, token: '', dashboard: false }), /must not be empty/);
    await assert.rejects(startAdmin({ endpoints: store!.endpoint, listen: 'nonsense', dashboard: false }), /--listen must be host:port/);
  });

  it('with a token every API call needs it (bound to 127.0.0.2)', async (t) => {
    const a = await admin(t, { listen: '127.0.0.2:0', token: 's3cret' });
    assert.match(a.url, /^http:\/\/127\.0\.0\.2:\d+\/$/);
    const none = await http(a.url, 'GET', '/api/info');
    assert.deepEqual([none.status, none.body.error], [401, 'unauthorized']);
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const wrong = await http(a.url, 'GET', '/api/overview', { headers: { authorization: 'Bearer nope' } });
    assert.deepEqual([wrong.status, wrong.body.message], [401, 'wrong token']);
    const basic = await http(a.url, 'GET', '/api/info', { headers: { authorization: 'Basic czNjcmV0' } });
    assert.equal(basic.status, 401);
    const good = await http(a.url, 'GET', '/api/info', { headers: { authorization: 'Bearer s3cret' } });
    assert.equal(good.status, 200);
    assert.equal(good.body.authRequired, true);
    // The SSE streams too, and changes.
    assert.equal((await http(a.url, 'GET', '/api/events')).status, 401);
    assert.equal((await http(a.url, 'PUT', '/api/config/shop/k', { body: { value: 'x', format: 'text' } })).status, 401);
    const put = await http(a.url, 'PUT', '/api/config/shop/k', { body: { value: 'x', format: 'text' }, headers: { authorization: 'Bearer s3cret' } });
    assert.equal(put.status, 200, put.text);
  });

  it('a token given on loopback is required there too', async (t) => {
    const a = await admin(t, { token: 'tok' });
    assert.equal((await http(a.url, 'GET', '/api/info')).status, 401);
    assert.equal((await http(a.url, 'GET', '/api/info', { headers: { authorization: 'bearer tok' } })).status, 200);
  });

  it('read-only refuses every change with 403 and changes nothing', async (t) => {
    const a = await admin(t, { readOnly: true });
    const lib = connect({ endpoints: store!.endpoint, namespace: a.ns });
    t.after(() => lib.close());
    const reg = await lib.register({ id: 'i1', name: 'svc', endpoints: ['grpc://127.0.0.1:1'] });
    t.after(() => reg.deregister());
    await lib.config.publish('shop', 'k', 'v1', { format: 'text' });
    await lib.config.publishBeta('shop', 'k', 'beta', { format: 'text', selector: { ids: ['i1'] } });
    const info = await http(a.url, 'GET', '/api/info');
    assert.equal(info.body.readOnly, true);
    const calls: Array<[string, string, unknown?]> = [
      ['PATCH', '/api/services/svc/instances/i1', { status: 'draining' }],
      ['PUT', '/api/config/shop/k', { value: 'v2', format: 'text' }],
      ['DELETE', '/api/config/shop/k'],
      ['POST', '/api/config/shop/k/rollback', { version: 1 }],
      ['PUT', '/api/config/shop/k/beta', { value: 'b', format: 'text', selector: { ids: ['x'] } }],
      ['POST', '/api/config/shop/k/beta/promote', {}],
      ['DELETE', '/api/config/shop/k/beta'],
      ['POST', '/api/config/shop/k/validate', { value: 'x', format: 'text' }],
    ];
    for (const [method, path, body] of calls) {
      const r = await http(a.url, method, path, { body });
      assert.deepEqual([r.status, r.body.error], [403, 'read-only'], `${method} ${path}: ${r.text}`);
    }
    assert.equal((await lib.config.get('shop', 'k'))!.raw, 'v1');
    assert.equal((await lib.config.getBeta('shop', 'k'))!.raw, 'beta');
    assert.equal((await lib.instances('svc'))[0].status, 'serving');
    for (const path of ['/api/overview', '/api/services', '/api/config', '/api/config/shop/k', '/api/config/shop/k/history', '/api/coordination', '/api/kv']) {
      assert.equal((await http(a.url, 'GET', path)).status, 200, path);
    }
  });

  it('without a token, answers only requests addressed to loopback, and refuses cross-origin calls', async (t) => {
    const a = await admin(t);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    const rebound = await http(a.url, 'GET', '/api/info', { headers: { host: `evil.example:${a.port}` } });
    assert.deepEqual([rebound.status, rebound.body.error], [403, 'forbidden']);
    assert.equal((await http(a.url, 'GET', '/api/info', { headers: { host: `localhost:${a.port}` } })).status, 200);
    const cross = await http(a.url, 'PUT', '/api/config/shop/k', { body: { value: 'x', format: 'text' }, headers: { origin: 'http://evil.example' } });
    assert.deepEqual([cross.status, cross.body.error], [403, 'forbidden']);
    const same = await http(a.url, 'PUT', '/api/config/shop/k', { body: { value: 'x', format: 'text' }, headers: { origin: a.url.replace(/\/$/, '') } });
    assert.equal(same.status, 200, same.text);
    const form = await http(a.url, 'PUT', '/api/config/shop/k', { body: 'value=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415);
  });

  it('starts without etcd and answers 503 until it can reach it', async (t) => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const a = await startAdmin({ endpoints: `127.0.0.1:${port}`, dashboard: false, requestTimeoutMs: 1000 });
    t.after(() => a.close());
    const r = await http(a.url, 'GET', '/api/overview');
    assert.deepEqual([r.status, r.body.error], [503, 'unavailable']);
    assert.match(r.body.message, new RegExp(`^etcd is unreachable at 127\\.0\\.0\\.1:${port}`));
  });

  it('a taken port is a clear start-up error', async (t) => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    await assert.rejects(startAdmin({ endpoints: store!.endpoint, listen: `127.0.0.1:${port}`, dashboard: false }), new RegExp(`127\\.0\\.0\\.1:${port}: the port is already in use`));
  });
});

for (const server of servers) {
  describe(`admin API when etcd is unreachable (${server.name})`, { skip: server.skip }, () => {
    let running: Server | undefined;
    after(() => running?.stop());

    it('serves the last known state where it has one, and 503 naming etcd for every other call that needs it, never 500', async (t) => {
      running = await server.start();
      const a = await startAdmin({ endpoints: running.endpoint, namespace: '/down/', dashboard: false, requestTimeoutMs: 1500 });
      t.after(() => a.close());
      const lib = connect({ endpoints: running.endpoint, namespace: '/down/' });
      t.after(() => lib.close());
      await lib.config.publish('shop', 'k', 'v', { format: 'text' });
      await waitFor(async () => (await http(a.url, 'GET', '/api/overview')).status === 200, 30_000, 'the overview');
      const stopped = running;
      running = undefined;
      await stopped.stop();
      // The live views were current before the outage: they answer with what they last saw, and say since when.
      const overview = await http(a.url, 'GET', '/api/overview');
      assert.equal(overview.status, 200, overview.text);
      assert.equal(overview.body.watch.connected, false);
      assert.ok(overview.body.watch.lostAt, overview.text);
      assert.equal(overview.body.counts.configKeys, 1);
      for (const path of ['/api/services', '/api/coordination']) assert.equal((await http(a.url, 'GET', path)).status, 200, path);
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/api/config'],
        ['GET', '/api/config/shop/k'],
        ['GET', '/api/config/shop/k/history'],
        ['GET', '/api/kv'],
        ['GET', '/api/kv/value?key=x'],
        ['GET', '/api/kv/watch'],
        ['PUT', '/api/config/shop/k', { value: 'w', format: 'text' }],
        ['PATCH', '/api/services/s/instances/i', { status: 'draining' }],
      ];
      for (const [method, path, body] of calls) {
        const r = await http(a.url, method, path, { body });
        assert.deepEqual([r.status, r.body?.error], [503, 'unavailable'], `${method} ${path}: ${r.text}`);
        assert.ok(r.body.message.startsWith(`etcd is unreachable at ${stopped.endpoint}`), r.body.message);
      }
      // What does not need etcd still works.
      assert.equal((await http(a.url, 'GET', '/api/info')).status, 200);
      assert.deepEqual((await http(a.url, 'POST', '/api/config/shop/k/validate', { body: { value: '{', format: 'json' } })).body.ok, false);
    });
  });
}
