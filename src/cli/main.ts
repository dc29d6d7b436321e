import { Command } from 'commander';
import { registerStoreCommands } from './store-command.ts';

const program = new Command('coord')
  .description('coord: coordination for Node.js microservices on etcd and gRPC')
  .showHelpAfterError()
  .configureOutput({ outputError: (s, write) => write(s) });

registerStoreCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`coord: ${(e as Error).message ?? e}`);
  process.exit(1);
});
