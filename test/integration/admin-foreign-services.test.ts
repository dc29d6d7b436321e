// The admin API lists services published in Go registry layouts beside coord's own, each marked
// with its format: a grpc-go target written by Go's own endpoints.Manager (test/go/endpoints-tool)
// and named in AdminOptions.foreignServices, a Kratos record under /microservices (listed without
// being named), and the grpc-go / go-zero records a coord instance publishes with register({
// formats }) (found through its lease, with the Go instances of the same target). Against a real
// coord store and a real etcd. Own file: foreign keys are outside coord's namespace, so tests
// sharing a server would see each other's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startAdmin, type AdminOptions } from '../../src/admin/index.ts';
import type { ServicesView, ServiceView } from '../../src/admin/api-types.ts';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';
import { http, servers, waitFor, type Server } from './admin-fixture.ts';

const skipGo = requireGo();

for (const server of servers) {
  describe(`admin API lists foreign-format services against ${server.name}`, { skip: server.skip ?? skipGo }, () => {
    let running: Server | undefined;
    let bin: string;
    let n = 0;
    before(async () => {
      [running, bin] = await Promise.all([server.start(), buildGoProgram('endpoints-tool')]);
    });
    after(() => running?.stop());

    const goAdd = async (target: string, addr: string, metadata?: object) =>
      (await promisify(execFile)(bin, ['-endpoint', running!.endpoint, '-mode', 'add', '-target', target, '-addr', addr, ...(metadata ? ['-metadata', JSON.stringify(metadata)] : [])], { timeout: 30_000 })).stdout;

    async function setup(t: TestContext, options: AdminOptions = {}) {
      const ns = `/adm-foreign-${++n}/`;
      const lib = connect({ endpoints: running!.endpoint, namespace: ns });
      const admin = await startAdmin({ endpoints: running!.endpoint, namespace: ns, dashboard: false, instanceMetrics: false, ...options });
      // Foreign keys are outside the namespace: each test removes its own, before the client closes.
      const undo: Array<() => Promise<unknown>> = [];
      t.after(async () => {
        for (const u of undo.reverse()) await u();
        await admin.close();
        await lib.close();
      });
      await waitFor(async () => (await http(admin.url, 'GET', '/api/services')).status === 200, 30_000, 'the namespace watch');
      const services = async () => (await http<ServicesView>(admin.url, 'GET', '/api/services')).body;
      return { ns, lib, admin, services, undo };
    }

    /** A service view with the per-request parts (revisions, times, leases) left out. */
    const shape = (s: ServiceView) => ({
      ...s,
      instances: s.instances.map((i) => ({ id: i.id, endpoints: i.endpoints, version: i.version, zone: i.zone, weight: i.weight, status: i.status, key: i.key, malformed: i.malformed, publishedBy: i.publishedBy })),
    });

    it('a grpc-go target published by Go, a Kratos record, and the foreign records of a coord instance, each with its format', async (t) => {
      const target = `svc/go-echo-${n + 1}`;
      const { lib, admin, services, undo } = await setup(t, { foreignServices: [{ format: 'grpc-go', target }] });
      // Go's endpoints.Manager writes these (one with Metadata, one without, as Go services should).
      await goAdd(target, '127.0.0.1:50051', { version: '1.2.0', zone: 'z1', weight: 3 });
      await goAdd(target, '127.0.0.1:50052');
      await lib.etcd.put(`${target}/bad`, 'not json');
      undo.push(() => lib.etcd.delete(`${target}/`, { prefix: true }));
      // Kratos' exact bytes (test/fixtures/registry-formats/kratos.json), under its default namespace.
      const kratosName = `helloworld-${server.name.replace(' ', '-')}`;
      const kratosKey = `/microservices/${kratosName}/a1b2`;
      await lib.etcd.put(kratosKey, JSON.stringify({ id: 'a1b2', name: kratosName, version: 'v1.0.0', metadata: { zone: 'z1' }, endpoints: ['http://127.0.0.1:8000', 'grpc://127.0.0.1:9000'] }));
      undo.push(() => lib.etcd.delete(kratosKey));
      // A coord instance that also publishes grpc-go and go-zero records, and a Go instance of its target.
      const name = `orders-${n}`;
      const reg = await lib.register({ id: 'o1', name, version: '2.0.0', endpoints: ['grpc://127.0.0.1:7301'] }, { formats: ['grpc-go', 'go-zero'] });
      undo.push(() => reg.deregister());
      await goAdd(name, '127.0.0.1:7302');
      undo.push(() => lib.etcd.delete(`${name}/127.0.0.1:7302`));
      const lease = (await lib.etcd.get(reg.key))!.lease;

      const view = await waitFor(async () => {
        const v = await services();
        return v.services?.length === 5 ? v : undefined;
      }, 30_000, 'five services listed');
      assert.equal(view.foreignError, undefined);
      t.diagnostic(`GET /api/services: ${view.services.map((s) => `${s.name} [${s.format}] ${s.instances.length} instance(s)`).join('; ')}`);
      assert.deepEqual(
        view.services.map((s) => [s.format, s.name, s.prefix]),
        [
          ['coord', name, undefined],
          ['go-zero', name, `${name}/`],
          ['grpc-go', name, `${name}/`],
          ['grpc-go', target, `${target}/`],
          ['kratos', kratosName, `/microservices/${kratosName}/`],
        ],
      );
      const [, goZero, beside, goTarget, kratos] = view.services.map(shape);
      assert.deepEqual(goTarget, {
        name: target, format: 'grpc-go', prefix: `${target}/`, serving: 2, draining: 0, malformed: 1, versions: ['1.2.0'],
        instances: [
          { id: '127.0.0.1:50051', endpoints: ['grpc://127.0.0.1:50051'], version: '1.2.0', zone: 'z1', weight: 3, status: 'serving', key: `${target}/127.0.0.1:50051`, malformed: undefined, publishedBy: undefined },
          { id: '127.0.0.1:50052', endpoints: ['grpc://127.0.0.1:50052'], version: null, zone: null, weight: null, status: 'serving', key: `${target}/127.0.0.1:50052`, malformed: undefined, publishedBy: undefined },
          { id: 'bad', endpoints: [], version: null, zone: null, weight: null, status: 'serving', key: `${target}/bad`, malformed: goTarget.instances[2]?.malformed, publishedBy: undefined },
        ],
      });
      assert.match(goTarget.instances[2]!.malformed!, /^grpc-go record: not JSON \(/);
      assert.deepEqual(kratos.instances, [
        { id: 'a1b2', endpoints: ['http://127.0.0.1:8000', 'grpc://127.0.0.1:9000'], version: 'v1.0.0', zone: 'z1', weight: null, status: 'serving', key: kratosKey, malformed: undefined, publishedBy: undefined },
      ]);
      // coord's instance is the publisher of its grpc-go and go-zero records; Go's instance of the target is listed too.
      assert.deepEqual(
        beside.instances.map((i) => [i.key, i.publishedBy]),
        [
          [`${name}/127.0.0.1:7301`, `${name}/o1`],
          [`${name}/127.0.0.1:7302`, undefined],
        ],
      );
      assert.deepEqual(goZero.instances.map((i) => [i.key, i.id, i.endpoints, i.publishedBy]), [[`${name}/${lease}`, lease, ['grpc://127.0.0.1:7301'], `${name}/o1`]]);

      // One service by name and format; the format defaults to coord's.
      const one = await http(admin.url, 'GET', `/api/services/${encodeURIComponent(target)}?format=grpc-go`);
      assert.equal(one.status, 200, one.text);
      assert.deepEqual([one.body.format, one.body.serving, one.body.malformed], ['grpc-go', 2, 1]);
      assert.equal((await http(admin.url, 'GET', `/api/services/${kratosName}?format=kratos`)).body.instances[0].id, 'a1b2');
      assert.equal((await http(admin.url, 'GET', `/api/services/${name}`)).body.format, 'coord');
      assert.equal((await http(admin.url, 'GET', `/api/services/${kratosName}?format=go-zero`)).status, 404);
      assert.equal((await http(admin.url, 'GET', `/api/services/${name}?format=consul`)).status, 400);

      // Draining takes coord's foreign records away (Go clients do not know draining): so does the listing.
      await reg.setStatus('draining');
      const drained = await waitFor(async () => {
        const v = await services();
        return v.services.find((s) => s.format === 'go-zero') ? undefined : v;
      }, 30_000, 'the go-zero record to leave the listing');
      // The Go instance at the target stays, but nothing ties the target to coord any more.
      assert.deepEqual(drained.services.map((s) => [s.format, s.name]), [
        ['coord', name],
        ['grpc-go', target],
        ['kratos', kratosName],
      ]);
    });

    it('kratosNamespace: false lists no Kratos service; an unknown format is refused at start', async (t) => {
      const { lib, services, undo } = await setup(t, { kratosNamespace: false });
      const key = `/microservices/quiet-${n}/k1`;
      await lib.etcd.put(key, JSON.stringify({ id: 'k1', name: `quiet-${n}`, version: '', metadata: {}, endpoints: ['grpc://127.0.0.1:9001'] }));
      undo.push(() => lib.etcd.delete(key));
      assert.deepEqual((await services()).services, []);
      await assert.rejects(
        startAdmin({ endpoints: running!.endpoint, dashboard: false, foreignServices: [{ format: 'consul' as 'kratos', target: 'x' }] }),
        (e: unknown) => isCoordError(e, 'invalid-argument') && /unknown registry format "consul"/.test((e as Error).message),
      );
    });
  });
}
