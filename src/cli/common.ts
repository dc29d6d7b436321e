import { Option, type Command } from 'commander';
import type { connect as Connect, Coord } from '../coord.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { parseEndpoints, probeEndpoints, UnreachableError, type Endpoint } from './endpoint-probe.ts';

export interface ConnectionFlags {
  endpoints: string;
  namespace: string;
  json?: boolean;
  timeout: string;
  user?: string;
}

/** Adds the flags every command that talks to etcd shares; help shows each one's environment variable. */
export function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--endpoints <list>', 'etcd endpoints, host:port, comma separated').default('127.0.0.1:2379').env('COORD_ENDPOINTS'))
    .addOption(new Option('--namespace <prefix>', 'key prefix coord uses').default('/coord/').env('COORD_NAMESPACE'))
    .option('--json', 'machine-readable output (one JSON document or one per line)')
    .addOption(new Option('--timeout <ms>', 'request timeout').default('5000').env('COORD_TIMEOUT'))
    .addOption(new Option('--user <name[:password]>', "etcd credentials when auth is on, as etcdctl's --user (the password may come from COORD_PASSWORD)").env('COORD_USER'));
}

/** The environment variables coord reads, for `coord --help`. */
export const ENVIRONMENT: [string, string][] = [
  ['COORD_ENDPOINTS', 'etcd endpoints (--endpoints), default 127.0.0.1:2379'],
  ['COORD_NAMESPACE', 'key prefix (--namespace), default /coord/'],
  ['COORD_TIMEOUT', 'request timeout in ms (--timeout), default 5000'],
  ['COORD_USER', 'etcd user, name or name:password (--user)'],
  ['COORD_PASSWORD', 'password for COORD_USER or --user name'],
  ['COORD_ADMIN_TOKEN', 'bearer token of the admin API (coord dashboard --token)'],
  ['COORD_JWT_SECRET', 'HS256 secret of the gateway (coord gateway --jwt-secret)'],
  ['COORD_DEV_DIR', 'directory of coord dev and the demo commands (--dir), default .coord'],
  ['COORD_DEV_JWT_SECRET', 'HS256 secret of the demo JWT (coord dev --jwt-secret)'],
];

/** How long the CLI waits for a TCP connection to some endpoint before saying it cannot reach etcd. */
const PROBE_MS = 1500;

/**
 * Commands that serve until stopped start while etcd is down and reconnect when it is back (the
 * dashboard then shows the last state it saw), so they are not probed.
 */
const UNPROBED = new Set(['dashboard', 'gateway']);

let connect: typeof Connect | undefined;

/**
 * Loads the client (grpc-js, protobufjs, zod) when a command body runs (action() does), so that
 * `coord --help`, usage errors and `coord store` never load it.
 */
async function loadClient(): Promise<void> {
  connect ??= (await import('../coord.ts')).connect;
}

/** A client for the command's flags; `log` receives the client's notable events (outages, history lost). */
export function connectFrom(flags: ConnectionFlags, log?: (line: string) => void): Coord {
  const timeout = Number(flags.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive integer, got '${flags.timeout}'`);
  if (!connect) throw new Error('connectFrom() outside action()');
  return connect({ endpoints: flags.endpoints, namespace: flags.namespace, requestTimeoutMs: timeout, auth: credentials(flags.user), log });
}

/** Log lines of a long-running command: on stderr, prefixed like its errors. */
export const stderrLog = (line: string): void => void process.stderr.write(`coord: ${line}\n`);

/** `--user name:password` (or `--user name` with COORD_PASSWORD), as etcdctl takes them. */
function credentials(user: string | undefined): { username: string; password: string } | undefined {
  if (user === undefined) return undefined;
  const i = user.indexOf(':');
  const username = i < 0 ? user : user.slice(0, i);
  const password = i < 0 ? process.env.COORD_PASSWORD : user.slice(i + 1);
  if (!username) throw new UsageError('--user needs a user name: --user name:password');
  if (password === undefined) throw new UsageError(`--user ${username}: give the password as --user ${username}:PASSWORD or in COORD_PASSWORD`);
  return { username, password };
}

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}

/**
 * Runs a command body: one clear line on failure (etcd unreachable, bad argument, …) and a
 * non-zero exit; the client is always closed.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    try {
      const flags = connectionFlags(args);
      const command = args[args.length - 1] as Command;
      checkEndpoints(flags);
      // `coord demo …` connects to the running coord dev's store (its state file), not to --endpoints' default.
      const probing = flags && !UNPROBED.has(command.name()) && command.parent?.name() !== 'demo' ? probe(flags) : undefined;
      // Reported through the race below, or moot once the command has finished.
      probing?.catch(() => {});
      await loadClient();
      const run = fn(...args);
      // The command runs meanwhile, so its own usage errors still come first; an unreachable etcd
      // ends it once the probe knows, instead of after the request deadline.
      const code = await (probing ? Promise.race([run, probing.then(() => run)]) : run);
      process.exitCode = code ?? 0;
    } catch (e) {
      console.error(`coord: ${describe(e, args)}`);
      // The command may still be waiting on etcd (until its deadline): nothing of it is worth waiting for.
      if (e instanceof UnreachableError) process.exit(1);
      process.exitCode = e instanceof UsageError || isCoordError(e, 'invalid-argument') ? 2 : 1;
    }
  };
}

function connectionFlags(args: unknown[]): ConnectionFlags | undefined {
  return args.find((a): a is ConnectionFlags => typeof a === 'object' && a !== null && 'endpoints' in a);
}

/** A malformed --endpoints is a usage error before anything is sent. */
function checkEndpoints(flags: ConnectionFlags | undefined): Endpoint[] | undefined {
  if (!flags) return undefined;
  const r = parseEndpoints(flags.endpoints);
  if ('error' in r) throw new UsageError(`--endpoints: ${r.error}`);
  return r.endpoints;
}

/** Fails within PROBE_MS (or --timeout, if shorter) unless some endpoint accepts a connection. */
async function probe(flags: ConnectionFlags): Promise<void> {
  const timeout = Number(flags.timeout);
  await probeEndpoints(checkEndpoints(flags)!, Number.isInteger(timeout) && timeout > 0 ? Math.min(PROBE_MS, timeout) : PROBE_MS);
}

function describe(e: unknown, args: unknown[]): string {
  // The probe's message already names each endpoint and its cause.
  if (e instanceof UnreachableError) return e.message;
  if (isCoordError(e, 'unavailable')) {
    // The client's own message already says what it was doing, where and why.
    if (/cannot reach etcd at /.test(e.message)) return e.message.replace(/^etcd \w+: /, '');
    const flags = connectionFlags(args);
    return `cannot reach etcd at ${flags?.endpoints ?? 'the given endpoints'} (${(e as CoordError).message})`;
  }
  const message = (e as Error)?.message ?? String(e);
  // What etcd says when auth is on and no credentials were sent; say what to do about it.
  if (/etcdserver: user name is empty/.test(message)) return `${message} (etcd has auth on: pass --user name:password)`;
  return message;
}

/** Prints rows as an aligned table with a header line. */
export function printTable(columns: string[], rows: string[][]): void {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) console.log(line(r));
}

/** Resolves on the first SIGINT/SIGTERM (for commands that run until stopped). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

export function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}
