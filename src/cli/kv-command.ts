import type { Command } from 'commander';
import type { KeyValue } from '../client/keys.ts';
import { action, connectFrom, intArg, printTable, untilSignal, withConnection, type ConnectionFlags } from './common.ts';

interface KvFlags extends ConnectionFlags {
  prefix?: boolean;
  rev?: string;
  lease?: string;
}

const row = (kv: KeyValue) => ({ key: kv.key, value: kv.value.toString(), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease });

/** `coord kv get|put|del|watch`: raw keys, not namespaced (the namespace flag does not apply). */
export function registerKvCommands(program: Command): void {
  const kv = program.command('kv').description('read and write raw etcd keys');

  withConnection(kv.command('get <key>').option('--prefix', 'every key starting with <key>').option('--rev <n>', 'read at this revision'))
    .description('show a key (or keys under a prefix)')
    .action(
      action(async (key: string, f: KvFlags) => {
        const c = connectFrom(f);
        try {
          const r = await c.etcd.range(key, { prefix: f.prefix, revision: intArg('--rev', f.rev) });
          if (f.json) console.log(JSON.stringify({ revision: r.revision, kvs: r.kvs.map(row) }));
          else if (r.kvs.length === 0) {
            console.error(`coord: no key ${f.prefix ? 'under' : 'named'} ${key}`);
            return 1;
          } else printTable(['key', 'value', 'mod rev', 'version', 'lease'], r.kvs.map((x) => [x.key, x.value.toString(), String(x.modRevision), String(x.version), x.lease === '0' ? '-' : BigInt(x.lease).toString(16)]));
        } finally {
          c.close();
        }
      }),
    );

  withConnection(kv.command('put <key> <value>').option('--lease <hex>', 'attach to this lease (hex id)'))
    .description('write a key')
    .action(
      action(async (key: string, value: string, f: KvFlags) => {
        const c = connectFrom(f);
        try {
          const lease = f.lease ? BigInt(`0x${f.lease.replace(/^0x/, '')}`).toString() : undefined;
          const r = await c.etcd.put(key, value, { lease });
          console.log(f.json ? JSON.stringify({ revision: r.revision }) : `OK (revision ${r.revision})`);
        } finally {
          c.close();
        }
      }),
    );

  withConnection(kv.command('del <key>').option('--prefix', 'every key starting with <key>'))
    .description('delete a key (or keys under a prefix)')
    .action(
      action(async (key: string, f: KvFlags) => {
        const c = connectFrom(f);
        try {
          const r = await c.etcd.delete(key, { prefix: f.prefix });
          console.log(f.json ? JSON.stringify({ revision: r.revision, deleted: r.deleted }) : `deleted ${r.deleted}`);
        } finally {
          c.close();
        }
      }),
    );

  withConnection(kv.command('watch <key>').option('--prefix', 'every key starting with <key>').option('--rev <n>', 'replay from this revision'))
    .description('print changes until interrupted')
    .action(
      action(async (key: string, f: KvFlags) => {
        const c = connectFrom(f);
        await c.etcd.status().catch((e) => {
          c.close();
          throw e;
        });
        const w = c.etcd.watches.watch(key, { prefix: f.prefix, startRevision: intArg('--rev', f.rev), prevKv: true });
        let failure: Error | undefined;
        const stopped = new Promise<void>((resolve) => {
          w.onError((e) => {
            failure = e;
            resolve();
          });
          void untilSignal().then(() => resolve());
        });
        w.onEvents((b) => {
          for (const e of b.events) {
            if (f.json) console.log(JSON.stringify({ type: e.type, ...row(e.kv) }));
            else console.log(`${e.type.toUpperCase()} ${e.kv.key}${e.type === 'put' ? ` = ${e.kv.value.toString()}` : ''} (revision ${e.kv.modRevision})`);
          }
        });
        await stopped;
        w.close();
        c.close();
        if (failure) throw failure;
      }),
    );
}
