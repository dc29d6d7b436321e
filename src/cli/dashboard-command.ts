import type { Command } from 'commander';
import type { RegistryFormatName } from '../registry/registry-format.ts';
import { action, connectFrom, untilSignal, UsageError, withConnection, type ConnectionFlags } from './common.ts';

interface DashboardFlags extends ConnectionFlags {
  listen: string;
  token?: string;
  readOnly?: boolean;
  foreign: string[];
  kratosNamespace?: string | false;
  nats?: string;
}

const collect = (v: string, all: string[]) => [...all, v];

/** `--foreign grpc-go=svc/echo` → `{ format, target }`; a bad one is a usage error. */
function foreignSource(spec: string): { format: RegistryFormatName; target: string } {
  const i = spec.indexOf('=');
  if (i <= 0 || i === spec.length - 1) throw new UsageError(`--foreign wants <format>=<target>, e.g. grpc-go=svc/echo; got '${spec}'`);
  return { format: spec.slice(0, i) as RegistryFormatName, target: spec.slice(i + 1) };
}

/** `coord dashboard`: the admin API and web UI over any etcd (or coord store). */
export function registerDashboardCommand(program: Command): void {
  withConnection(program.command('dashboard'))
    .description('serve the admin API and web dashboard for the coord keyspace of an etcd cluster')
    .option('--listen <host:port>', 'address to serve on (anything but 127.0.0.1, localhost or [::1] needs --token)', '127.0.0.1:0')
    .option('--token <token>', 'require this bearer token on every API call (env COORD_ADMIN_TOKEN)', process.env.COORD_ADMIN_TOKEN)
    .option('--read-only', 'refuse every change and hide the actions in the UI')
    .option('--foreign <format=target>', 'also list services Go stacks publish under a target, e.g. grpc-go=svc/echo or go-zero=orders (repeatable)', collect, [])
    .option('--kratos-namespace <prefix>', "where Kratos services are listed from (default /microservices)")
    .option('--no-kratos-namespace', 'do not list Kratos services')
    .option('--nats <servers>', 'NATS servers (host:port, comma separated) for the Events page instead of the engine announced at <namespace>events/engine')
    .action(
      action(async (f: DashboardFlags) => {
        const coord = connectFrom(f);
        try {
          // Wrong credentials are said now, in one line, not on every page of the UI later.
          if (f.user !== undefined) await coord.etcd.authenticate();
          // Loaded on use: every `coord` command imports this file, only this one needs Fastify and the UI.
          const { startAdmin } = await import('../admin/index.ts');
          const admin = await startAdmin({
            coord,
            listen: f.listen,
            token: f.token,
            readOnly: f.readOnly,
            author: process.env.USER || 'dashboard',
            log: (line) => console.error(line),
            foreignServices: f.foreign.map(foreignSource),
            ...(f.kratosNamespace === undefined ? {} : { kratosNamespace: f.kratosNamespace }),
            ...(f.nats === undefined ? {} : { events: { nats: f.nats.split(',').map((s) => s.trim()).filter(Boolean) } }),
          });
          console.log(`coord dashboard on ${admin.url} (etcd ${f.endpoints}, namespace ${coord.namespace}${f.readOnly ? ', read-only' : ''})`);
          if (f.token) console.log('every API call needs the token: the page asks for it, or open the URL with #token=<token>');
          const signal = await untilSignal();
          console.error(`coord dashboard: ${signal}, shutting down`);
          await admin.close();
        } finally {
          await coord.close();
        }
      }),
    );
}
