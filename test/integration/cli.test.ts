// `coord …` run as a real process (node bin/coord.js) against coord store run as its own process
// and against a real etcd, with the same assertions: what a user sees on stdout and stderr, and
// the exit code. State is set up and checked through the library where the CLI is not under test.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { z } from 'zod';
import { connect, type Coord } from '../../src/index.ts';
import { killAllCli, runCli, startCli, type CliChild, type CliResult } from '../helpers/cli-process.ts';
import { until } from '../helpers/coord-fixture.ts';
import { compare, op } from '../../src/client/etcd-client.ts';
import { requireEtcd, startEtcd } from '../helpers/etcd-process.ts';
import { makeTempDir, removeTempDir, startStoreProcess } from '../helpers/store-process.ts';

interface Server {
  endpoint: string;
  stop(): Promise<void>;
}

const servers: { name: string; skip: string | undefined; start(): Promise<Server> }[] = [
  {
    name: 'coord store',
    skip: undefined,
    async start() {
      const store = await startStoreProcess(['--memory', '--listen', '127.0.0.1:0']);
      return { endpoint: store.endpoint, stop: async () => void (await store.kill('SIGKILL')) };
    },
  },
  {
    name: 'etcd',
    skip: requireEtcd(),
    async start() {
      const etcd = await startEtcd();
      return { endpoint: etcd.endpoint, stop: () => etcd.stop() };
    },
  },
];

/** A table printed by the CLI as rows of cells (columns are separated by two or more spaces). */
const cells = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.trimEnd().split(/ {2,}/));

const lines = (stdout: string) => stdout.split('\n').filter((l) => l !== '');

/** Exit 0, nothing on stderr; returns stdout. */
function ok(r: CliResult): string {
  assert.equal(r.stderr, '', `stderr of a successful command:\n${r.stderr}`);
  assert.equal(r.code, 0, `exit code (stdout: ${r.stdout})`);
  return r.stdout;
}

/** One test's view of a server: its own namespace, `coord …` with the connection flags, library clients. */
interface Ctx {
  /** The test's namespace, also the key prefix its raw kv commands use. */
  ns: string;
  /** Runs `coord ARGS` to completion with --endpoints and --namespace (before any `--`). */
  coord(...args: string[]): Promise<CliResult>;
  /** Starts a long-running `coord ARGS`; killed when the test ends. */
  start(...args: string[]): CliChild;
  /** A library client in the test's namespace; closed when the test ends. */
  lib: Coord;
  /** A temp dir removed when the test ends. */
  dir(): string;
}

for (const server of servers) {
  // Tests run concurrently, each in its own namespace: a CLI run is mostly process start-up.
  describe(`coord CLI against ${server.name}`, { skip: server.skip, concurrency: true }, () => {
    let running: Server | undefined;
    let tests = 0;

    before(async () => {
      running = await server.start();
    });
    after(async () => {
      await killAllCli();
      await running?.stop();
    });

    function ctx(t: TestContext): Ctx {
      const ns = `/cli-t${++tests}/`;
      const children: CliChild[] = [];
      const dirs: string[] = [];
      const withConn = (args: string[]) => {
        const conn = ['--endpoints', running!.endpoint, '--namespace', ns];
        const i = args.indexOf('--');
        return i < 0 ? [...args, ...conn] : [...args.slice(0, i), ...conn, ...args.slice(i)];
      };
      const lib = connect({ endpoints: running!.endpoint, namespace: ns });
      t.after(async () => {
        await Promise.all(children.map((c) => c.kill()));
        lib.close();
        dirs.forEach(removeTempDir);
      });
      const start = (...args: string[]) => {
        const c = startCli(withConn(args));
        children.push(c);
        return c;
      };
      return {
        ns,
        coord: (...args) => start(...args).exit(),
        start,
        lib,
        dir: () => {
          dirs.push(makeTempDir('coord-cli-'));
          return dirs[dirs.length - 1];
        },
      };
    }

    it('kv put/get/del print a table or JSON', async (t) => {
      const { ns: p, coord, lib } = ctx(t);
      const put1 = ok(await coord('kv', 'put', `${p}a`, '1'));
      const r1 = Number(/^OK \(revision (\d+)\)\n$/.exec(put1)?.[1]);
      assert.ok(r1 > 0, put1);
      const { revision: r2 } = JSON.parse(ok(await coord('kv', 'put', `${p}b`, '2', '--json'))) as { revision: number };
      assert.ok(r2 > r1);
      const lease = await lib.etcd.leaseGrant(30);
      const leaseHex = BigInt(lease.id).toString(16);
      const r3 = Number(/^OK \(revision (\d+)\)\n$/.exec(ok(await coord('kv', 'put', `${p}c`, 'leased', '--lease', leaseHex)))?.[1]);
      assert.ok(r3 > r2);

      const [table, json, missing] = await Promise.all([coord('kv', 'get', p, '--prefix'), coord('kv', 'get', p, '--prefix', '--json'), coord('kv', 'get', `${p}zz`)]);
      assert.deepEqual(cells(ok(table)), [
        ['KEY', 'VALUE', 'MOD REV', 'VERSION', 'LEASE'],
        [`${p}a`, '1', String(r1), '1', '-'],
        [`${p}b`, '2', String(r2), '1', '-'],
        [`${p}c`, 'leased', String(r3), '1', leaseHex],
      ]);
      const got = JSON.parse(ok(json));
      assert.ok(got.revision >= r3);
      assert.deepEqual(got.kvs, [
        { key: `${p}a`, value: '1', createRevision: r1, modRevision: r1, version: 1, lease: '0' },
        { key: `${p}b`, value: '2', createRevision: r2, modRevision: r2, version: 1, lease: '0' },
        { key: `${p}c`, value: 'leased', createRevision: r3, modRevision: r3, version: 1, lease: lease.id },
      ]);
      assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '', `coord: no key named ${p}zz\n`]);

      assert.equal(ok(await coord('kv', 'del', `${p}a`)), 'deleted 1\n');
      const del = JSON.parse(ok(await coord('kv', 'del', p, '--prefix', '--json')));
      assert.deepEqual(del, { revision: del.revision, deleted: 2 });
      assert.ok(del.revision > r3);
      assert.equal((await lib.etcd.range(p, { prefix: true, countOnly: true })).count, 0);
    });

    it('kv watch --prefix prints every change until SIGINT', async (t) => {
      const { ns: p, start, lib } = ctx(t);
      const w = start('kv', 'watch', p, '--prefix');
      // The watch is live once a write made after it started shows up.
      await until(async () => {
        await lib.etcd.put(`${p}0-ready`, 'x');
        return w.stdout.includes(`PUT ${p}0-ready = x`);
      }, 30_000, 'the watch to start');
      const ra = (await lib.etcd.put(`${p}a`, '1')).revision;
      const rb = (await lib.etcd.put(`${p}b`, 'two words')).revision;
      const rd = (await lib.etcd.delete(`${p}a`)).revision;
      await lib.etcd.put(`/not${p}`, 'not watched');
      const expected = [`PUT ${p}a = 1 (revision ${ra})`, `PUT ${p}b = two words (revision ${rb})`, `DELETE ${p}a (revision ${rd})`];
      const out = await w.printed((s) => s.includes(expected[2]));
      assert.deepEqual(lines(out).filter((l) => !l.includes('0-ready')), expected);
      const r = await w.interrupt('SIGINT');
      assert.deepEqual([r.code, r.stderr], [0, '']);
    });

    it('services lists what the library registered; --watch prints each new instance set', async (t) => {
      const { coord, start, lib } = ctx(t);
      const a1 = { id: 'a1', name: 'api', version: '1.2.0', endpoints: ['grpc://127.0.0.1:5001'], metadata: { zone: 'z1', weight: 10 } };
      const a2 = { id: 'a2', name: 'api', endpoints: ['grpc://127.0.0.1:5002', 'http://127.0.0.1:8002'] };
      const regs = await Promise.all([lib.register(a1), lib.register(a2), lib.register({ id: 'w1', name: 'web', endpoints: ['http://127.0.0.1:8080'] })]);
      t.after(() => Promise.all(regs.map((r) => r.deregister())));
      const [all, allJson, api, apiJson] = await Promise.all([coord('services'), coord('services', '--json'), coord('services', 'api'), coord('services', 'api', '--json')]);
      assert.deepEqual(cells(ok(all)), [['SERVICE', 'INSTANCES'], ['api', '2'], ['web', '1']]);
      assert.deepEqual(JSON.parse(ok(allJson)), { api: 2, web: 1 });
      const header = ['SERVICE', 'ID', 'VERSION', 'STATUS', 'ENDPOINTS', 'METADATA'];
      const rowA1 = ['api', 'a1', '1.2.0', 'serving', 'grpc://127.0.0.1:5001', 'zone=z1,weight=10'];
      const rowA2 = ['api', 'a2', '-', 'serving', 'grpc://127.0.0.1:5002,http://127.0.0.1:8002', '-'];
      assert.deepEqual(cells(ok(api)), [header, rowA1, rowA2]);
      assert.deepEqual(JSON.parse(ok(apiJson)), [
        { ...a1, status: 'serving' },
        { ...a2, status: 'serving' },
      ]);

      const w = start('services', 'api', '--watch');
      await w.printed((s) => /\ba2\b.*\n/.test(s));
      regs.push(await lib.register({ id: 'a3', name: 'api', endpoints: ['grpc://127.0.0.1:5003'], status: 'draining' }));
      const out = await w.printed((s) => /\ba3\b.*\n/.test(s));
      // One block per snapshot: `--- revision N` and a table. (A loaded machine may add a stale/fresh pair.)
      const blocks = out.split(/^--- /m).filter(Boolean);
      const [first, last] = [blocks[0], blocks[blocks.length - 1]];
      assert.ok(Number(/^revision (\d+)/.exec(last)?.[1]) > Number(/^revision (\d+)\n/.exec(first)?.[1]), out);
      assert.deepEqual(cells(first.slice(first.indexOf('\n') + 1)), [header, rowA1, rowA2]);
      assert.deepEqual(cells(last.slice(last.indexOf('\n') + 1)), [header, rowA1, rowA2, ['api', 'a3', '-', 'draining', 'grpc://127.0.0.1:5003', '-']]);
      const r = await w.interrupt('SIGINT');
      assert.deepEqual([r.code, r.stderr], [0, '']);
    });

    it('config publish/get/history/diff/rollback/watch, with --file and --expect-version', async (t) => {
      const { coord, start, lib, dir } = ctx(t);
      const file = join(dir(), 'db.json');
      const v1 = '{\n  "pool": 10\n}\n';
      writeFileSync(file, v1);
      const pub1 = ok(await coord('config', 'publish', 'shop/db.json', '--file', file, '--author', 'ana', '--message', 'init'));
      const rev1 = Number(/^published shop\/db\.json version 1 as json \(revision (\d+)\)\n$/.exec(pub1)?.[1]);
      assert.ok(rev1 > 0, pub1);
      const [raw, json] = await Promise.all([coord('config', 'get', 'shop/db.json'), coord('config', 'get', 'shop/db.json', '--json')]);
      assert.equal(ok(raw), v1);
      const got = JSON.parse(ok(json));
      assert.match(got.publishedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(got, { version: 1, revision: rev1, format: 'json', author: 'ana', message: 'init', publishedAt: got.publishedAt, value: { pool: 10 } });

      const v2 = '{\n  "pool": 20\n}';
      assert.match(ok(await coord('config', 'publish', 'shop/db.json', v2, '--format', 'json', '--expect-version', '1', '--author', 'bob', '--message', 'bigger')), /^published shop\/db\.json version 2 as json \(revision \d+\)\n$/);
      const conflict = await coord('config', 'publish', 'shop/db.json', '{"pool": 30}', '--format', 'json', '--expect-version', '1', '--author', 'eve');
      assert.deepEqual([conflict.code, conflict.stdout, conflict.stderr], [1, '', 'coord: config shop/db.json: expected version 1, but the current version is 2\n']);

      const [history, historyJson, diff] = await Promise.all([coord('config', 'history', 'shop/db.json'), coord('config', 'history', 'shop/db.json', '--json'), coord('config', 'diff', 'shop/db.json', '1', '2')]);
      assert.deepEqual(cells(ok(history)), [['VERSION', 'FORMAT', 'PUBLISHED', 'AUTHOR', 'MESSAGE'], ['2', 'json', JSON.parse(historyJson.stdout)[0].publishedAt, 'bob', 'bigger'], ['1', 'json', got.publishedAt, 'ana', 'init']]);
      assert.deepEqual(JSON.parse(ok(historyJson)).map((v: { version: number; raw: string; author: string }) => [v.version, v.raw, v.author]), [[2, v2, 'bob'], [1, v1, 'ana']]);
      assert.equal(ok(diff), ' {\n-  "pool": 10\n+  "pool": 20\n }\n');

      assert.equal(ok(await coord('config', 'rollback', 'shop/db.json', '1', '--author', 'carol')), 'rolled shop/db.json back to version 1: now version 3\n');
      const w = start('config', 'watch', 'shop/db.json');
      // The current value first (the rolled-back text), then every new version.
      await w.printed((s) => s.includes('\n}\n'));
      await lib.config.publish('shop', 'db.json', '{"pool": 40}', { format: 'json', author: 'dave', message: 'more' });
      const out = await w.printed((s) => s.includes('{"pool": 40}\n'));
      assert.equal(out, `--- version 3 (carol: rollback to v1)\n${v1}\n--- version 4 (dave: more)\n{"pool": 40}\n`);
      const r = await w.interrupt('SIGINT');
      assert.deepEqual([r.code, r.stderr], [0, '']);
    });

    it('config publish: JSON-looking input is published as JSON and checked against the shared schema; history shows the format', async (t) => {
      const { ns, coord, lib } = ctx(t);
      const greet = lib.config.typed('app', 'greet', z.object({ greeting: z.string() }));
      await greet.shareSchema();
      const pub = ok(await coord('config', 'publish', 'app/greet', '{"greeting":"Hello"}'));
      const rev = Number(/^published app\/greet version 1 as json \(revision (\d+)\)\n$/.exec(pub)?.[1]);
      assert.ok(rev > 0, pub);
      assert.deepEqual((await greet.get())?.value, { greeting: 'Hello' }, 'a typed subscriber reads an object');

      const schemaAt = `config app/greet: invalid value (checked against the schema shared at ${ns}config-schema/app/greet)`;
      const [text, forcedText, wrongField, broken] = await Promise.all([
        coord('config', 'publish', 'app/greet', 'Hello'),
        coord('config', 'publish', 'app/greet', '{"greeting":"Hi"}', '--format', 'text'),
        coord('config', 'publish', 'app/greet', '{"greting":"Hi"}'),
        coord('config', 'publish', 'app/greet', '{"greeting":'),
      ]);
      const textError = `coord: ${schemaAt}: (root): Invalid input: expected object, received string (the value was given as text; JSON or YAML needs its format)\n`;
      assert.deepEqual([text.code, text.stdout, text.stderr], [1, '', textError]);
      assert.deepEqual([forcedText.code, forcedText.stdout, forcedText.stderr], [1, '', textError]);
      assert.deepEqual([wrongField.code, wrongField.stdout, wrongField.stderr], [1, '', `coord: ${schemaAt}: greeting: Invalid input: expected string, received undefined\n`]);
      assert.deepEqual(
        [broken.code, broken.stdout, broken.stderr],
        [2, '', `coord: the value looks like JSON but does not parse (${jsonError('{"greeting":')}); pass --format text to publish it as text\n`],
      );

      // Without a shared schema, plain words are text and a JSON array is JSON.
      ok(await coord('config', 'publish', 'app/motd', 'Hello there', '--author', 'ana'));
      ok(await coord('config', 'publish', 'app/motd', '[1, 2]', '--author', 'ana'));
      const history = await coord('config', 'history', 'app/motd', '--json');
      const [v2, v1] = JSON.parse(ok(history)) as { publishedAt: string }[];
      assert.deepEqual(cells(ok(await coord('config', 'history', 'app/motd'))), [
        ['VERSION', 'FORMAT', 'PUBLISHED', 'AUTHOR', 'MESSAGE'],
        ['2', 'json', v2.publishedAt, 'ana'],
        ['1', 'text', v1.publishedAt, 'ana'],
      ]);
      assert.deepEqual((await lib.config.get('app', 'motd'))?.value, [1, 2]);
    });

    it('locks lists holder and waiters with instance, lease and fencing token; the environment gives the connection', async (t) => {
      const { ns, coord, lib } = ctx(t);
      const reg = await lib.register({ id: 'a1', name: 'api', endpoints: ['grpc://127.0.0.1:5001'] });
      t.after(() => reg.deregister());
      // A holder sharing its registration's lease, as a Go service holding one concurrency.Session
      // for its registry key and its mutex does: the lock key is <prefix>/<lease-hex>.
      const lease = (await lib.etcd.get(`${ns}services/api/a1`))!.lease;
      const holderKey = `${ns}locks/jobs/${BigInt(lease).toString(16)}`;
      await lib.etcd.txn({ compare: [compare.createRevision(holderKey, '=', 0)], success: [op.put(holderKey, '', { lease })] });
      const [w1, w2, w3] = [0, 1, 2].map(() => connect({ endpoints: lib.etcd.endpoints, namespace: ns }));
      t.after(() => Promise.all([w1, w2, w3].map((c) => c.close())));
      const waiting1 = w1.lock('jobs');
      await until(async () => (await lib.etcd.range(`${ns}locks/jobs/`, { prefix: true, countOnly: true })).count === 2, 30_000, 'the first waiter');
      const waiting2 = w2.lock('jobs', { value: 'worker-7' });
      await until(async () => (await lib.etcd.range(`${ns}locks/jobs/`, { prefix: true, countOnly: true })).count === 3, 30_000, 'the second waiter');
      const nightly = await w3.lock('jobs/nightly');

      const keys = (await lib.etcd.range(`${ns}locks/jobs/`, { prefix: true, sort: { target: 'create', order: 'ascend' } })).kvs.filter((k) => !k.key.includes('/nightly/'));
      const [h, a, b] = keys.map((k) => ({ lease: k.key.split('/').pop()!, token: String(k.createRevision) }));
      const nightlyLease = nightly.key.split('/').pop()!;
      const env = { COORD_ENDPOINTS: lib.etcd.endpoints.join(','), COORD_NAMESPACE: ns };
      const [all, one, json] = await Promise.all([runCli(['locks'], 30_000, env), runCli(['locks', 'jobs'], 30_000, env), runCli(['locks', 'jobs', '--json'], 30_000, env)]);
      const header = ['LOCK', 'STATE', 'INSTANCE', 'LEASE', 'FENCING TOKEN'];
      const jobs = [
        ['jobs', 'holds', 'api/a1', h.lease, h.token],
        ['jobs', 'waits (1)', '-', a.lease, a.token],
        ['jobs', 'waits (2)', 'worker-7', b.lease, b.token],
      ];
      assert.deepEqual(cells(ok(all)), [header, ...jobs, ['jobs/nightly', 'holds', '-', nightlyLease, String(nightly.fencingToken)]]);
      assert.deepEqual(cells(ok(one)), [header, ...jobs]);
      const got = JSON.parse(ok(json));
      const entry = (k: { lease: string; token: string }, instance: string | null) => ({ key: `${ns}locks/jobs/${k.lease}`, lease: k.lease, instance, createRevision: Number(k.token), fencingToken: Number(k.token) });
      assert.deepEqual(got, { revision: got.revision, locks: [{ name: 'jobs', holder: entry(h, 'api/a1'), waiters: [entry(a, null), entry(b, 'worker-7')] }] });
      assert.deepEqual([(await coord('locks', 'none')).stdout], ['lock none is not held\n']);

      await nightly.release();
      await lib.etcd.delete(holderKey);
      await (await waiting1).release();
      await (await waiting2).release();
    });

    it('lock runs the command holding the lock, with COORD_LOCK_KEY and COORD_FENCING_TOKEN, and passes on its exit code', async (t) => {
      const { ns: p, start, lib, dir } = ctx(t);
      const d = dir();
      const script = 'echo "$COORD_LOCK_KEY $COORD_FENCING_TOKEN" > "$1/held.tmp" && mv "$1/held.tmp" "$1/held"; while [ ! -e "$1/go" ]; do sleep 0.02; done; echo done; exit 7';
      const child = start('lock', 'jobs', '--', 'sh', '-c', script, 'sh', d);
      await until(() => existsSync(join(d, 'held')), 30_000, 'the command to run');
      const [key, token] = readFileSync(join(d, 'held'), 'utf8').trim().split(' ');
      assert.match(key, new RegExp(`^${p}locks/jobs/[0-9a-f]+$`));
      const kv = await lib.etcd.get(key);
      assert.ok(kv, 'the lock key exists while the command runs');
      assert.equal(kv.createRevision, Number(token));
      assert.equal(BigInt(kv.lease).toString(16), key.split('/').pop());
      assert.equal(kv.value.toString(), '');
      writeFileSync(join(d, 'go'), '');
      const r = await child.exit();
      assert.deepEqual([r.code, r.stdout, r.stderr], [7, 'done\n', '']);
      assert.equal((await lib.etcd.range(`${p}locks/jobs/`, { prefix: true, countOnly: true })).count, 0, 'released');
    });

    it('two concurrent lock commands never overlap', async (t) => {
      const { ns: p, start, lib, dir } = ctx(t);
      const d = dir();
      // Each holder waits for `go`, so the other one is queued while the first still holds the lock.
      const script = 'echo "start $COORD_FENCING_TOKEN" >> "$1/log"; while [ ! -e "$1/go" ]; do sleep 0.02; done; sleep 0.1; echo "end $COORD_FENCING_TOKEN" >> "$1/log"';
      const runs = [start('lock', 'jobs', '--', 'sh', '-c', script, 'sh', d), start('lock', 'jobs', '--', 'sh', '-c', script, 'sh', d)];
      await until(async () => (await lib.etcd.range(`${p}locks/jobs/`, { prefix: true, countOnly: true })).count === 2, 30_000, 'both to queue');
      await until(() => existsSync(join(d, 'log')), 10_000, 'the first holder to start');
      writeFileSync(join(d, 'go'), '');
      for (const r of await Promise.all(runs.map((x) => x.exit()))) assert.deepEqual([r.code, r.stderr], [0, '']);
      const entries = lines(readFileSync(join(d, 'log'), 'utf8')).map((l) => l.split(' '));
      const [first, second] = [entries[0]?.[1], entries[2]?.[1]];
      assert.deepEqual(entries, [['start', first], ['end', first], ['start', second], ['end', second]]);
      assert.ok(Number(second) > Number(first), 'fencing tokens increase');
    });

    it('elect holds leadership until SIGINT; a second candidate waits; --observe prints each leader', async (t) => {
      const { ns: p, start, lib } = ctx(t);
      const elected = /^elected leader of boss \(key (\S+), token (\d+)\); Ctrl-C resigns\n$/;
      const e1 = start('elect', 'boss', 'v1');
      const [, k1, t1] = elected.exec(await e1.printed((s) => elected.test(s), 30_000))!;
      assert.match(k1, new RegExp(`^${p}elections/boss/[0-9a-f]+$`));
      assert.equal((await lib.etcd.get(k1))?.value.toString(), 'v1');

      const obs = start('elect', '--observe', 'boss');
      const e2 = start('elect', 'boss', 'v2');
      await obs.printed((s) => s.includes(`v1 (key ${k1}, token ${t1})\n`), 30_000);
      await until(async () => (await lib.etcd.range(`${p}elections/boss/`, { prefix: true, countOnly: true })).count === 2, 30_000, 'the second candidate');
      assert.equal(e2.stdout, '', 'the second candidate is not elected while the first leads');

      const r1 = await e1.interrupt('SIGINT');
      assert.deepEqual([r1.code, r1.stderr], [0, '']);
      // Resigning deletes the leader key at once: no waiting for its lease to expire.
      const [, k2, t2] = elected.exec(await e2.printed((s) => elected.test(s), 8000))!;
      assert.ok(Number(t2) > Number(t1));
      await obs.printed((s) => s.includes(`v2 (key ${k2}, token ${t2})\n`));
      const r2 = await e2.interrupt('SIGINT');
      assert.deepEqual([r2.code, r2.stderr], [0, '']);
      await obs.printed((s) => s.includes('(no leader)\n'));
      const ro = await obs.interrupt('SIGINT');
      assert.deepEqual([ro.code, ro.stderr], [0, '']);
      assert.deepEqual(lines(ro.stdout), [`v1 (key ${k1}, token ${t1})`, `v2 (key ${k2}, token ${t2})`, '(no leader)']);
    });
  });
}

describe('coord CLI errors', () => {
  after(killAllCli);
  const unreachable = ['--endpoints', '127.0.0.1:1', '--timeout', '1000'];

  it('an unreachable etcd: exit 1 and one line naming the endpoint', async () => {
    const commands = [['kv', 'get', 'k'], ['services', 'api'], ['kv', 'watch', 'k'], ['lock', 'x', ...unreachable, '--', 'true']];
    const results = await Promise.all(commands.map((cmd) => runCli(cmd.includes('--') ? cmd : [...cmd, ...unreachable])));
    results.forEach((r, i) => {
      const what = commands[i].join(' ');
      assert.equal(r.code, 1, `${what}: exit code`);
      assert.equal(r.stdout, '', `${what}: stdout`);
      assert.equal(r.stderr, 'coord: cannot reach etcd at 127.0.0.1:1 (connection refused)\n', `${what}: stderr`);
    });
  });

  it('bad arguments: exit 2 and one clear line', async () => {
    const cases: [string[], string][] = [
      [['config', 'get', 'noslash'], "coord: config path must be <namespace>/<key>, got 'noslash'"],
      [['lock', 'x'], 'coord: give the command to run after --, e.g. coord lock jobs -- ./run.sh'],
      [['kv', 'get', 'k', '--timeout', 'abc'], "coord: --timeout must be a positive integer, got 'abc'"],
      [['services', '--watch'], 'coord: --watch needs a service name'],
      [['kv', 'get', 'k', '--endpoints', 'not-a-host:xx'], "coord: --endpoints: 'not-a-host:xx' is not host:port (the port must be a number from 1 to 65535)"],
      [['locks', '--endpoints', '127.0.0.1:2379,'], "coord: --endpoints: '127.0.0.1:2379,' has an empty endpoint"],
      [['config', 'get', 'a/b', '--endpoints', 'http://bad host:2379'], "coord: --endpoints: 'http://bad host:2379' is not host:port ('bad host' is not a host name or IP address)"],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args.includes('--endpoints') ? args : [...args, '--endpoints', '127.0.0.1:1'])));
    results.forEach((r, i) => assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `${cases[i][1]}\n`], cases[i][0].join(' ')));
    // commander's own checks exit 2 as well (followed by the command's help)
    const missing = await runCli(['config', 'get']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: missing required argument 'namespace\/key'\n/);
  });
});

describe('coord CLI without etcd', () => {
  after(killAllCli);

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) assert.deepEqual(await runCli([flag]), { code: 0, signal: null, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('--help lists the environment variables; a command names the one behind each flag', async () => {
    const help = ok(await runCli(['--help']));
    const env = help.slice(help.indexOf('\nEnvironment'));
    assert.deepEqual(lines(env).slice(0, 3), ['Environment (a flag given on the command line wins):', '  COORD_ENDPOINTS       etcd endpoints (--endpoints), default 127.0.0.1:2379', '  COORD_NAMESPACE       key prefix (--namespace), default /coord/']);
    // Every COORD_ variable the CLI reads is listed.
    const read = new Set<string>();
    for (const f of ['common.ts', 'dashboard-command.ts', 'gateway-command.ts', 'dev-command.ts', 'demo-state.ts']) {
      for (const m of readFileSync(new URL(`../../src/cli/${f}`, import.meta.url), 'utf8').matchAll(/COORD_[A-Z_]+/g)) read.add(m[0]);
    }
    read.delete('COORD_LOCK_KEY'); // given to the command coord lock runs, not read
    read.delete('COORD_FENCING_TOKEN');
    assert.deepEqual([...read].filter((v) => !env.includes(`  ${v} `)), []);
    const kvHelp = ok(await runCli(['kv', 'get', '--help']));
    assert.ok(kvHelp.replace(/\s+/g, ' ').includes('(default: "127.0.0.1:2379", env: COORD_ENDPOINTS)'), kvHelp);
  });
});

/** The message JSON.parse gives for `text` on this Node. */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} parses`);
}
