// register({ formats }) publishes an instance for Go clients too: Go's endpoints.Manager lists it
// under `<name>/<host:port>` (same lease as coord's record), a drain takes it out of Go's view
// (Go clients do not know coord's `draining`) and serving brings it back, and deregister removes
// it with the lease. Kratos and go-zero keys go under the same lease. Both backends.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { connect, isCoordError, type Coord, type ForeignKeyConflict } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';
import { until } from '../helpers/coord-fixture.ts';
import { echoHandlers, echoService } from '../helpers/echo.ts';
import { serve } from '../../src/grpc/index.ts';

const skipGo = requireGo();

for (const backend of backends()) {
  describe(`register({ formats }) seen from Go on ${backend.name}`, { skip: backend.skip ?? skipGo }, () => {
    const f = useBackend(backend);
    let bin: string;
    const coords: Coord[] = [];
    before(async () => {
      bin = await buildGoProgram('endpoints-tool');
    });
    after(async () => {
      for (const c of coords) await c.close();
    });
    const goList = async (target: string) => (await promisify(execFile)(bin, ['-endpoint', f.endpoint, '-mode', 'list', '-target', target], { timeout: 30_000 })).stdout;

    it('Go lists the instance; a drain hides it from Go, serving shows it again; deregister removes every key', async () => {
      const c = connect({ endpoints: [f.endpoint], namespace: `/${f.prefix('publish')}` });
      coords.push(c);
      const name = `${f.prefix('publish')}echo`.replace(/\//g, '-');
      const reg = await c.register({ id: 'e-1', name, version: '1.2.0', endpoints: ['grpc://127.0.0.1:7101'], metadata: { zone: 'a' } }, { ttl: 5, formats: ['grpc-go', 'kratos', 'go-zero'] });
      // No Metadata: an object there crashes Go clients of etcd's resolver (see registry-format-grpc-go.ts).
      const fromGo = await goList(name);
      console.log(`${backend.name}: Go endpoints.Manager.List of ${name}: ${fromGo.trimEnd()}`);
      assert.equal(fromGo, `${name}/127.0.0.1:7101 127.0.0.1:7101 null\n`);
      const lease = (await c.etcd.get(reg.key))!.lease;
      const foreign = [`${name}/127.0.0.1:7101`, `/microservices/${name}/e-1`, `${name}/${lease}`];
      for (const key of foreign) assert.equal((await c.etcd.get(key))?.lease, lease, `${key} is under the registration's lease`);
      await reg.setStatus('draining');
      assert.equal(await goList(name), '');
      for (const key of foreign) assert.equal(await c.etcd.get(key), undefined, `${key} is gone while draining`);
      await reg.setStatus('serving');
      assert.match(await goList(name), /127\.0\.0\.1:7101/);
      await reg.deregister();
      assert.equal(await goList(name), '');
      for (const key of foreign) assert.equal(await c.etcd.get(key), undefined);
    });

    it('serve({ formats }) publishes the server for Go clients, and takes it out of their view when it drains', async () => {
      const c = connect({ endpoints: [f.endpoint], namespace: `/${f.prefix('serve')}` });
      coords.push(c);
      const name = `${f.prefix('serve')}echo`.replace(/\//g, '-');
      const { service } = echoService();
      const server = await serve({ coord: c, name, services: [[service, echoHandlers('s-1')]], formats: ['grpc-go'], signals: false, drainDelayMs: 300, graceMs: 100, log: () => {} });
      const listed = await goList(name);
      console.log(`${backend.name}: Go endpoints.Manager.List of serve()'s ${name}: ${listed.trimEnd()}`);
      assert.match(listed, new RegExp(`^${name}/127\\.0\\.0\\.1:\\d+ 127\\.0\\.0\\.1:\\d+ null\n$`), listed);
      const closing = server.close();
      await until(async () => (await goList(name)) === '', 5000, 'gone from the Go view once draining');
      await closing;
    });

    it('two instances publishing the same grpc-go key (same host:port) are detected and logged, on both sides; so is a Go publisher of it', async (t) => {
      const c = connect({ endpoints: [f.endpoint], namespace: `/${f.prefix('dup')}` });
      coords.push(c);
      const name = `${f.prefix('dup')}echo`.replace(/\//g, '-');
      const logs: string[] = [];
      const log = (line: string) => logs.push(line);
      const conflicts: ForeignKeyConflict[] = [];
      const addr = '127.0.0.1:7201';
      const key = `${name}/${addr}`;
      const r1 = await c.register({ id: 'e-1', name, endpoints: [`grpc://${addr}`] }, { ttl: 5, formats: ['grpc-go'], log });
      // (e-2's own report may come before a listener added after register() returns: conflicts() has it.)
      r1.onConflict((x) => conflicts.push(x));
      assert.deepEqual(logs.filter((l) => /published by two instances/.test(l)), [], 'no conflict while one instance publishes the key');
      // A second process: instances of one client share its lease, so the two must be two clients.
      const c2 = connect({ endpoints: [f.endpoint], namespace: c.namespace });
      coords.push(c2);
      const r2 = await c2.register({ id: 'e-2', name, endpoints: [`grpc://${addr}`] }, { ttl: 5, formats: ['grpc-go'], log });
      const lease1 = BigInt((await c.etcd.get(r1.key))!.lease).toString(16);
      const lease2 = BigInt((await c.etcd.get(r2.key))!.lease).toString(16);
      const line2 = await until(() => logs.find((l) => l.includes('e-2 (lease')) ?? '', 5000, 'the second instance to log the conflict');
      assert.equal(
        line2,
        `registry: grpc-go key ${key} is published by two instances: coord instance ${name}/e-1 (lease ${lease1}) and ${name}/e-2 (lease ${lease2}), which wrote it now; Go clients see one endpoint, removed when the lease of whichever wrote it last ends`,
      );
      assert.deepEqual(
        r2.conflicts().map((x) => [x.format, x.key, x.lease, x.otherLease, x.otherInstance]),
        [['grpc-go', key, lease2, lease1, `${name}/e-1`]],
      );
      // The key now follows e-2's lease; e-1's next write takes it back and reports e-2.
      await r1.setMetadata({ zone: 'b' });
      const line1 = await until(() => logs.find((l) => l.includes(`and ${name}/e-1 (lease`)) ?? '', 5000, 'the first instance to log the conflict');
      assert.match(line1, new RegExp(`coord instance ${name}/e-2 \\(lease ${lease2}\\) and ${name}/e-1 \\(lease ${lease1}\\)`));
      assert.deepEqual(
        conflicts.map((x) => [x.format, x.key, x.lease, x.otherLease, x.otherInstance]),
        [['grpc-go', key, lease1, lease2, `${name}/e-2`]],
      );
      assert.deepEqual(r1.conflicts(), conflicts);
      // Reported once per key and other lease, not on every write.
      await r1.setMetadata({ zone: 'c' });
      assert.equal(logs.filter((l) => /published by two instances/.test(l)).length, 2);
      await r1.deregister();
      await r2.deregister();

      // A Go publisher (endpoints.Manager, no lease) holds the key when coord registers the same address.
      const goAddr = '127.0.0.1:7202';
      await promisify(execFile)(bin, ['-endpoint', f.endpoint, '-mode', 'add', '-target', name, '-addr', goAddr], { timeout: 30_000 });
      const r3 = await c.register({ id: 'e-3', name, endpoints: [`grpc://${goAddr}`] }, { ttl: 5, formats: ['grpc-go'], log });
      t.after(() => r3.deregister());
      const line3 = await until(() => logs.find((l) => l.includes(`${name}/${goAddr}`)) ?? '', 5000, 'the conflict with the Go publisher to be logged');
      assert.match(line3, new RegExp(`^registry: grpc-go key ${name}/${goAddr} is published by two instances: another publisher \\(no lease\\) and ${name}/e-3 \\(lease [0-9a-f]+\\)`));
      t.diagnostic(line2);
      t.diagnostic(line1);
      t.diagnostic(line3);
    });

    it('an unknown format is an invalid-argument error at register()', async () => {
      const c = connect({ endpoints: [f.endpoint], namespace: `/${f.prefix('bad-format')}` });
      coords.push(c);
      await assert.rejects(
        c.register({ id: 'x', name: 'x', endpoints: ['grpc://127.0.0.1:1'] }, { formats: ['consul' as 'kratos'] }),
        (e: unknown) => isCoordError(e, 'invalid-argument') && /unknown registry format "consul"/.test((e as Error).message),
      );
    });
  });
}
