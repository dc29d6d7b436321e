import type { Command } from 'commander';
import type { ServiceInstance } from '../registry/instance.ts';
import { action, connectFrom, printTable, stderrLog, untilSignal, UsageError, withConnection, type ConnectionFlags } from './common.ts';

interface ServicesFlags extends ConnectionFlags {
  watch?: boolean;
}

function printInstances(list: ServiceInstance[], json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(list));
    return;
  }
  printTable(
    ['service', 'id', 'version', 'status', 'endpoints', 'metadata'],
    list.map((i) => [i.name, i.id, i.version ?? '-', i.status ?? 'serving', i.endpoints.join(','), Object.entries(i.metadata ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-']),
  );
}

/** `coord services [name] [--watch]`. */
export function registerServicesCommand(program: Command): void {
  withConnection(program.command('services [name]').option('--watch', 'keep printing the instance set as it changes'))
    .description('list registered services, or the instances of one')
    .action(
      action(async (name: string | undefined, f: ServicesFlags) => {
        // --watch runs through etcd outages: say when one starts and ends (stderr).
        const c = connectFrom(f, f.watch ? stderrLog : undefined);
        try {
          if (!name) {
            if (f.watch) throw new UsageError('--watch needs a service name');
            const r = await c.etcd.range(`${c.namespace}services/`, { prefix: true });
            const counts = new Map<string, number>();
            for (const kv of r.kvs) {
              const svc = kv.key.slice(`${c.namespace}services/`.length).split('/')[0];
              counts.set(svc, (counts.get(svc) ?? 0) + 1);
            }
            if (f.json) console.log(JSON.stringify(Object.fromEntries(counts)));
            else printTable(['service', 'instances'], [...counts].map(([s, n]) => [s, String(n)]));
            return;
          }
          // Discovery waits for etcd as long as it takes; a one-off listing must fail fast instead.
          await c.etcd.status();
          if (!f.watch) {
            printInstances(await c.instances(name), f.json);
            return;
          }
          const d = c.discover(name);
          await d.ready;
          // Kept alive through an outage (an open discovery holds the process): the set is marked
          // stale while etcd is away and printed again, fresh, once it is back.
          const sub = d.onChange((s) => {
            if (!f.json) console.log(`--- revision ${s.revision}${s.stale ? ' (stale: etcd unreachable, last known set)' : ''}`);
            printInstances(s.instances, f.json);
          });
          const s0 = d.snapshot();
          if (!f.json) console.log(`--- revision ${s0.revision}`);
          printInstances(s0.instances, f.json);
          await untilSignal();
          sub.dispose();
        } finally {
          c.close();
        }
      }),
    );
}
