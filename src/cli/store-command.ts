import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { StoreOptions } from '../store/index.ts';
import { parseAutoCompaction } from '../store/auto-compactor.ts';

export interface StoreFlags {
  listen: string;
  dataDir?: string;
  memory?: boolean;
  cert?: string;
  key?: string;
  ca?: string;
  maxRequestBytes?: string;
  maxTxnOps?: string;
  authRootPasswordFile?: string;
  authTokenTtl?: string;
  autoCompactionMode?: string;
  autoCompactionRetention?: string;
}

/** The flags of `coord store` (and `coord dev`, which runs the same store). */
export function withStoreFlags(cmd: Command): Command {
  return cmd
    .option('--listen <host:port>', 'address to serve the etcd v3 API on', '127.0.0.1:2379')
    .option('--data-dir <dir>', 'directory for the write-ahead log and snapshots')
    .option('--memory', 'keep everything in memory (nothing survives a restart)')
    .option('--cert <file>', 'TLS certificate (PEM)')
    .option('--key <file>', 'TLS private key (PEM)')
    .option('--ca <file>', 'CA bundle (PEM): require client certificates signed by it')
    .option('--max-request-bytes <n>', 'largest write request accepted', String(1.5 * 1024 * 1024))
    .option('--max-txn-ops <n>', 'most operations in one txn branch', '128')
    .option('--auto-compaction-mode <mode>', 'periodic (keep a duration of history) or revision (keep a number of revisions), as etcd', 'periodic')
    .option('--auto-compaction-retention <r>', 'history kept: a duration (1h, 30m, 10s; a bare number is hours) or a revision count; 0 turns it off', '1h');
}

/** `coord store`: the etcd-compatible store alone. */
export function registerStoreCommands(program: Command): void {
  // Auth is for `coord store` only: `coord dev` runs the demo services, which use no credentials.
  withStoreFlags(program.command('store'))
    .option('--auth-root-password-file <file>', "turn etcd auth on: create user 'root' with the password in this file (first line) unless the data dir has one")
    .option('--auth-token-ttl <s>', 'idle lifetime of auth tokens, seconds (as etcd)', '300')
    .description('run coord store, an embedded etcd-compatible server')
    // One line about the warning startStore() logs for an exposed, unprotected listener.
    .addHelpText(
      'after',
      '\nWarning: with --listen on a non-loopback address (e.g. 0.0.0.0) and neither TLS (--cert/--key) nor auth, anyone who can reach it can read and change every key; coord store says so at start.',
    )
    .action(async (flags: StoreFlags) => {
      await runStore(flags, flags.memory ? undefined : (flags.dataDir ?? 'default.coord'));
    });
}

/** The store options the flags ask for (exits with one line on a bad flag). */
export function storeOptions(flags: StoreFlags, dataDir: string | undefined): StoreOptions {
  if (!!flags.cert !== !!flags.key) fail('--cert and --key go together');
  const options: StoreOptions = {
    listen: flags.listen,
    dataDir: dataDir && resolve(dataDir),
    maxRequestBytes: positiveInt('--max-request-bytes', flags.maxRequestBytes),
    maxTxnOps: positiveInt('--max-txn-ops', flags.maxTxnOps),
    log: (line) => console.error(line),
    authTokenTtlMs: (positiveInt('--auth-token-ttl', flags.authTokenTtl) ?? 300) * 1000,
  };
  try {
    options.autoCompaction = parseAutoCompaction(flags.autoCompactionMode ?? 'periodic', flags.autoCompactionRetention ?? '1h') ?? false;
  } catch (e) {
    fail((e as Error).message);
  }
  if (flags.authRootPasswordFile) options.authRootPassword = readPassword(flags.authRootPasswordFile);
  if (flags.cert && flags.key) {
    options.tls = { cert: readPem(flags.cert), key: readPem(flags.key), ca: flags.ca ? readPem(flags.ca) : undefined };
  }
  return options;
}

async function runStore(flags: StoreFlags, dataDir: string | undefined): Promise<void> {
  const options = storeOptions(flags, dataDir);
  let store;
  try {
    const { startStore } = await import('../store/index.ts');
    store = await startStore(options);
  } catch (e) {
    fail((e as Error).message);
  }
  // Before the serving line: a supervisor may signal as soon as it reads it, and an unhandled
  // SIGINT would kill the store without closing it.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`coord store: ${signal}, shutting down`);
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const scheme = options.tls ? 'https' : 'http';
  console.log(`coord store serving the etcd v3 API on ${scheme}://${store.endpoint} (${dataDir ? `data in ${options.dataDir}` : 'in memory'})`);
  console.log(`try: ETCDCTL_API=3 etcdctl --endpoints=${store.endpoint} put hello world && ETCDCTL_API=3 etcdctl --endpoints=${store.endpoint} get hello`);
  const err = await store.failed;
  console.error(`coord store: fatal: ${err.message}`);
  process.exit(1);
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) fail(`${flag} must be a positive integer, got '${v}'`);
  return n;
}

/** The first line of a password file; an empty one is refused (etcd's root needs a password to log in). */
function readPassword(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const password = text.split(/\r?\n/)[0];
  if (!password) fail(`--auth-root-password-file ${file}: the first line is empty (it must hold root's password)`);
  return password;
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    fail(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function fail(message: string): never {
  console.error(message.startsWith('coord') ? message : `coord: ${message}`);
  process.exit(1);
}
