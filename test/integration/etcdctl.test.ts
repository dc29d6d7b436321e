// The real etcdctl (v3 API) against a real etcd and against coord store run as its own process:
// every command must print the same thing on both. Expectations are written as etcd prints them;
// only what a server chooses for itself is normalised (see etcdctl-scrub.ts): ids, its endpoint,
// revisions (offsets from the revision a test starts at), timings, version, database size.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { eventually } from '../helpers/conformance.ts';
import { Scrub, serverIds, type ServerIds } from '../helpers/etcdctl-scrub.ts';
import { Etcdctl, type EtcdctlChild } from '../helpers/etcdctl.ts';
import { etcdctlServers, type EtcdctlServer } from '../helpers/etcdctl-servers.ts';

const servers = etcdctlServers;
type Server = EtcdctlServer;

/** A response header after normalisation, `revision` counted from the test's start. */
const H = (revision: number) => ({ cluster_id: '<cluster>', member_id: '<member>', revision, raft_term: 2 });
const kv = (key: string, create: number, mod: number, version: number, value?: string) => ({
  key,
  create_revision: create,
  mod_revision: mod,
  version,
  ...(value === undefined ? {} : { value }),
});
/** The interactive `etcdctl txn` input: compares, success ops, failure ops, each ended by a blank line. */
const txnInput = (compares: string[], success: string[], failure: string[]) =>
  [...compares, '', ...success, '', ...failure, '', ''].join('\n');

for (const server of servers) {
  describe(`etcdctl against ${server.name}`, { skip: server.skip }, () => {
    let running: Server | undefined;
    let ctl: Etcdctl;
    let ids: ServerIds;
    let tests = 0;

    before(async () => {
      running = await server.start();
      ctl = new Etcdctl(running.endpoint);
      ids = serverIds(running.endpoint, await ctl.ok('endpoint', 'status', '-w', 'json'));
    });
    afterEach(() => ctl?.killAll());
    after(async () => {
      await ctl?.killAll();
      await running?.stop();
    });

    /** A key prefix of its own for each test: `t<n>-<name>/`, numbered in test order. */
    const prefix = (name: string) => `t${String(++tests).padStart(2, '0')}-${name}/`;
    const scrub = async () => new Scrub(ids, await ctl.revision());
    /** Keys under `dir` in creation order. */
    const keysByCreate = async (dir: string) =>
      (await ctl.ok('get', dir, '--prefix', '--keys-only', '--sort-by=CREATE')).split('\n').filter(Boolean);
    /** Waits until `dir` holds `n` keys (lock / election waiters) and labels their leases in that order. */
    const waiters = async (s: Scrub, dir: string, n: number) => {
      const keys = await eventually(`${n} keys under ${dir}`, async () => {
        const k = await keysByCreate(dir);
        return k.length === n ? k : undefined;
      });
      for (const key of keys) s.lease(key.slice(dir.length));
      return keys;
    };

    it('put and get: plain, json, --prefix, --from-key, --limit, --sort-by, --rev, --keys-only, --print-value-only', async () => {
      const p = prefix('get');
      const s = await scrub();
      for (const [k, v] of [['a', 'v1'], ['b', 'v2'], ['c', 'v3'], ['a', 'v1.1']]) assert.equal(await ctl.ok('put', p + k, v), 'OK\n');
      const [a, b, c] = [kv(p + 'a', 1, 4, 2, 'v1.1'), kv(p + 'b', 2, 2, 1, 'v2'), kv(p + 'c', 3, 3, 1, 'v3')];

      assert.equal(await ctl.ok('get', p + 'a'), `${p}a\nv1.1\n`);
      assert.deepEqual(s.json(await ctl.ok('get', p + 'a', '-w', 'json')), { header: H(4), kvs: [a], count: 1 });
      assert.equal(await ctl.ok('get', p, '--prefix'), `${p}a\nv1.1\n${p}b\nv2\n${p}c\nv3\n`);
      assert.equal(await ctl.ok('get', p + 'a', p + 'c'), `${p}a\nv1.1\n${p}b\nv2\n`);
      // Later tests' prefixes sort after this one but hold no keys yet, so from-key ends at c.
      assert.equal(await ctl.ok('get', p + 'b', '--from-key'), `${p}b\nv2\n${p}c\nv3\n`);
      assert.deepEqual(s.json(await ctl.ok('get', p, '--prefix', '--limit', '2', '-w', 'json')), { header: H(4), kvs: [a, b], more: true, count: 3 });
      assert.equal(await ctl.ok('get', p, '--prefix', '--sort-by=MODIFY', '--order=DESCEND', '--keys-only'), `${p}a\n\n${p}c\n\n${p}b\n\n`);
      assert.equal(await ctl.ok('get', p, '--prefix', '--sort-by=VALUE', '--order=DESCEND', '--print-value-only'), 'v3\nv2\nv1.1\n');
      assert.deepEqual(s.json(await ctl.ok('get', p, '--prefix', '--sort-by=CREATE', '--order=DESCEND', '--limit', '1', '-w', 'json')), {
        header: H(4),
        kvs: [c],
        more: true,
        count: 3,
      });
      assert.equal(await ctl.ok('get', p + 'a', `--rev=${s.base + 1}`), `${p}a\nv1\n`);
      assert.deepEqual(s.json(await ctl.ok('get', p, '--prefix', `--rev=${s.base + 2}`, '-w', 'json')), {
        header: H(4),
        kvs: [kv(p + 'a', 1, 1, 1, 'v1'), b],
        count: 2,
      });
      assert.equal(await ctl.ok('get', p + 'a', '--print-value-only'), 'v1.1\n');
      assert.equal(await ctl.ok('get', p + 'missing'), '');
      assert.deepEqual(await ctl.run(['get', p + 'a', `--rev=${s.base + 100}`]), {
        code: 1,
        stdout: '',
        stderr: 'Error: etcdserver: mvcc: required revision is a future revision\n',
      });
    });

    it('del: single key, --prefix, --prev-kv', async () => {
      const p = prefix('del');
      const s = await scrub();
      for (const [k, v] of [['a', 'va'], ['b', 'vb'], ['dir/1', '1'], ['dir/2', '2'], ['c', 'vc']]) await ctl.ok('put', p + k, v);

      assert.equal(await ctl.ok('del', p + 'a'), '1\n');
      assert.equal(await ctl.ok('del', p + 'a'), '0\n');
      assert.equal(await ctl.ok('del', p + 'b', '--prev-kv'), `1\n${p}b\nvb\n`);
      assert.deepEqual(s.json(await ctl.ok('del', p + 'dir/', '--prefix', '--prev-kv', '-w', 'json')), {
        header: H(8),
        deleted: 2,
        prev_kvs: [kv(p + 'dir/1', 3, 3, 1, '1'), kv(p + 'dir/2', 4, 4, 1, '2')],
      });
      assert.equal(await ctl.ok('del', p, '--prefix'), '1\n');
      assert.equal(await ctl.ok('get', p, '--prefix'), '');
      assert.deepEqual(s.json(await ctl.ok('del', p + 'gone', '-w', 'json')), { header: H(9) });
    });

    it('txn (interactive): compares, success and failure branches', async () => {
      const p = prefix('txn');
      const s = await scrub();
      await ctl.ok('put', p + 'k', '1');

      const success = txnInput([`value("${p}k") = "1"`, `mod("${p}k") = "${s.base + 1}"`], [`put ${p}ok yes`, `get ${p}k`], [`put ${p}no no`]);
      assert.deepEqual(await ctl.run(['txn'], { input: success }), { code: 0, stdout: `SUCCESS\n\nOK\n\n${p}k\n1\n`, stderr: '' });

      const failure = txnInput([`value("${p}k") > "5"`, `version("${p}k") = "1"`], [`put ${p}ok again`], [`put ${p}fallback yes`, `del ${p}ok`]);
      const failed = await ctl.run(['txn', '-w', 'json'], { input: failure });
      assert.equal(failed.code, 0, failed.stderr);
      assert.deepEqual(s.json(failed.stdout), {
        header: H(3),
        responses: [
          { Response: { ResponsePut: { header: { revision: 3 } } } },
          { Response: { ResponseDeleteRange: { header: { revision: 3 }, deleted: 1 } } },
        ],
      });
      assert.equal(await ctl.ok('get', p, '--prefix'), `${p}fallback\nyes\n${p}k\n1\n`);

      const bare = txnInput([`version("${p}absent") = "0"`, `create("${p}k") < "${s.base + 2}"`], [`put ${p}x 1`, `del ${p}fallback`], []);
      assert.deepEqual(await ctl.run(['txn'], { input: bare }), { code: 0, stdout: 'SUCCESS\n\nOK\n\n1\n', stderr: '' });
    });

    it('watch --prefix prints the events of later writes, a txn as one batch', async () => {
      const p = prefix('watch');
      const w = ctl.start(['watch', p, '--prefix']);
      const from = await watchReady(ctl, w, p + 'probe');
      await ctl.ok('put', p + 'a', '1');
      await ctl.ok('put', p + 'a', '2');
      await ctl.ok('del', p + 'a');
      const txn = await ctl.run(['txn'], { input: txnInput([], [`put ${p}b x`, `put ${p}c y`], []) });
      assert.equal(txn.code, 0, txn.stderr);
      const expected = `PUT\n${p}a\n1\nPUT\n${p}a\n2\nDELETE\n${p}a\n\nPUT\n${p}b\nx\nPUT\n${p}c\ny\n`;
      const out = await w.printed((o) => o.length >= from + expected.length);
      assert.equal(out.slice(from), expected);
    });

    it('watch --rev replays history (json), and --prev-kv shows the previous values', async () => {
      const p = prefix('replay');
      const s = await scrub();
      await ctl.ok('put', p + 'a', '1');
      await ctl.ok('put', p + 'a', '2');
      await ctl.ok('del', p + 'a');
      await ctl.run(['txn'], { input: txnInput([], [`put ${p}b x`, `put ${p}c y`], []) });

      const json = ctl.start(['watch', p, '--prefix', `--rev=${s.base + 1}`, '-w', 'json']);
      const lines = (await json.printed((o) => o.includes(Buffer.from(p + 'c').toString('base64')) && o.endsWith('\n')))
        .split('\n')
        .filter(Boolean);
      assert.deepEqual(
        lines.map((l) => s.json(l)),
        [
          {
            Header: H(4),
            Events: [
              { kv: kv(p + 'a', 1, 1, 1, '1') },
              { kv: kv(p + 'a', 1, 2, 2, '2') },
              { type: 1, kv: { key: p + 'a', mod_revision: 3 } },
              { kv: kv(p + 'b', 4, 4, 1, 'x') },
              { kv: kv(p + 'c', 4, 4, 1, 'y') },
            ],
            CompactRevision: 0,
            Canceled: false,
            Created: false,
          },
        ],
      );

      const prev = ctl.start(['watch', p, '--prefix', `--rev=${s.base + 1}`, '--prev-kv']);
      const expected = [
        ['PUT', `${p}a`, '1'],
        ['PUT', `${p}a`, '1', `${p}a`, '2'],
        ['DELETE', `${p}a`, '2', `${p}a`, ''],
        ['PUT', `${p}b`, 'x'],
        ['PUT', `${p}c`, 'y'],
      ]
        .flat()
        .map((line) => `${line}\n`)
        .join('');
      assert.equal(await prev.printed((o) => o.length >= expected.length), expected);
    });

    it('lease grant, put --lease, keep-alive --once, timetolive --keys, list, revoke', async () => {
      const p = prefix('lease');
      const s = await scrub();
      const granted = await ctl.ok('lease', 'grant', '60');
      const hex = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)\n$/.exec(granted)?.[1];
      assert.ok(hex, granted);
      const id = s.lease(hex);
      assert.equal(id, '<lease1>');
      assert.equal(await ctl.ok('put', `--lease=${hex}`, p + 'a', '1'), 'OK\n');
      assert.equal(await ctl.ok('put', `--lease=${hex}`, p + 'b', '2'), 'OK\n');
      assert.deepEqual(s.json(await ctl.ok('get', p + 'a', '-w', 'json')), { header: H(2), kvs: [{ ...kv(p + 'a', 1, 1, 1, '1'), lease: id }], count: 1 });

      assert.equal(s.text(await ctl.ok('lease', 'keep-alive', '--once', hex)), `lease ${id} keepalived with TTL(60)\n`);
      // The remaining TTL is a timing (a second may have passed); etcd lists attached keys in map order.
      const remaining = (out: string) =>
        s
          .text(out)
          .replace(/remaining\((59|60)s\)/, 'remaining(~60s)')
          .replace(/attached keys\(\[(.*)\]\)/, (_, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`);
      assert.equal(remaining(await ctl.ok('lease', 'timetolive', hex)), `lease ${id} granted with TTL(60s), remaining(~60s)\n`);
      assert.equal(
        remaining(await ctl.ok('lease', 'timetolive', '--keys', hex)),
        `lease ${id} granted with TTL(60s), remaining(~60s), attached keys([${p}a ${p}b])\n`,
      );
      const ttl = s.json(await ctl.ok('lease', 'timetolive', '--keys', hex, '-w', 'json')) as Record<string, unknown>;
      assert.ok(ttl.ttl === 59 || ttl.ttl === 60, `ttl ${ttl.ttl}`);
      assert.deepEqual(
        { ...ttl, ttl: '~60', keys: (ttl.keys as string[]).sort() },
        { cluster_id: '<cluster>', member_id: '<member>', revision: 2, raft_term: 2, id, ttl: '~60', 'granted-ttl': 60, keys: [p + 'a', p + 'b'] },
      );

      // No earlier test in this file leaves a lease behind (lock and election tests come later).
      const grant2 = await ctl.ok('lease', 'grant', '100', '-w', 'json');
      const id2Value = BigInt(/"ID":(\d+)/.exec(grant2)?.[1] ?? '0');
      const id2 = s.lease(id2Value);
      assert.deepEqual(s.json(grant2), { cluster_id: '<cluster>', member_id: '<member>', revision: 2, raft_term: 2, ID: id2, TTL: 100, Error: '' });
      assert.equal(s.text(await ctl.ok('lease', 'list')), `found 2 leases\n${id}\n${id2}\n`);
      assert.deepEqual(s.json(await ctl.ok('lease', 'list', '-w', 'json')), {
        cluster_id: '<cluster>',
        member_id: '<member>',
        revision: 2,
        raft_term: 2,
        leases: [{ id }, { id: id2 }],
      });

      assert.equal(s.text(await ctl.ok('lease', 'revoke', hex)), `lease ${id} revoked\n`);
      assert.equal(await ctl.ok('get', p, '--prefix'), '');
      assert.equal(s.text(await ctl.ok('lease', 'timetolive', hex)), `lease ${id} already expired\n`);
      const notFound = 'etcdserver: requested lease not found';
      assert.deepEqual(await ctl.run(['lease', 'revoke', hex]), { code: 1, stdout: '', stderr: `Error: failed to revoke lease (${notFound})\n` });
      assert.deepEqual(await ctl.run(['put', `--lease=${hex}`, p + 'c', '1']), { code: 1, stdout: '', stderr: `Error: ${notFound}\n` });
      const keepAlive = await ctl.run(['lease', 'keep-alive', '--once', hex]);
      assert.deepEqual({ ...keepAlive, stdout: s.text(keepAlive.stdout) }, { code: 2, stdout: '', stderr: `Error: ${notFound}\n` });
      assert.equal(s.text(await ctl.ok('lease', 'revoke', id2Value.toString(16))), `lease ${id2} revoked\n`);
    });

    it('compaction: older revisions answer "compacted", also to watch --rev', async () => {
      const p = prefix('compact');
      const s = await scrub();
      for (const v of ['v1', 'v2', 'v3']) await ctl.ok('put', p + 'k', v);
      const compacted = 'etcdserver: mvcc: required revision has been compacted';

      assert.equal(await ctl.ok('compaction', String(s.base + 2)), `compacted revision ${s.base + 2}\n`);
      assert.deepEqual(await ctl.run(['get', p + 'k', `--rev=${s.base + 1}`]), { code: 1, stdout: '', stderr: `Error: ${compacted}\n` });
      assert.equal(await ctl.ok('get', p + 'k', `--rev=${s.base + 2}`, '--print-value-only'), 'v2\n');
      assert.deepEqual(await ctl.run(['compaction', String(s.base + 2)]), { code: 1, stdout: '', stderr: `Error: ${compacted}\n` });
      assert.deepEqual(await ctl.run(['compaction', String(s.base + 100)]), {
        code: 1,
        stdout: '',
        stderr: 'Error: etcdserver: mvcc: required revision is a future revision\n',
      });
      assert.deepEqual(await ctl.run(['watch', p, '--prefix', `--rev=${s.base + 1}`]), {
        code: 5,
        stdout: '',
        stderr: `watch was canceled (${compacted})\nError: watch is canceled by the server\n`,
      });
      assert.equal(await ctl.ok('compaction', '--physical', String(s.base + 3)), `compacted revision ${s.base + 3}\n`);
      assert.equal(await ctl.ok('get', p + 'k', `--rev=${s.base + 3}`, '--print-value-only'), 'v3\n');
    });

    it('endpoint health, endpoint status, alarm list', async () => {
      const s = await scrub();
      // etcdctl prints the simple health report on stderr.
      const health1 = await ctl.run(['endpoint', 'health']);
      assert.deepEqual(
        { ...health1, stderr: s.text(health1.stderr).replace(/took = [\d.]+(ns|µs|ms|s)\n/, 'took = <t>\n') },
        { code: 0, stdout: '', stderr: '<endpoint> is healthy: successfully committed proposal: took = <t>\n' },
      );
      const health = s.json(await ctl.ok('endpoint', 'health', '-w', 'json')) as { took: string }[];
      assert.match(health[0]?.took ?? '', /^[\d.]+(ns|µs|ms|s)$/);
      assert.deepEqual(health, [{ endpoint: '<endpoint>', health: true, took: health[0].took }]);

      // Version, database size and raft index are each server's own; only their shape is checked.
      const fields = s.text(await ctl.ok('endpoint', 'status')).split(', ');
      const shapes: [number, RegExp, string][] = [
        [2, /^3\.4\.\d+(-\w+)?$/, '<version>'],
        [3, /^[\d.]+ [kMG]?B$/, '<size>'],
        [7, /^[1-9]\d*$/, '<index>'],
        [8, /^[1-9]\d*$/, '<index>'],
      ];
      for (const [i, shape, label] of shapes) if (shape.test(fields[i])) fields[i] = label;
      assert.equal(fields.join(', '), '<endpoint>, <member>, <version>, <size>, true, false, 2, <index>, <index>, \n');
      const [status] = s.json(await ctl.ok('endpoint', 'status', '-w', 'json')) as { Endpoint: string; Status: Record<string, unknown> }[];
      const st = status.Status;
      assert.match(String(st.version), /^3\.4\.\d+(-\w+)?$/);
      for (const f of ['dbSize', 'dbSizeInUse', 'raftIndex']) assert.ok(Number.isInteger(st[f]) && (st[f] as number) > 0, `${f} ${st[f]}`);
      assert.equal(st.raftAppliedIndex, st.raftIndex);
      assert.deepEqual(status, {
        Endpoint: '<endpoint>',
        Status: {
          header: H(0),
          version: st.version,
          dbSize: st.dbSize,
          leader: '<member>',
          raftIndex: st.raftIndex,
          raftTerm: 2,
          raftAppliedIndex: st.raftIndex,
          dbSizeInUse: st.dbSizeInUse,
        },
      });
      assert.deepEqual(await ctl.run(['alarm', 'list']), { code: 0, stdout: '', stderr: '' });
    });

    it('member list', async () => {
      const s = await scrub();
      // The member name is configuration (etcd's --name). Peer URLs are where cluster members talk
      // to each other: etcd has one, a single-node coord store has none (documented difference).
      const member = (line: string) =>
        line
          .split(', ')
          .map((f, i) => (i === 2 ? '<name>' : i === 3 ? '<peer-urls>' : f))
          .join(', ');
      assert.equal(member(s.text(await ctl.ok('member', 'list'))), '<member>, started, <name>, <peer-urls>, http://<endpoint>, false\n');
      const members = s.json(await ctl.ok('member', 'list', '-w', 'json')) as { members: { name: string; peerURLs: string[] }[] };
      const m = members.members[0];
      assert.deepEqual(
        { ...members, members: [{ ...m, name: '<name>', peerURLs: undefined }] },
        {
          header: { cluster_id: '<cluster>', member_id: '<member>', raft_term: 2 },
          members: [{ ID: '<member>', name: '<name>', peerURLs: undefined, clientURLs: ['http://<endpoint>'] }],
        },
      );
    });

    it('lock: a second holder blocks until the first exits; the keys follow the concurrency layout', async () => {
      const p = prefix('lock');
      const name = p + 'mutex';
      const s = await scrub();
      const first = ctl.start(['lock', name]);
      await first.printed((o) => o.endsWith('\n\n'));
      await waiters(s, `${name}/`, 1);
      assert.equal(s.text(first.stdout), `${name}/<lease1>\n\n`);

      const second = ctl.start(['lock', name]);
      await waiters(s, `${name}/`, 2);
      assert.deepEqual(s.json(await ctl.ok('get', `${name}/`, '--prefix', '--sort-by=CREATE', '-w', 'json')), {
        header: H(2),
        kvs: [
          { ...kv(`${name}/<lease1>`, 1, 1, 1), lease: '<lease1>' },
          { ...kv(`${name}/<lease2>`, 2, 2, 1), lease: '<lease2>' },
        ],
        count: 2,
      });
      assert.equal(second.stdout, '', 'the second etcdctl lock must wait');
      assert.equal(second.done, false);

      assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
      assert.equal(s.text(await second.printed((o) => o.endsWith('\n\n'))), `${name}/<lease2>\n\n`);
      assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
      assert.equal(await ctl.ok('get', `${name}/`, '--prefix'), '', 'both released their keys');
    });

    it('lock NAME -- CMD runs CMD once the lock is free, with ETCD_LOCK_KEY and ETCD_LOCK_REV', async () => {
      const p = prefix('lockexec');
      const name = p + 'mutex';
      const s = await scrub();
      const holder = ctl.start(['lock', name]);
      await holder.printed((o) => o.endsWith('\n\n'));
      const exec = ctl.start(['lock', name, '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY $ETCD_LOCK_REV"']);
      await waiters(s, `${name}/`, 2);
      assert.equal(exec.stdout, '', 'the command must not run while the lock is held');

      await holder.stop('SIGTERM');
      assert.deepEqual(await exec.exit(), { code: 0, signal: null });
      // ETCD_LOCK_REV is the revision the lock was acquired at: after the holder's key was deleted.
      assert.equal(s.text(exec.stdout), `${name}/<lease2> ${s.base + 3}\n`);
      assert.equal(await ctl.ok('get', `${name}/`, '--prefix'), '', 'the lock is released after the command');

      assert.deepEqual(await ctl.run(['lock', name, '--', 'sh', '-c', 'exit 3']), { code: 1, stdout: '', stderr: 'Error: exit status 3\n' });
    });

    it('lock: a SIGKILLed holder loses the lock when its session lease (--ttl) expires', async () => {
      const p = prefix('lockttl');
      const name = p + 'mutex';
      const s = await scrub();
      const first = ctl.start(['lock', '--ttl=2', name]);
      await first.printed((o) => o.endsWith('\n\n'));
      const second = ctl.start(['lock', name]);
      await waiters(s, `${name}/`, 2);
      await first.stop('SIGKILL');
      assert.equal(s.text(await second.printed((o) => o.endsWith('\n\n'), 15_000)), `${name}/<lease2>\n\n`);
      assert.deepEqual((await keysByCreate(`${name}/`)).map((k) => s.text(k)), [`${name}/<lease2>`], "the killed holder's key went with its lease");
    });

    it('elect: a campaigner leads, the observer follows, the next campaigner takes over when the leader is killed', async () => {
      const p = prefix('elect');
      const name = p + 'election';
      const s = await scrub();
      const observer = ctl.start(['elect', '-l', name]);
      const alice = ctl.start(['elect', name, 'alice']);
      await alice.printed((o) => o.endsWith('alice\n'));
      await waiters(s, `${name}/`, 1);
      assert.equal(s.text(alice.stdout), `${name}/<lease1>\nalice\n`);
      assert.equal(s.text(await observer.printed((o) => o.endsWith('alice\n'))), `${name}/<lease1>\nalice\n`);

      const bob = ctl.start(['elect', name, 'bob']);
      await waiters(s, `${name}/`, 2);
      assert.equal(bob.stdout, '', 'bob must wait while alice leads');
      assert.equal(await ctl.ok('get', `${name}/`, '--prefix', '--sort-by=CREATE', '--print-value-only'), 'alice\nbob\n');

      await alice.stop('SIGTERM');
      assert.equal(s.text(await bob.printed((o) => o.endsWith('bob\n'))), `${name}/<lease2>\nbob\n`);
      assert.equal(s.text(await observer.printed((o) => o.endsWith('bob\n'))), `${name}/<lease1>\nalice\n${name}/<lease2>\nbob\n`);
      assert.equal(observer.done, false);
    });
  });
}

/**
 * etcdctl gives no sign that its watch is registered, so put a probe key until one shows up;
 * then wait for the last probe, so that nothing written before can still arrive. Returns the
 * stdout offset after it.
 */
async function watchReady(ctl: Etcdctl, w: EtcdctlChild, key: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (let i = 1; Date.now() < deadline; i++) {
    await ctl.ok('put', key, `probe-${i}`);
    const out = await w.printed((o) => o.includes(`${key}\nprobe-`), 250);
    if (!out.includes(`${key}\nprobe-`)) continue;
    const last = `PUT\n${key}\nprobe-${i}\n`;
    const all = await w.printed((o) => o.includes(last), 5_000);
    assert.ok(all.includes(last), `the watch printed earlier probes but not the last one:\n${all}`);
    return all.indexOf(last) + last.length;
  }
  throw new Error(`etcdctl watch showed no probe within 10 s:\n${w.stdout}${w.stderr}`);
}
