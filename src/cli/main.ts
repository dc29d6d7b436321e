import { createRequire } from 'node:module';
import { Command } from 'commander';
import { ENVIRONMENT } from './common.ts';
import { registerConfigCommands } from './config-command.ts';
import { registerDashboardCommand } from './dashboard-command.ts';
import { registerDemoCommands } from './demo-command.ts';
import { registerDevCommand } from './dev-command.ts';
import { registerEventsCommands } from './events-command.ts';
import { registerGatewayCommand } from './gateway-command.ts';
import { registerKubeCommands } from './kube-command.ts';
import { registerKvCommands } from './kv-command.ts';
import { registerLockCommands } from './lock-command.ts';
import { registerLocksCommand } from './locks-command.ts';
import { registerServicesCommand } from './services-command.ts';
import { registerStoreCommands } from './store-command.ts';

const program = new Command('coord')
  .description('coord: coordination for Node.js microservices on etcd and gRPC')
  // A usage error is one line (`error: unknown option '--x'`) and exit 2, not the whole help.
  .configureOutput({ outputError: (s, write) => write(s) })
  // Commander's own usage errors (unknown option, missing argument) exit 2 like ours; --help exits 0.
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
  // The package's own package.json, by name through its exports map: the same path from src/ and dist/src/.
  .version((createRequire(import.meta.url)('etcd-coord/package.json') as { version: string }).version, '-v, --version', 'print the version of coord')
  .addHelpText('after', `\nEnvironment (a flag given on the command line wins):\n${ENVIRONMENT.map(([k, v]) => `  ${k.padEnd(22)}${v}`).join('\n')}`);

registerStoreCommands(program);
registerServicesCommand(program);
registerConfigCommands(program);
registerLockCommands(program);
registerLocksCommand(program);
registerKvCommands(program);
registerEventsCommands(program);
registerDashboardCommand(program);
registerDevCommand(program);
registerDemoCommands(program);
registerGatewayCommand(program);
registerKubeCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`coord: ${(e as Error).message ?? e}`);
  process.exit(1);
});
