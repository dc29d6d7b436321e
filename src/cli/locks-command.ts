import type { Command } from 'commander';
import { lockStatus } from '../admin/lock-holders.ts';
import { action, connectFrom, printTable, withConnection, type ConnectionFlags } from './common.ts';

/** `coord locks [name]`: each lock's holder and waiters, with instance, lease and fencing token. */
export function registerLocksCommand(program: Command): void {
  withConnection(program.command('locks [name]'))
    .description('list who holds each lock and who waits, in order (instance by lease, lease, fencing token)')
    .action(
      action(async (name: string | undefined, f: ConnectionFlags) => {
        const c = connectFrom(f);
        try {
          const { revision, locks } = await lockStatus(c.etcd, c.namespace, name);
          if (f.json) {
            console.log(JSON.stringify({ revision, locks }));
            return;
          }
          if (locks.length === 0) {
            console.log(name === undefined ? 'no lock is held' : `lock ${name} is not held`);
            return;
          }
          const rows = locks.flatMap((l) => [l.holder, ...l.waiters].map((e, i) => [l.name, i === 0 ? 'holds' : `waits (${i})`, e.instance ?? '-', e.lease, String(e.fencingToken)]));
          printTable(['lock', 'state', 'instance', 'lease', 'fencing token'], rows);
        } finally {
          c.close();
        }
      }),
    );
}
